// Progress reporting and cancellation for long core calls. Torch-free.
// Thread-safety: CancelToken may be set from any thread (the GUI thread) while a worker polls it.
#pragma once

#include <atomic>
#include <string>

#include "common/error.h"

namespace ranklab {

class CancelToken {
 public:
  void cancel() { m_cancelled.store(true, std::memory_order_relaxed); }
  bool isCancelled() const { return m_cancelled.load(std::memory_order_relaxed); }
  // Throws ranklab::Cancelled when cancel() was called.
  void check() const {
    if (isCancelled()) throw Cancelled();
  }

 private:
  std::atomic<bool> m_cancelled{false};
};

// Receives progress from a running call. `done` and `total` count work units of `phase`
// (total 0 = unknown). Implementations must be cheap; callers may report often.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void progress(const std::string& phase, long long done, long long total) = 0;
};

// A sink that ignores everything.
class NullProgress : public ProgressSink {
 public:
  void progress(const std::string&, long long, long long) override {}
};

}  // namespace ranklab
