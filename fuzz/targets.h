// In-process fuzz targets, one per reader and parser of files users bring (issue 22). Each takes one
// input as the bytes of a file of its format and returns "" when the input was read, or refused with
// a ranklab::Error (the clear, one-line message every bad input must get); otherwise it returns what
// went wrong instead: another exception type escaped (a message that names no file, or a library's
// text). Crashes, hangs and sanitizer reports are findings too, caught by the harness running it.
//
// Used by the libFuzzer executables (fuzz/fuzz_main.cpp, built by packaging/fuzz.sh with clang,
// AddressSanitizer and UndefinedBehaviorSanitizer) and by the test suite, which replays every
// corpus (fuzz/corpus/TARGET/) through the same functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ranklab::fuzz {

using Target = std::string (*)(const uint8_t* data, size_t size);

struct NamedTarget {
  const char* name;  // the corpus folder: fuzz/corpus/NAME
  Target run;
};

const std::vector<NamedTarget>& targets();
// Null for an unknown name.
Target findTarget(const std::string& name);

}  // namespace ranklab::fuzz
