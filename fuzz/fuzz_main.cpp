// libFuzzer entry for one target, chosen at build time (RANKLAB_FUZZ_TARGET): a finding is a crash,
// a sanitizer report, or an input that escapes with anything but a ranklab::Error.
#include <cstdio>
#include <cstdlib>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto target = ranklab::fuzz::findTarget(RANKLAB_FUZZ_TARGET);
  if (!target) {
    std::fprintf(stderr, "unknown fuzz target %s\n", RANKLAB_FUZZ_TARGET);
    std::abort();
  }
  const std::string problem = target(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "finding in %s: %s\n", RANKLAB_FUZZ_TARGET, problem.c_str());
    std::abort();
  }
  return 0;
}
