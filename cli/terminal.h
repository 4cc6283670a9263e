// What ranklab-cli's commands share about the terminal: exit codes, progress on stderr, Ctrl-C, and
// printing one JSON object per line. Internal to the cli library.
#pragma once

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/progress.h"

namespace ranklab::cli {

// Exit codes: 0 success; 2 a usage error, foreseeable bad input or a job that failed; 130 a job
// cancelled by Ctrl-C or SIGTERM (the shell's code for SIGINT). Unexpected failures exit with 1.
constexpr int kUsageError = 2;
constexpr int kJobFailed = 2;
constexpr int kInterrupted = 130;

// Prints `j` as one line on stdout and flushes it (a killed sweep leaves whole lines). Invalid UTF-8
// (generated text can stop inside a multi-byte character) is replaced instead of failing after the
// work is done.
inline void printJson(const nlohmann::json& j) {
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

// 1234567 -> "1,234,567".
inline std::string withThousands(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > (v < 0 ? 1 : 0); i -= 3)
    s.insert(static_cast<size_t>(i), ",");
  return s;
}

// Progress on stderr (a TTY nicety; silent with --json).
class StderrProgress : public ProgressSink {
 public:
  explicit StderrProgress(bool enabled) : m_enabled(enabled) {}
  void progress(const std::string& phase, long long done, long long total) override {
    if (!m_enabled) return;
    if (total > 0)
      std::fprintf(stderr, "\r%-12s %lld/%lld   ", phase.c_str(), done, total);
    else
      std::fprintf(stderr, "\r%-12s ...   ", phase.c_str());
    if (done == total) std::fprintf(stderr, "\n");
  }

 private:
  bool m_enabled;
};

// While alive, Ctrl-C (SIGINT) and SIGTERM cancel `token` instead of killing the process, so a job
// stops cleanly (a training run saves its checkpoint, a compression job stores nothing half-written).
// The first signal restores the default action, so a second one ends the process at once.
class CancelOnInterrupt {
 public:
  explicit CancelOnInterrupt(CancelToken& token) {
    target() = &token;
    m_int = std::signal(SIGINT, &CancelOnInterrupt::handle);
    m_term = std::signal(SIGTERM, &CancelOnInterrupt::handle);
  }
  ~CancelOnInterrupt() {
    std::signal(SIGINT, m_int);
    std::signal(SIGTERM, m_term);
    target() = nullptr;
  }
  CancelOnInterrupt(const CancelOnInterrupt&) = delete;
  CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

 private:
  static CancelToken*& target() {
    static CancelToken* token = nullptr;
    return token;
  }
  static void handle(int signal) {
    std::signal(signal, SIG_DFL);
    if (CancelToken* t = target()) t->cancel();  // a lock-free atomic store
  }
  void (*m_int)(int);
  void (*m_term)(int);
};

}  // namespace ranklab::cli
