// The two methods' training steps against plain training of the same model on the same batches.
//
// ARS (issue 5's goal: <= 1.3x): one ARS training step vs a plain forward + backward. The ARS side is
// trainArs for kSteps steps (hypernetwork forward, Gumbel noise, the masked full-rank factorized forward,
// task loss + hinge + alignment, backward to the hypernetwork, Adam, the read-off at the end), divided by
// kSteps; the baseline is kSteps plain steps (forward, task loss, backward into every weight of the dense
// model) on the same samples. Both run in each iteration; the counter x_plain is the paired ratio per
// iteration (below 1: ARS is cheaper). The second argument is the workers both sides split a step's
// batch over (lowrank::taskLossBackward; 0: one per hardware thread, 1: one thread). Models: the shipped
// gpt-mini (8 x 128 tokens per step) and the reference stories260K (8 x 128); with RANKLAB_BENCH_MODEL=DIR
// also that model (e.g. `ranklab-cli synth
// --preset gpt2`) with RANKLAB_BENCH_BATCH windows of 128 tokens per step (default 2), one iteration (issue
// 23: the per-step ratio at GPT-2's shape). BM_ArsLogToStore: what one logged ARS step costs the job in the
// run store, for a 100-op model with 768 singular values per op (GPT-2 small's width): six series points and
// one mask frame (ranks and packed bits, 9.6 kB), each in its own transaction, into a file database, 500
// frames as a 5000-step run logging every 10 steps writes.
#include <benchmark/benchmark.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ars/ars.h"
#include "bench_paths.h"
#include "common/resources.h"
#include "data/corpus.h"
#include "lowrank/calibration.h"
#include "lowrank/decompose.h"
#include "lowrank/task_gradients.h"
#include "models/loader.h"
#include "rankdyna/rankdyna.h"
#include "store/run_store.h"
#include "train/finetune.h"

namespace fs = std::filesystem;
using namespace ranklab;

