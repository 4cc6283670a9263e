// Small helpers shared by ranklab-cli's command files (internal to the cli module).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/progress.h"

namespace ranklab::cli::detail {

// Progress on stderr (a TTY nicety; silent with --json).
class StderrProgress : public ProgressSink {
 public:
  explicit StderrProgress(bool enabled) : m_enabled(enabled) {}
  void progress(const std::string& phase, long long done, long long total) override {
    if (!m_enabled) return;
    if (total > 0) std::fprintf(stderr, "\r%-12s %lld/%lld   ", phase.c_str(), done, total);
    else std::fprintf(stderr, "\r%-12s ...   ", phase.c_str());
    if (done == total) std::fprintf(stderr, "\n");
  }

 private:
  bool m_enabled;
};

// 1234567 -> "1,234,567".
inline std::string withThousands(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > (v < 0 ? 1 : 0); i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

}  // namespace ranklab::cli::detail
