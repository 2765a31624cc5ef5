// One set of limits for what writes networks and what reads them (issue 18): `import` once
// wrote a 3,001-layer model file that every reader refused ("bad layer count 3001").
#include <gtest/gtest.h>

#include "backprop/io/model_file.hpp"
#include "backprop/io/npz_params.hpp"
#include "backprop/nn/limits.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace backprop {
namespace {

using testing::error_of;

Npz chain_of(int layers) {
  Npz arrays;
  for (int l = 1; l <= layers; ++l) {
    NpyArray w, b;
    w.shape = {2, 2};
    w.values.assign(4, 0.5);
    b.shape = {1, 2};
    b.values.assign(2, 0.0);
    arrays["w" + std::to_string(l)] = w;
    arrays["b" + std::to_string(l)] = b;
  }
  return arrays;
}

TEST(Limits, NpzWithMoreLayersThanAModelFileHoldsIsRefused) {
  EXPECT_EQ(layer_sizes_from_npz(chain_of(kMaxLayers - 1), "ok.npz").size(), std::size_t(kMaxLayers));
  EXPECT_CONTAINS(error_of([] { layer_sizes_from_npz(chain_of(3000), "deep.npz"); }),
                  "deep.npz: more than 1023 layers");
}

TEST(Limits, NetworkSpecAndModelFileAgreeAtTheLimit) {
  NetworkSpec spec;
  spec.sizes.assign(kMaxLayers + 1, 2);
  spec.activations = {Activation::relu};
  EXPECT_CONTAINS(error_of([&] { spec.validate(2, 2); }), "at most 1024 sizes");
  spec.sizes.assign(3, 2);
  spec.sizes[1] = kMaxWidth + 1;
  EXPECT_CONTAINS(error_of([&] { spec.validate(2, 2); }), "at most 16777216");
  // The largest depth a spec allows is written and read back.
  spec.sizes.assign(kMaxLayers, 2);
  spec.activations = {Activation::relu};
  spec.validate(2, 2);
  std::mt19937_64 rng(1);
  Network<float> network(spec, &rng);
  testing::TempDir dir{"limits"};
  const std::string path = (dir.path / "deep.bpm").string();
  save_model(path, network);
  EXPECT_EQ(read_model(path).spec.sizes.size(), std::size_t(kMaxLayers));
}

}  // namespace
}  // namespace backprop
