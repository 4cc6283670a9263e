// Replays every fuzz corpus (fuzz/corpus/TARGET/*: the seeds and each input a fuzzing run found or
// kept) through the fuzz targets, so a fixed finding stays fixed in the normal test suite.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/targets.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace {

class FuzzCorpus : public ::testing::TestWithParam<ranklab::fuzz::NamedTarget> {};

TEST_P(FuzzCorpus, EveryInputIsReadOrRefusedWithAClearError) {
  const auto target = GetParam();
  const fs::path dir = fs::path(RANKLAB_SOURCE_DIR) / "fuzz" / "corpus" / target.name;
  ASSERT_TRUE(fs::is_directory(dir)) << dir << ": every target has a seed corpus";
  int inputs = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++inputs;
    EXPECT_EQ(target.run(bytes.data(), bytes.size()), "") << entry.path();
  }
  EXPECT_GT(inputs, 0) << dir;
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, ::testing::ValuesIn(ranklab::fuzz::targets()),
                         [](const auto& info) {
                           std::string name = info.param.name;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
