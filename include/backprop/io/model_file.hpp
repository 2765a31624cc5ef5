// The model file: a network's architecture and parameters in one checked binary file.
// The byte layout is specified in docs/model-format.md: a fixed 32-byte header (magic,
// format version, kind, total length, its own CRC-32), tagged sections (ARCH, PARM, and
// for checkpoints more, see checkpoint.hpp), and a CRC-32 of everything before it.
//
// Writes are atomic (AtomicFile). Reads never trust a byte before checking it and say
// precisely what is wrong, always naming the file:
//   "not a backprop model file", "truncated (N of M bytes)", "format version V is newer
//   than this program reads (1)", "checksum mismatch", "shape mismatch: ...".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backprop/data/dataset.hpp"
#include "backprop/nn/network.hpp"

namespace backprop {

constexpr char kModelMagic[8] = {'B', 'P', 'R', 'O', 'P', 'M', 'D', 'L'};
constexpr std::uint32_t kModelVersion = 2;  // 2 added the DATA section; 1 still reads
constexpr std::size_t kModelHeaderSize = 32;

enum class ModelKind : std::uint32_t { model = 1, checkpoint = 2 };

struct ModelFile {
  ModelKind kind = ModelKind::model;
  NetworkSpec spec;          // sizes, activations, head, and the dropout rates it was trained with
  bool is_double = false;    // parameters stored as float64 (else float32)
  std::vector<Matrix<double>> params;  // w1, b1, w2, ... with the network's shapes
  std::uint32_t version = kModelVersion;  // the file's format version
  // Its data: features, classes, scaling (DATA). A file without a DATA section (version 1)
  // gets legacy_schema: numbered classes and p / 255, what every version 1 model was trained on.
  DataSchema data;
};

// The schema of a model trained before DATA existed: MNIST's (unit scaling, classes "0"..,
// 28 x 28 when it takes 784 inputs).
DataSchema legacy_schema(const NetworkSpec& spec);

// data: the training set's schema (nullptr: legacy_schema of the network). It must fit the
// network (features = inputs, classes = outputs): checked, Error otherwise.
template <typename T>
void save_model(const std::string& path, const Network<T>& network, const DataSchema* data = nullptr);

// Reads a model file, or the model inside a checkpoint.
ModelFile read_model(const std::string& path);

// Copies the file's parameters into network; throws Error("<source>: shape mismatch: ...")
// when the network's architecture differs from the file's.
template <typename T>
void load_params(const ModelFile& model, Network<T>& network, const std::string& source = "model");

// A network for inference built from the file: its architecture without dropout, its
// parameters. The expected input width is spec.sizes.front().
template <typename T>
Network<T> make_inference_network(const ModelFile& model);

}  // namespace backprop
