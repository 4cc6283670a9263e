// libFuzzer entry for one target, chosen at build time (RANKLAB_FUZZ_TARGET, or RANKLAB_FUZZ_ENTRY for
// a torch-free target called directly): a finding is a crash, a sanitizer report, or an input that
// escapes with anything but a ranklab::Error.
#include <cstdio>
#include <cstdlib>
#include <string>

#ifdef RANKLAB_FUZZ_ENTRY
#include "fuzz/torch_free_targets.h"
#else
#include "fuzz/targets.h"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef RANKLAB_FUZZ_ENTRY
  const std::string problem = RANKLAB_FUZZ_ENTRY(data, size);
#else
  static const auto target = ranklab::fuzz::findTarget(RANKLAB_FUZZ_TARGET);
  if (!target) {
    std::fprintf(stderr, "unknown fuzz target %s\n", RANKLAB_FUZZ_TARGET);
    std::abort();
  }
  const std::string problem = target(data, size);
#endif
  if (!problem.empty()) {
    std::fprintf(stderr, "finding in %s: %s\n", RANKLAB_FUZZ_TARGET, problem.c_str());
    std::abort();
  }
  return 0;
}
