// ranklab_profile: where a small model's time goes, op by op, under LibTorch's profiler.
//
//   ranklab_profile [--time-only] [--workers N] WORKLOAD MODEL [TOKENIZER] TEXT [REPEATS]
//
// WORKLOAD is `eval` (the perplexity of TEXT, as `ranklab-cli eval` computes it) or `train` (plain
// training steps: forward, next-token loss and backward into every weight, on 8 windows of 128
// tokens of TEXT). The workload runs once unprofiled (warm-up), then REPEATS times (default 3) under
// the profiler. The table lists each ATen op's calls and its self time (the time inside the op less
// the ops it called), summed over the repeats, largest first, with its share of the profiled wall
// time; "outside ops" is the wall time no op accounts for (the C++ of RankLab and autograd's engine).
// Under the profiler the same evaluation takes 3-5x as long and page-faults about ten times as often
// (`perf stat`), and the ops that touch the most memory slow down the most: read the table as the op
// mix and the call counts, and quote the unprofiled time. --time-only skips the profiled runs, for
// `perf record`. --workers N splits each training step's batch over N threads
// (lowrank::taskLossBackward; default 1, the one-core picture). Run it with OPENBLAS_NUM_THREADS=1
// for the one-core picture the issue 25 figures use.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "common/allocator.h"
#include "data/corpus.h"
#include "eval/perplexity.h"
#include "lowrank/calibration.h"
#include "lowrank/task_gradients.h"
#include "models/loader.h"

namespace fs = std::filesystem;
using namespace ranklab;
namespace prof = torch::autograd::profiler;

namespace {

struct OpTime {
  int64_t calls = 0;
  double selfUs = 0.0;
};

// Self time per op name from the profiler's push/pop events, thread by thread.
std::map<std::string, OpTime> selfTimes(const prof::thread_event_lists& lists) {
  std::map<std::string, OpTime> out;
  for (const auto& events : lists) {
    struct Open {
      const prof::LegacyEvent* push;
      double childUs;
    };
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kind() == prof::EventKind::PushRange) {
        stack.push_back({&e, 0.0});
      } else if (e.kind() == prof::EventKind::PopRange && !stack.empty()) {
        const Open open = stack.back();
        stack.pop_back();
        const double elapsed = open.push->cpuElapsedUs(e);
        auto& t = out[open.push->name()];
        ++t.calls;
        t.selfUs += elapsed - open.childUs;
        if (!stack.empty()) stack.back().childUs += elapsed;
      }
    }
  }
  return out;
}

int usage() {
  std::cerr
      << "usage: ranklab_profile [--time-only] [--workers N] eval|train MODEL [TOKENIZER] TEXT [REPEATS]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> rest(argv + 1, argv + argc);
  const bool timeOnly = !rest.empty() && rest.front() == "--time-only";
  if (timeOnly) rest.erase(rest.begin());
  int64_t workers = 1;
  if (rest.size() >= 2 && rest.front() == "--workers") {
    workers = std::max(1, std::atoi(rest[1].c_str()));
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.size() < 3) return usage();
  const std::string workload = rest.front();
  rest.erase(rest.begin());
  if (workload != "eval" && workload != "train") return usage();
  int repeats = 3;
  if (rest.size() >= 3 && std::all_of(rest.back().begin(), rest.back().end(), ::isdigit)) {
    repeats = std::max(1, std::stoi(rest.back()));
    rest.pop_back();
  }
  if (rest.size() != 2 && rest.size() != 3) return usage();
  try {
    tuneAllocator();
    const fs::path tokenizer = rest.size() == 3 ? fs::path(rest[1]) : fs::path();
    auto loaded = models::loadModel(rest[0], {"cpu", tokenizer});
    loaded.model->eval();
    const std::string text = data::readTextFile(rest.back());
    auto samples = lowrank::textSamples(*loaded.tokenizer, text, "<|endoftext|>", 8, 129, 0);
    std::vector<const lowrank::CalibrationSample*> batch;
    for (const auto& s : samples) batch.push_back(&s);
    int64_t tokens = 0;
    const lowrank::SplitStepScope splitSteps(workers);  // as the training loops do
    auto run = [&] {
      if (workload == "eval") {
        tokens = eval::perplexity(*loaded.model, *loaded.tokenizer, text).tokens;
      } else {
        for (auto& p : loaded.model->parameters()) p.mutable_grad() = at::Tensor();
        lowrank::taskLossBackward(*loaded.model, batch, loaded.model->parameters(), 0, workers);
        tokens = 8 * 128;
      }
    };
    run();  // warm-up: first-call initialisation and the allocator's pools
    const auto w0 = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) run();
    const double plainMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - w0).count() / repeats;
    if (timeOnly) {
      std::printf("%s, %d repeat(s): %.1f ms each, %lld tokens each\n", workload.c_str(), repeats, plainMs,
                  static_cast<long long>(tokens));
      return 0;
    }
    prof::thread_event_lists lists;
    double wallUs = 0.0;
    {
      prof::TLSLegacyProfilerGuard guard(
          torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU),
          [&](const prof::thread_event_lists& l) { lists = l; });
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < repeats; ++i) run();
      wallUs = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    }
    const auto times = selfTimes(lists);
    std::vector<std::pair<std::string, OpTime>> rows(times.begin(), times.end());
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second.selfUs > b.second.selfUs; });
    double opsUs = 0.0;
    int64_t calls = 0;
    for (const auto& [name, t] : rows) {
      opsUs += t.selfUs;
      calls += t.calls;
    }
    std::printf(
        "%s, %d repeat(s): %.1f ms each unprofiled, %.1f ms each profiled; %lld tokens, "
        "%lld op calls each\n",
        workload.c_str(), repeats, plainMs, wallUs / 1e3 / repeats, static_cast<long long>(tokens),
        static_cast<long long>(calls / repeats));
    std::printf("%-44s %10s %12s %7s\n", "op", "calls", "self ms", "wall %");
    for (const auto& [name, t] : rows) {
      if (t.selfUs < 0.002 * wallUs) break;
      std::printf("%-44s %10lld %12.2f %6.1f%%\n", name.c_str(), static_cast<long long>(t.calls / repeats),
                  t.selfUs / 1e3 / repeats, 100.0 * t.selfUs / wallUs);
    }
    std::printf("%-44s %10s %12.2f %6.1f%%\n", "(outside ops)", "", (wallUs - opsUs) / 1e3 / repeats,
                100.0 * (wallUs - opsUs) / wallUs);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ranklab_profile: " << e.what() << "\n";
    return 1;
  }
}
