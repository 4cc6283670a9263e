// What ranklab-cli's commands share about the terminal: exit codes, progress on stderr, Ctrl-C, and
// printing one JSON object per line. Internal to the cli library.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
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

// 75.4 -> "1:15", 3725 -> "1:02:05".
inline std::string clockText(double seconds) {
  const auto total = static_cast<long long>(seconds < 0.0 ? 0.0 : seconds + 0.5);
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", total / 60, total % 60);
  return text;
}

// One progress report: "ars  79/1000  7.9%  12.3/s  elapsed 0:06  ETA 1:15". The rate (for phases
// of 10 or more steps) and the ETA come from the phase's own elapsed time; `deadline` (seconds of the
// phase left before a time budget ends it; NaN: no budget) replaces the ETA when it is nearer.
// What a phase counts ("" when it varies): "perplexity (before)" counts windows, "ars" steps.
inline std::string progressUnit(const std::string& phase) {
  const std::string base = phase.substr(0, phase.find(" ("));
  if (base == "ars" || base == "finetune" || base == "pretrain") return "steps";
  if (base == "perplexity") return "windows";
  if (base == "accuracy") return "examples";
  if (base == "multiple choice") return "items";
  if (base == "decompose") return "ops";
  if (base == "sensitivity") return "truncations";
  return "";
}

// `detail`: the training phase's latest figures ("loss 3.214  budget 0.620"), appended.
inline std::string progressText(const std::string& phase, long long done, long long total, double elapsed,
                                double deadline = std::nan(""), const std::string& detail = "") {
  char text[200];
  const std::string unit = progressUnit(phase);
  if (total <= 0) {
    std::snprintf(text, sizeof text, "%-12s ...  elapsed %s", phase.c_str(), clockText(elapsed).c_str());
    return text + (detail.empty() ? std::string() : "  " + detail);
  }
  std::snprintf(text, sizeof text, "%-12s %lld/%lld%s%s  %.1f%%", phase.c_str(), done, total,
                unit.empty() ? "" : " ", unit.c_str(),
                100.0 * static_cast<double>(done) / static_cast<double>(total));
  std::string out = text;
  if (total >= 10 && done > 0 && elapsed > 0.0) {
    const double rate = static_cast<double>(done) / elapsed;
    if (rate >= 1.0)
      std::snprintf(text, sizeof text, "  %.1f/s", rate);
    else
      std::snprintf(text, sizeof text, "  %.1f s each", 1.0 / rate);
    out += text;
  }
  out += "  elapsed " + clockText(elapsed);
  const std::string tail = detail.empty() ? std::string() : "  " + detail;
  if (done >= total) return out + tail;
  if (!std::isnan(deadline) && deadline <= 0.0) return out + "  time budget reached" + tail;
  if (done > 0 && elapsed > 0.0) {
    const double eta = static_cast<double>(total - done) * elapsed / static_cast<double>(done);
    if (!std::isnan(deadline) && deadline < eta)
      out += "  time budget ends in " + clockText(deadline);
    else
      out += "  ETA " + clockText(eta);
  }
  return out + tail;
}

// Progress on stderr (silent with --json). On a terminal one line is redrawn in place, at most ten
// times a second; elsewhere (a log file, a Slurm output) a plain line is written every `every`
// seconds and when a phase ends. It also times the phases as they come (load, perplexity, calibrate,
// decompose, ...), for the JSON report and bench/scale.sh.
class StderrProgress : public ProgressSink {
 public:
  explicit StderrProgress(bool enabled, double every = 10.0)
      : m_enabled(enabled),
        m_tty(::isatty(::fileno(stderr)) == 1),
        m_every(every),
        m_last(std::chrono::steady_clock::now()) {}

  // A time budget for `phase` (ARS): the progress line says when it ends the phase.
  void setTimeBudget(const std::string& phase, double seconds) {
    m_budgetPhase = phase;
    m_budgetSeconds = seconds;
  }
  // The training figures shown after the current phase's counts, until the phase changes.
  void setDetail(const std::string& detail) { m_detail = detail; }

  void progress(const std::string& phase, long long done, long long total) override {
    const auto now = std::chrono::steady_clock::now();
    if (m_phases.empty() || m_phases.back().name != phase) {
      closeLine();  // a phase that ended early (ARS stopping before its step limit) keeps its line
      m_phases.push_back({phase, 0.0, 0.0});
      m_phaseStart = m_last;
      m_printed = {};
      m_detail.clear();
    }
    m_phases.back().seconds += std::chrono::duration<double>(now - m_last).count();
    m_phases.back().peakRssMiB = peakRssMiB();
    m_last = now;
    if (!m_enabled) return;
    const bool ended = total > 0 && done >= total;
    const double elapsed = std::chrono::duration<double>(now - m_phaseStart).count();
    const double deadline =
        phase == m_budgetPhase && m_budgetSeconds > 0.0 ? m_budgetSeconds - elapsed : std::nan("");
    m_pending = progressText(phase, done, total, elapsed, deadline, m_detail);
    const double sincePrinted = std::chrono::duration<double>(now - m_printed).count();
    if (!ended && m_printed != std::chrono::steady_clock::time_point{} &&
        sincePrinted < (m_tty ? 0.1 : m_every))
      return;
    m_printed = now;
    show(ended);
  }
  // Writes the last phase's latest state (call before printing a report on stdout).
  void finish() { closeLine(); }
  ~StderrProgress() override { closeLine(); }
  StderrProgress(const StderrProgress&) = delete;
  StderrProgress& operator=(const StderrProgress&) = delete;

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
  // Writes the latest report: redrawn in place on a terminal (`last`: and the line closed), as a
  // line of its own elsewhere.
  void show(bool last) {
    if (m_pending.empty()) return;
    if (m_tty) {
      std::fprintf(stderr, "\r%s\033[K%s", m_pending.c_str(), last ? "\n" : "");
      m_lineOpen = !last;
    } else {
      std::fprintf(stderr, "%s\n", m_pending.c_str());
    }
    m_pending.clear();
  }
  // Ends the current phase's output with its latest state (a phase that ended before its total, as
  // ARS stopping early, would otherwise stay at an older count or, off a terminal, unreported).
  void closeLine() {
    if (!m_enabled) return;
    if (!m_pending.empty())
      show(true);
    else if (m_lineOpen)
      std::fprintf(stderr, "\n");
    m_lineOpen = false;
  }

  bool m_enabled;
  bool m_tty;
  bool m_lineOpen = false;
  double m_every;
  std::chrono::steady_clock::time_point m_last, m_phaseStart, m_printed;
  std::string m_pending;  // the latest report not yet written
  std::string m_budgetPhase;
  double m_budgetSeconds = 0.0;
  std::string m_detail;
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
