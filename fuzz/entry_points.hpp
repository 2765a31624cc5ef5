// One function per fuzz target: feeds one input to an input path of the library, swallowing
// the backprop::Error that a bad input must produce. Anything else (another exception, a
// crash, a sanitizer report, a 500 from the API) escapes, and that is the bug a fuzzer finds.
//
// The same functions serve two callers: the libFuzzer programs (fuzz_main.cpp, built by
// fuzz/run.sh with clang) and the regression test tests/test_fuzz_corpus.cpp, which replays
// every file under fuzz/corpus/<target>/ with the normal compiler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace backprop::fuzz {

using EntryPoint = void (*)(const std::uint8_t* data, std::size_t size);

struct Target {
  const char* name;  // the folder under fuzz/corpus/ and the program fuzz_<name>
  EntryPoint run;
};

// idx        read_idx_images and read_idx_labels on the bytes as a file (plain or gzip)
// idx_gz     first byte even: the rest gzip-compressed first (so the inflate path sees
//            valid streams whose contents lie); odd: the rest as it is
// model      read_model, read_checkpoint, then a forward pass of a model that loads
// npz        read_npz, layer_sizes_from_npz and npz_to_params, as `backprop import` does
// png        decode_png and to_mnist_input, as `backprop predict` and POST image/png do
// csv        parse_csv_inputs; the first byte picks the width (784, 4 or 1) and the range
// predict    PredictApi::predict (POST /api/predict); the first byte picks the Content-Type
// csv_data   read_csv, the dataset reader; the first byte picks the options (regression,
//            --label, label optional, given classes: entry_points.cpp), the rest is the file
// npz_data   read_npz_dataset, the same options byte, then the .npz
// run_config a checkpoint's run configuration (JSON) as `train --resume` parses and validates
//            it; an accepted one must read back from what options_to_json writes
// (idx and idx_gz also read with 784 pixels expected, npz also with a 4-3-2 network's shapes
// expected: the header-size checks of issue 18.)
const std::vector<Target>& targets();

// The target of that name; throws std::invalid_argument for an unknown one.
EntryPoint find_target(const std::string& name);

}  // namespace backprop::fuzz
