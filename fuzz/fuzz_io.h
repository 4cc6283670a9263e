// What every fuzz target shares, torch-free (the SentencePiece target runs in a process without
// LibTorch): a scratch folder for the inputs, written as files the readers open, and the rule that
// decides whether an input passed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace ranklab::fuzz {

// A folder of this process's own.
const std::filesystem::path& scratch();
// Writes the input to scratch()/name, the file name its format expects.
std::filesystem::path writeInput(const std::string& name, const uint8_t* data, size_t size);
// The first line of an escaped exception's text (LibTorch's carry a backtrace after it).
std::string firstLine(const std::string& text);

// Runs `read`; "" when it returned or threw ranklab::Error, else what escaped.
template <class F>
std::string guarded(F&& read) {
  try {
    read();
    return "";
  } catch (const Error& e) {
    // RANKLAB_FUZZ_VERBOSE=1 shows the refusals (a seed should be read, not refused).
    if (std::getenv("RANKLAB_FUZZ_VERBOSE")) std::fprintf(stderr, "refused: %s\n", e.what());
    return "";
  } catch (const nlohmann::json::exception& e) {
    return std::string("JSON library error escaped: ") + e.what();
  } catch (const std::exception& e) {
    return "exception escaped: " + firstLine(e.what());
  }
}

}  // namespace ranklab::fuzz
