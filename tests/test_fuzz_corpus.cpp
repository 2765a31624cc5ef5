// The fuzzers' regression suite: every file under fuzz/corpus/<target>/ (the seeds, and each
// input that once crashed a fuzzer, named crash-*) goes through the same entry point the
// libFuzzer program calls (fuzz/entry_points.hpp), built here with the normal compiler. An
// input that makes an entry point throw anything but backprop::Error fails the test; under
// BACKPROP_SANITIZE a memory error or undefined behaviour stops the test program.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../fuzz/entry_points.hpp"

namespace fs = std::filesystem;

namespace backprop::fuzz {
void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }  // found by ADL
}  // namespace backprop::fuzz

namespace {

class FuzzCorpus : public ::testing::TestWithParam<backprop::fuzz::Target> {};

TEST_P(FuzzCorpus, EveryInputIsAnsweredWithoutCrashing) {
  const backprop::fuzz::Target& target = GetParam();
  const fs::path dir = fs::path(BACKPROP_FUZZ_CORPUS) / target.name;
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  EXPECT_GE(files.size(), 2u) << "the seed corpus of " << target.name << " is missing";
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      target.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << file << ": " << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, ::testing::ValuesIn(backprop::fuzz::targets()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
