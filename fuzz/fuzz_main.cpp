// A libFuzzer program for one target of entry_points.hpp, chosen at compile time by
// BACKPROP_FUZZ_TARGET (fuzz/CMakeLists.txt builds one program per target).
#include <cstddef>
#include <cstdint>

#include "entry_points.hpp"

#define BACKPROP_STRINGIFY2(x) #x
#define BACKPROP_STRINGIFY(x) BACKPROP_STRINGIFY2(x)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const backprop::fuzz::EntryPoint run = backprop::fuzz::find_target(BACKPROP_STRINGIFY(BACKPROP_FUZZ_TARGET));
  run(data, size);
  return 0;
}