namespace {

constexpr int64_t kSteps = 10;

// RANKLAB_BENCH_DEVICE=cuda runs both sides of each pair on the GPU (default: cpu).
std::string benchDevice() {
  const char* d = std::getenv("RANKLAB_BENCH_DEVICE");
  return d && *d ? d : "cpu";
}

// Waits for queued GPU work so that wall-clock timestamps cover it.
void sync() {
  if (benchDevice().rfind("cuda", 0) == 0) torch::cuda::synchronize();
}
constexpr int64_t kBatch = 8;
constexpr int64_t kLength = 129;  // 128 predicted tokens per window

struct Setup {
  models::LoadedModel loaded;
  std::vector<lowrank::OpDecomposition> decs;
  std::vector<lowrank::CalibrationSample> samples;
};

Setup* setupFor(int which) {
  static std::map<int, std::unique_ptr<Setup>> cache;
  auto& s = cache[which];
  if (s) return s.get();
  s = std::make_unique<Setup>();
  std::string text;
  if (which == 2) {
    const char* dir = std::getenv("RANKLAB_BENCH_MODEL");
    if (!dir || !*dir) return nullptr;
    s->loaded = models::loadModel(dir, {benchDevice(), {}});
    text = data::readTextFile(resourcesDir() / "data" / "lm" / "valid.txt");
    const char* b = std::getenv("RANKLAB_BENCH_BATCH");
    const int64_t batch = b && *b ? std::max(1, std::atoi(b)) : 2;
    s->loaded.model->eval();
    s->samples = lowrank::textSamples(*s->loaded.tokenizer, text, "<|endoftext|>", batch, kLength, 0);
    s->decs = lowrank::decomposeModel(*s->loaded.model, lowrank::Method::Svd, nullptr);
    return s.get();
  }
  if (which == 0) {
    s->loaded = models::loadModel(shippedModel("gpt-mini"), {benchDevice(), {}});
    text = data::readTextFile(resourcesDir() / "data" / "lm" / "valid.txt");
  } else {
    const fs::path ref = fs::path(RANKLAB_BENCH_REFERENCE_DIR) / "stories260K";
    if (!fs::exists(ref / "stories260K.bin")) return nullptr;
    s->loaded = models::loadModel(ref / "stories260K.bin", {benchDevice(), ref / "tok512.bin"});
    text = data::readTextFile(ref / "TinyStories-valid.first69.txt");
  }
  s->loaded.model->eval();
  s->samples = lowrank::textSamples(*s->loaded.tokenizer, text, "<|endoftext|>", kBatch, kLength, 0);
  s->decs = lowrank::decomposeModel(*s->loaded.model, lowrank::Method::Svd, nullptr);
  return s.get();
}

// The ARS benchmarks' set-up (range(0): 0 gpt-mini, 1 stories260K, 2 RANKLAB_BENCH_MODEL), or null
// after marking the benchmark skipped.
Setup* arsSetup(benchmark::State& state) {
  Setup* s = setupFor(static_cast<int>(state.range(0)));
  if (!s)
    state.SkipWithError(state.range(0) == 2 ? "set RANKLAB_BENCH_MODEL to a model directory"
                                            : "reference model not found");
  return s;
}

// kSteps ARS steps, each on all of the set-up's samples (the same batch as a plain step's).
ars::ArsOptions arsBenchOptions(const Setup& s) {
  ars::ArsOptions o;
  o.keep = 0.5;
  o.steps = kSteps;
  o.batchSize = static_cast<int64_t>(s.samples.size());
  o.earlyStop = false;
  o.logEvery = 1000;
  return o;
}

void BM_ArsStepVsPlainStep(benchmark::State& state) {
  Setup* s = arsSetup(state);
  if (!s) return;
  auto& model = *s->loaded.model;
  std::vector<const lowrank::CalibrationSample*> batch;
  for (const auto& x : s->samples) batch.push_back(&x);
  auto o = arsBenchOptions(*s);
  o.workers = state.range(1);
  const int64_t workers = lowrank::stepWorkers(model, batch.size(), o.workers);
  const auto params = model.parameters();
  const lowrank::SplitStepScope splitSteps(workers);  // as trainArs does, for both sides
  double ratioSum = 0.0, plainSum = 0.0;
  int64_t n = 0;
  for (auto _ : state) {
    sync();
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < kSteps; ++i) {
      for (auto& p : model.parameters()) p.mutable_grad() = at::Tensor();
      lowrank::taskLossBackward(model, batch, params, 0, workers);
    }
    sync();
    const auto t1 = std::chrono::steady_clock::now();
    ars::trainArs(model, s->decs, s->samples, o);
    sync();
    const auto t2 = std::chrono::steady_clock::now();
    const double plain = std::chrono::duration<double>(t1 - t0).count();
    const double arsTime = std::chrono::duration<double>(t2 - t1).count();
    state.SetIterationTime(arsTime / kSteps);
    plainSum += plain / kSteps;
    ratioSum += arsTime / plain;
    ++n;
  }
  for (auto& p : model.parameters()) p.mutable_grad() = at::Tensor();
  state.counters["x_plain"] = ratioSum / static_cast<double>(n);
  state.counters["plain_ms"] = 1e3 * plainSum / static_cast<double>(n);
  state.counters["ops"] = static_cast<double>(model.ops().size());
  state.counters["workers"] = static_cast<double>(workers);
}
// Args: the model, then the workers both sides split each step's batch over (0: one per hardware
// thread, 1: the calling thread alone).
BENCHMARK(BM_ArsStepVsPlainStep)
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
void BM_ArsStepVsPlainStepOnModel(benchmark::State& state) { BM_ArsStepVsPlainStep(state); }
BENCHMARK(BM_ArsStepVsPlainStepOnModel)
    ->Args({2, 0})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Activation checkpointing's price: kSteps ARS steps with every decoder layer (and the LM head)
