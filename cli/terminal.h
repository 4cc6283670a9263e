// What ranklab-cli's commands share about the terminal: exit codes, progress on stderr, Ctrl-C, and
// printing one JSON object per line. Internal to the cli library.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// An error message as it may reach a terminal: names read from files (a damaged tensor name, a
// metadata key) can hold control bytes, which are shown as \xNN instead of being sent to the
// terminal. UTF-8 text is kept.
inline std::string printable(const std::string& message) {
  std::string out;
  for (const char c : message) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", b);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

// 1234567 -> "1,234,567".
inline std::string withThousands(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > (v < 0 ? 1 : 0); i -= 3)
    s.insert(static_cast<size_t>(i), ",");
  return s;
}

// The process's peak resident set so far, in MiB (getrusage: never decreases).
inline double peakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// Progress on stderr (a TTY nicety; silent with --json). It also times the phases as they come
// (load, perplexity, calibrate, decompose, ...), for the JSON report and bench/scale.sh.
class StderrProgress : public ProgressSink {
 public:
  explicit StderrProgress(bool enabled) : m_enabled(enabled), m_last(std::chrono::steady_clock::now()) {}
  void progress(const std::string& phase, long long done, long long total) override {
    const auto now = std::chrono::steady_clock::now();
    if (m_phases.empty() || m_phases.back().name != phase) m_phases.push_back({phase, 0.0, 0.0});
    m_phases.back().seconds += std::chrono::duration<double>(now - m_last).count();
    m_phases.back().peakRssMiB = peakRssMiB();
    m_last = now;
    if (!m_enabled) return;
    if (total > 0)
      std::fprintf(stderr, "\r%-12s %lld/%lld   ", phase.c_str(), done, total);
    else
      std::fprintf(stderr, "\r%-12s ...   ", phase.c_str());
    if (done == total) std::fprintf(stderr, "\n");
  }

  // [{"phase", "seconds", "peak_rss_mib"}] in the order the phases ran (a phase that comes back, such
  // as perplexity after compression, gets a second entry). A phase's time runs from the report before
  // its first one to its last; the peak is the process's peak when the phase ended.
  nlohmann::json phasesJson() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : m_phases)
      out.push_back({{"phase", p.name}, {"seconds", p.seconds}, {"peak_rss_mib", p.peakRssMiB}});
    return out;
  }

 private:
  struct Phase {
    std::string name;
    double seconds;
    double peakRssMiB;
  };
  bool m_enabled;
  std::chrono::steady_clock::time_point m_last;
  std::vector<Phase> m_phases;
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
