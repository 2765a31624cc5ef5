// The container shared by model files and checkpoints (private to src/): the 32-byte
// header, tagged sections, the trailing CRC-32, and the ARCH and PARM sections every model
// has. Layout in docs/model-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backprop/io/model_file.hpp"
#include "io/binary_io.hpp"

namespace backprop::detail {

struct Section {
  std::string tag;              // four ASCII letters
  std::size_t begin = 0, end = 0;  // the payload's byte range in Container::bytes
};

struct Container {
  std::string path;
  std::string bytes;  // the whole file
  ModelKind kind = ModelKind::model;
  std::uint32_t version = kModelVersion;
  std::vector<Section> sections;

  // The section with this tag; throws "<path>: malformed: no <tag> section" when required.
  const Section* find(const char* tag, bool required) const;
  ByteReader reader(const Section& section) const {
    return ByteReader(bytes, section.begin, section.end, path + ": section " + section.tag);
  }
};

// Header, the sections in the order given, CRC; written through AtomicFile.
void write_container(const std::string& path, ModelKind kind,
                     const std::vector<std::pair<std::string, std::string>>& sections);

// Reads and checks the header, the lengths and both checksums, and splits the sections.
// Refuses unknown tags and repeated ones.
Container read_container(const std::string& path);

// ARCH, PARM and DATA payloads for a network, and the model they describe. data_payload
// checks the schema against the spec.
template <typename T>
std::string arch_payload(const NetworkSpec& spec);
std::string data_payload(const DataSchema& data, const NetworkSpec& spec);
template <typename T>
std::string params_payload(const std::vector<Param<T>>& params);
ModelFile parse_model(const Container& container);

// A list of matrices as PARM stores them: u32 count, then per matrix u32 rows, u32 cols and
// the values (dtype 4 or 8) in column-major order. Used for parameters and optimizer buffers.
template <typename V, typename M>
void put_matrices(ByteWriter& out, const std::vector<M>& matrices) {
  out.u32(static_cast<std::uint32_t>(matrices.size()));
  for (const auto& m : matrices) {
    out.u32(static_cast<std::uint32_t>(m.rows()));
    out.u32(static_cast<std::uint32_t>(m.cols()));
    out.values<V>(m.data(), static_cast<std::size_t>(m.size()));
  }
}
std::vector<Matrix<double>> get_matrices(ByteReader& in, std::uint32_t dtype, const char* what);

}  // namespace backprop::detail