// recomputed in the backward pass against kSteps steps keeping every activation, the same batches,
// in the same iteration. Counter x_kept: the paired ratio. Arg 2 reads RANKLAB_BENCH_MODEL.
void BM_ArsStepRecomputedVsKept(benchmark::State& state) {
  Setup* s = arsSetup(state);
  if (!s) return;
  auto& model = *s->loaded.model;
  auto o = arsBenchOptions(*s);
  o.workers = 1;  // recomputation runs on one worker; so does the side it is compared with
  double ratioSum = 0.0, keptSum = 0.0;
  int64_t n = 0;
  for (auto _ : state) {
    sync();
    const auto t0 = std::chrono::steady_clock::now();
    ars::trainArs(model, s->decs, s->samples, o);
    sync();
    const auto t1 = std::chrono::steady_clock::now();
    model.setActivationCheckpointing(true);
    ars::trainArs(model, s->decs, s->samples, o);
    model.setActivationCheckpointing(false);
    sync();
    const auto t2 = std::chrono::steady_clock::now();
    const double kept = std::chrono::duration<double>(t1 - t0).count();
    const double recomputed = std::chrono::duration<double>(t2 - t1).count();
    state.SetIterationTime(recomputed / kSteps);
    keptSum += kept / kSteps;
    ratioSum += recomputed / kept;
    ++n;
  }
  state.counters["x_kept"] = ratioSum / static_cast<double>(n);
  state.counters["kept_ms"] = 1e3 * keptSum / static_cast<double>(n);
}
BENCHMARK(BM_ArsStepRecomputedVsKept)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
void BM_ArsStepRecomputedVsKeptOnModel(benchmark::State& state) { BM_ArsStepRecomputedVsKept(state); }
BENCHMARK(BM_ArsStepRecomputedVsKeptOnModel)
    ->Arg(2)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// RankDyna: a fine-tuning run of kSteps steps with RankDyna (SVD re-parametrised ops at full rank,
// scores every step, a reallocation every 2 steps, the orthogonality term, the conversion to low-rank
// ops at the end) vs kSteps steps of plain fine-tuning of the dense model (same AdamW, batches, rate).
// Each iteration loads a fresh model for each side (untimed). Counter x_plain: the paired ratio.
void BM_RankDynaStepVsPlainFinetuneStep(benchmark::State& state) {
  Setup* s = setupFor(static_cast<int>(state.range(0)));
  if (!s) {
    state.SkipWithError("reference model not found");
    return;
  }
  auto fresh = [&] {
    auto m = models::loadModel(s->loaded.source, {benchDevice(), s->loaded.tokenizerSource}).model;
    m->eval();
    return m;
  };
  train::FinetuneOptions fo;
  fo.steps = kSteps;
  fo.batchSize = kBatch;
  fo.logEvery = 1000;
  fo.workers = 1;  // RankDyna's steps run on one thread: so does the plain side, for the method's own cost
  rankdyna::RankDynaOptions ro;
  ro.keep = 0.5;
  ro.warmupSteps = 1;
  ro.finalSteps = 1;
  ro.reallocEvery = 2;
  ro.finetune = fo;
  double ratioSum = 0.0, plainSum = 0.0;
  int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto plainModel = fresh();
    auto dynaModel = fresh();
    sync();
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    train::finetune(*plainModel, s->samples, fo);
    sync();
    const auto t1 = std::chrono::steady_clock::now();
    rankdyna::runRankDyna(*dynaModel, s->decs, s->samples, ro);
    sync();
    const auto t2 = std::chrono::steady_clock::now();
    const double plain = std::chrono::duration<double>(t1 - t0).count();
    const double dyna = std::chrono::duration<double>(t2 - t1).count();
    state.SetIterationTime(dyna / kSteps);
    plainSum += plain / kSteps;
    ratioSum += dyna / plain;
    ++n;
  }
  state.counters["x_plain"] = ratioSum / static_cast<double>(n);
  state.counters["plain_ms"] = 1e3 * plainSum / static_cast<double>(n);
}
BENCHMARK(BM_RankDynaStepVsPlainFinetuneStep)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_ArsLogToStore(benchmark::State& state) {
  const fs::path file =
      fs::temp_directory_path() / ("ranklab_bench_ars_" + std::to_string(::getpid()) + ".db");
  fs::remove(file);
  {
    store::RunStore db(file);
    api::RunRecord r;
    r.status = "running";
    const int64_t run = db.beginRun(r);
    api::MaskFrame frame;
    frame.ranks.assign(100, 384);
    frame.bits.assign(100, std::vector<uint8_t>(96, 0x5a));
    int64_t step = 0;
    for (auto _ : state) {
      step += 10;
      frame.step = step;
      db.appendSeries(run, {{step, "task_loss", 1.0},
                            {step, "R", 0.1},
                            {step, "R_align", 0.2},
                            {step, "budget", 0.5},
                            {step, "budget_readoff", 0.5},
                            {step, "mean_prob", 0.5}});
      db.appendFrames(run, {frame});
    }
    state.counters["frame_bytes"] = 100 * 96 + 100 * 4;
  }
  fs::remove(file);
  fs::remove(file.string() + "-wal");
  fs::remove(file.string() + "-shm");
}
BENCHMARK(BM_ArsLogToStore)->Iterations(500)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
