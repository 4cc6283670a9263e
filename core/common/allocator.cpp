#include "common/allocator.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>  // brings in <features.h>, which defines __GLIBC__ on glibc systems
#include <mutex>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ranklab {

namespace {
std::atomic<bool> g_tuned{false};
constexpr int64_t kMaxPad = int64_t{256} << 20, kMinPad = int64_t{16} << 20;
}  // namespace

void tuneAllocator() {
#if defined(__GLIBC__)
  mallopt(M_TOP_PAD, static_cast<int>(kMaxPad));
  g_tuned = true;
#endif
}

void fitAllocatorToModel(int64_t weightBytes) {
#if defined(__GLIBC__)
  if (!g_tuned) return;
  const double share =
      std::clamp(static_cast<double>(weightBytes) / static_cast<double>(int64_t{512} << 20), 0.0, 1.0);
  const auto pad =
      static_cast<int64_t>(static_cast<double>(kMaxPad) - share * static_cast<double>(kMaxPad - kMinPad));
  mallopt(M_TOP_PAD, static_cast<int>(pad));
#else
  (void)weightBytes;
#endif
}

void releaseFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

namespace {
std::mutex g_keepMutex;
int g_keepDepth = 0;
constexpr int kKeptBlock = 32 << 20, kDefaultThreshold = 128 << 10;
}  // namespace

KeepFreedBlocks::KeepFreedBlocks() {
#if defined(__GLIBC__)
  std::lock_guard<std::mutex> lock(g_keepMutex);
  if (g_keepDepth++ == 0) {
    mallopt(M_MMAP_THRESHOLD, kKeptBlock);
    mallopt(M_TRIM_THRESHOLD, static_cast<int>(kMaxPad));
  }
#endif
}

KeepFreedBlocks::~KeepFreedBlocks() {
#if defined(__GLIBC__)
  std::lock_guard<std::mutex> lock(g_keepMutex);
  if (--g_keepDepth == 0) {
    // No malloc_trim here: with the main arena's top trimmed away and the 128 KB threshold back,
    // every larger block would be mapped on its own from then on (a later one-thread step of
    // gpt-mini took 2.4x as long). A job's stages hand freed memory back (releaseFreedMemory).
    mallopt(M_MMAP_THRESHOLD, kDefaultThreshold);
    mallopt(M_TRIM_THRESHOLD, kDefaultThreshold);
  }
#endif
}

}  // namespace ranklab
