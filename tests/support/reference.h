// Where tests find the reference stories260K model (../shared/reference, CI has it), and a sweep grid
// over it; tests skip with a message when it is absent.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "test_paths.h"

namespace ranklab::test {

inline std::filesystem::path referenceDir() {
  return std::filesystem::path(RANKLAB_REFERENCE_DIR) / "stories260K";
}
inline std::string referenceText() { return (referenceDir() / "TinyStories-valid.first69.txt").string(); }
// The model, its tokenizer and the 69 validation stories are all there.
inline bool haveReference() {
  namespace fs = std::filesystem;
  return fs::exists(referenceDir() / "stories260K.bin") && fs::exists(referenceDir() / "tok512.bin") &&
         fs::exists(referenceText());
}

// A job spec on stories260K for sweeps: 12 documents scored, 8 calibration windows of 128 tokens,
// the decomposition cache in `cacheDir`. Add the axes.
inline nlohmann::json referenceSweepBase(const std::filesystem::path& cacheDir) {
  return {{"model", (referenceDir() / "stories260K.bin").string()},
          {"tokenizer", (referenceDir() / "tok512.bin").string()},
          {"eval", referenceText()},
          {"max_eval_documents", 12},
          {"calib", referenceText()},
          {"calib_samples", 8},
          {"calib_length", 128},
          {"cache_dir", cacheDir.string()}};
}

}  // namespace ranklab::test
