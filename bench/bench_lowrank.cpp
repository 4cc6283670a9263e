// Low-rank benchmarks. Each group has its baseline in the same process, so results read as ratios:
//  - the decomposition phase (decomposeModel, plain SVD) of a two-block model at GPT-2 small's widths vs
//    the sum of bare thin SVDs of the same weights: what the engine adds around LAPACK (goal: 1.1x);
//  - the whitening decomposition of one op at GPT-2 small's shapes vs its plain SVD;
//  - randomized truncated SVD (k = 64, 192) vs the full thin SVD of one 768x3072 matrix with a decaying
//    spectrum, with the randomized one's error as counters;
//  - forward latency of the model factorized at a uniform budget p = 0.3, 0.5, 0.7 vs the dense model, at
//    GPT-2 small's widths and at the stories260K shape, where the layers are too small for it to pay;
//  - the same for single ops (768x3072, 3072x768, 4096x4096 on 512 tokens): the layer-level gain,
//    without the attention, norms and head that no rank choice speeds up.
// The factorized sides also run their baseline, untimed, in every iteration and report the paired
// ratio as a counter (x_bare_svd, x_full_svd, x_dense: below 1 is faster), robust to load that drifts
// between benchmarks. Threads are the defaults: at::get_num_threads() (a counter; 1 in Debian's LibTorch) for
// ATen's own kernels, and OpenBLAS's pool, one thread per core, for matrix products and LAPACK. main() comes
// from bench_runtime.cpp's BENCHMARK_MAIN: one binary runs every group.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "bench_paths.h"
#include "common/compat.h"
#include "lowrank/decompose.h"
#include "models/language_model.h"
#include "models/loader.h"
#include "models/low_rank_linear.h"
#include "select/ledger.h"
#include "support/tiny_config.h"

namespace fs = std::filesystem;
using namespace ranklab;

namespace {

const fs::path kRef = fs::path(RANKLAB_BENCH_REFERENCE_DIR) / "stories260K";
constexpr uint64_t kSeed = 0;
constexpr int64_t kOversample = 10;
constexpr int64_t kPowerIterations = 2;

// Two model sizes: GPT-2 small's layer shapes (q, k, v, o 768x768, up 768x3072, down 3072x768) in two
// blocks, enough for the SVD and matmul costs that matter while 2 cores finish in seconds; and the
// stories260K shape (64x64, 64x32, 64x172, 172x64), where the ops are a small share of the forward's
// time (attention, norms and the head are the rest), so factorizing them cannot pay.
enum class Size { Gpt2Width, Stories260K };

io::ModelConfig gpt2WidthConfig() {
  return test::tinyConfig(io::Architecture::Gpt2, {1000, 768, 2, 12, 0, 3072, 256});
}

io::ModelConfig stories260KConfig() {
  return test::tinyConfig(io::Architecture::Llama, {512, 64, 5, 8, 4, 172, 512});
}

// A new instance each call with the same weights (the reference file, or the same seed), so the dense
// baseline and every factorized variant start from identical W.
std::shared_ptr<models::LanguageModel> makeModel(Size size) {
  std::shared_ptr<models::LanguageModel> m;
  if (size == Size::Stories260K && fs::exists(kRef / "stories260K.bin")) {
    m = models::loadModel(kRef / "stories260K.bin", {"cpu", kRef / "tok512.bin"}).model;
  } else {
    torch::manual_seed(kSeed);
    m = models::createModel(size == Size::Gpt2Width ? gpt2WidthConfig() : stories260KConfig());
  }
  m->eval();
  return m;
}

models::LanguageModel& denseModel(Size size) {
  static std::map<Size, std::shared_ptr<models::LanguageModel>> built;
  auto& m = built[size];
  if (!m) m = makeModel(size);
  return *m;
}

const std::vector<lowrank::OpDecomposition>& decompositions(Size size) {
  static std::map<Size, std::vector<lowrank::OpDecomposition>> cache;
  auto it = cache.find(size);
  if (it == cache.end())
    it = cache.emplace(size, lowrank::decomposeModel(denseModel(size), lowrank::Method::Svd, nullptr)).first;
  return it->second;
}

// Wall-clock milliseconds: OpenBLAS runs its own worker threads (one per core unless
// OPENBLAS_NUM_THREADS says otherwise, whatever at::get_num_threads() is), which the benchmark
// thread's CPU time would miss. With --benchmark_repetitions=N, "min" is the least disturbed run,
// the fairest figure on a machine shared with other work.
void wallClockMs(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMillisecond)->UseRealTime()->ComputeStatistics("min", [](const std::vector<double>& v) {
    return *std::min_element(v.begin(), v.end());
  });
}

double secondsOf(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Times `work` and, with the benchmark clock paused, runs `baseline` once after it in every
// iteration; counter `name` = work's wall time / baseline's. On a machine shared with other work the
// load drifts between benchmarks (on the shared 2-core development machine, the same forward measured
// 2x apart a minute later), so a ratio
// of two separately run benchmarks can mislead; alternating exposes both sides to the same load.
void pairedLoop(benchmark::State& state, const std::function<void()>& work,
                const std::function<void()>& baseline, const char* name) {
  double own = 0.0, base = 0.0;
  for (auto _ : state) {
    own += secondsOf(work);
    state.PauseTiming();
    base += secondsOf(baseline);
    state.ResumeTiming();
  }
  if (base > 0.0) state.counters[name] = own / base;
}

// ---- Decomposition phase vs bare SVDs ----

// The very tensors decomposeModel hands to the SVD: float32 W = weight^T, a transposed view.
std::vector<at::Tensor> opWeights(const models::LanguageModel& model) {
  std::vector<at::Tensor> weights;
  for (const auto& e : model.ops().entries())
    weights.push_back(e.slot->impl()->denseWeight().detach().to(at::kFloat).t());
  return weights;
}

void bareSvds(const std::vector<at::Tensor>& weights) {
  torch::NoGradGuard guard;
  for (const auto& w : weights) benchmark::DoNotOptimize(std::get<1>(compat::svd(w)));
}

void BM_DecomposeModelSvd(benchmark::State& state) {
  const auto& model = denseModel(Size::Gpt2Width);
  const auto weights = opWeights(model);
  pairedLoop(
      state,
      [&] {
        auto d = lowrank::decomposeModel(model, lowrank::Method::Svd, nullptr);
        benchmark::DoNotOptimize(d.data());
      },
      [&] { bareSvds(weights); }, "x_bare_svd");
  state.counters["ops"] = static_cast<double>(weights.size());
  state.counters["at_threads"] = at::get_num_threads();
}

void BM_BareSvdSameShapes(benchmark::State& state) {
  const auto weights = opWeights(denseModel(Size::Gpt2Width));
  for (auto _ : state) bareSvds(weights);
  state.counters["ops"] = static_cast<double>(weights.size());
  state.counters["at_threads"] = at::get_num_threads();
}

BENCHMARK(BM_DecomposeModelSvd)->Iterations(3)->Apply(wallClockMs);
BENCHMARK(BM_BareSvdSameShapes)->Iterations(3)->Apply(wallClockMs);

// ---- Whitening vs plain SVD, one op ----

// One op of GPT-2 small's layer (W^T is [M, N]: 768x2304 fused q,k,v; 768x768 attention out;
// 768x3072 MLP up; 3072x768 MLP down) decomposed by whitening (Cholesky of a calibration X^T X of
// 4,096 correlated tokens, the SVD of L^T W, A = W V) vs the plain SVD of W, as decomposeModel does.
// Arg 3 = 1 also computes W's own spectrum for the views (DecomposeOptions::plainSpectrum, the
// default), 0 leaves it out: the difference is its share.
void BM_WhitenOpVsSvdOp(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1);
  torch::NoGradGuard guard;
  torch::manual_seed(kSeed);
  const at::Tensor w = torch::randn({m, n}) / std::sqrt(static_cast<double>(m));
  const at::Tensor x =
      torch::matmul(torch::randn({4096, m}), torch::randn({m, m}) / std::sqrt(static_cast<double>(m)));
  lowrank::OpStats stats;
  stats.gram = torch::matmul(x.t().to(at::kDouble), x.to(at::kDouble));
  stats.tokens = x.size(0);
  lowrank::DecomposeOptions options;
  options.plainSpectrum = state.range(2) != 0;
  pairedLoop(
      state,
      [&] {
        benchmark::DoNotOptimize(
            lowrank::decomposeWeight(w, at::Tensor(), lowrank::Method::Whiten, &stats, options).s.data_ptr());
      },
      [&] {
        benchmark::DoNotOptimize(
            lowrank::decomposeWeight(w, at::Tensor(), lowrank::Method::Svd, nullptr, options).s.data_ptr());
      },
      "x_plain_svd");
}

BENCHMARK(BM_WhitenOpVsSvdOp)
    ->ArgsProduct({{768}, {2304, 768, 3072}, {1}})
    ->ArgsProduct({{3072}, {768}, {0, 1}})
    ->Iterations(3)
    ->Apply(wallClockMs);

// ---- Randomized truncated SVD vs full SVD ----

// 768x3072 with s_i = exp(-i / 60) in random orthonormal bases, plus iid noise of sigma 1e-4: its
// singular values (about 3e-3 to 8e-3) put a floor under the tail, as trained weights have one, so
// the matrix is not exactly low-rank and the power iterations have something to separate.
const at::Tensor& decayingMatrix() {
  static const at::Tensor a = [] {
    torch::NoGradGuard guard;
    torch::manual_seed(kSeed);
    const int64_t m = 768, n = 3072;
    const at::Tensor u = std::get<0>(at::linalg_qr(torch::randn({m, m})));
    const at::Tensor v = std::get<0>(at::linalg_qr(torch::randn({n, m})));
    const at::Tensor s = torch::exp(-torch::arange(m, torch::kFloat) / 60.0);
    return (torch::matmul(u * s.unsqueeze(0), v.t()) + 1e-4 * torch::randn({m, n})).contiguous();
  }();
  return a;
}

const std::tuple<at::Tensor, at::Tensor, at::Tensor>& exactSvd() {
  static const auto usv = compat::svd(decayingMatrix());
  return usv;
}

// ||A - U_k diag(s_k) Vh_k||_F in float64, so the float32 rounding of the product does not blur the
// comparison of two small residuals.
double residual(const at::Tensor& a, const at::Tensor& u, const at::Tensor& s, const at::Tensor& vh) {
  const at::Tensor approx =
      at::matmul(u.to(at::kDouble) * s.to(at::kDouble).unsqueeze(0), vh.to(at::kDouble));
  return (a.to(at::kDouble) - approx).norm().item<double>();
}

void BM_RandomizedSvd(benchmark::State& state) {
  const int64_t k = state.range(0);
  const auto& a = decayingMatrix();
  torch::NoGradGuard guard;
  pairedLoop(
      state,
      [&] {
        benchmark::DoNotOptimize(
            std::get<1>(lowrank::randomizedSvd(a, k, kOversample, kPowerIterations, kSeed)));
      },
      [&] { benchmark::DoNotOptimize(std::get<1>(compat::svd(a))); }, "x_full_svd");
  // Accuracy against the exact top-k, outside the timed loop. rel_err_s: max_i |s_i' - s_i| / s_i over
  // the top k; rel_err_fro: how much larger the rank-k residual is than Eckart-Young's optimum.
  const auto [u, s, vh] = lowrank::randomizedSvd(a, k, kOversample, kPowerIterations, kSeed);
  const auto& [eu, es, evh] = exactSvd();
  const at::Tensor sk = es.narrow(0, 0, k).to(at::kDouble);
  state.counters["rel_err_s"] = ((s.to(at::kDouble) - sk).abs() / sk).max().item<double>();
  state.counters["rel_err_fro"] =
      residual(a, u, s, vh) / residual(a, eu.narrow(1, 0, k), es.narrow(0, 0, k), evh.narrow(0, 0, k)) - 1.0;
  state.counters["at_threads"] = at::get_num_threads();
}

void BM_FullSvd(benchmark::State& state) {
  const auto& a = decayingMatrix();
  torch::NoGradGuard guard;
  for (auto _ : state) benchmark::DoNotOptimize(std::get<1>(compat::svd(a)));
  state.counters["at_threads"] = at::get_num_threads();
}

BENCHMARK(BM_RandomizedSvd)->Arg(64)->Arg(192)->Iterations(5)->Apply(wallClockMs);
BENCHMARK(BM_FullSvd)->Iterations(3)->Apply(wallClockMs);

// ---- Forward latency: factorized vs dense ----

bool sameOpWeights(const models::LanguageModel& a, const models::LanguageModel& b) {
  const auto& ea = a.ops().entries();
  const auto& eb = b.ops().entries();
  if (ea.size() != eb.size()) return false;
  for (size_t i = 0; i < ea.size(); ++i) {
    if (!torch::equal(ea[i].slot->impl()->denseWeight(), eb[i].slot->impl()->denseWeight())) return false;
  }
  return true;
}

// Factorized at a uniform budget p = percent / 100 (k_l = floor(p M N / (M + N)), ALGORITHMS.md
// section 0) from the dense model's SVDs, cached so repeated runs time only the forward. Null when a
// fresh copy does not start from the dense model's weights: the comparison would not be of one model.
models::LanguageModel* factorizedModel(Size size, int64_t percent) {
  static std::map<std::pair<Size, int64_t>, std::shared_ptr<models::LanguageModel>> built;
  auto& m = built[{size, percent}];
  if (!m) {
    auto fresh = makeModel(size);
    if (!sameOpWeights(*fresh, denseModel(size))) return nullptr;
    lowrank::applyRanks(
        *fresh, decompositions(size),
        select::uniformRanksAtBudget(fresh->ops().infos(), static_cast<double>(percent) / 100.0));
    m = fresh;
  }
  return m.get();
}

at::Tensor tokenIds(const models::LanguageModel& model, int64_t batch, int64_t tokens) {
  torch::manual_seed(kSeed);
  return torch::randint(model.config().vocabSize, {batch, tokens}, torch::kLong);
}

void forwardDense(benchmark::State& state, Size size, int64_t batch, int64_t tokens) {
  auto& model = denseModel(size);
  const at::Tensor ids = tokenIds(model, batch, tokens);
  torch::InferenceMode guard;
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(ids));
  state.counters["at_threads"] = at::get_num_threads();
}

void forwardFactorized(benchmark::State& state, Size size, int64_t batch, int64_t tokens) {
  const int64_t percent = state.range(0);
  auto* model = factorizedModel(size, percent);
  if (!model) {
    state.SkipWithError("two models built from the same seed differ; the factorized copy is not comparable");
    return;
  }
  const auto infos = model->ops().infos();
  const auto ranks = select::uniformRanksAtBudget(infos, static_cast<double>(percent) / 100.0);
  int64_t lowRank = 0;
  for (const auto& e : model->ops().entries())
    lowRank += std::dynamic_pointer_cast<models::LowRankLinear>(e.slot->impl()) != nullptr;
  auto& dense = denseModel(size);
  const at::Tensor ids = tokenIds(*model, batch, tokens);
  torch::InferenceMode guard;
  pairedLoop(
      state, [&] { benchmark::DoNotOptimize(model->forward(ids)); },
      [&] { benchmark::DoNotOptimize(dense.forward(ids)); }, "x_dense");
  state.counters["at_threads"] = at::get_num_threads();
  state.counters["p"] = select::ledger(infos, ranks).keptFraction;
  state.counters["lowrank_ops"] = static_cast<double>(lowRank);
}

constexpr int64_t kGpt2Batch = 4, kGpt2Tokens = 256;
constexpr int64_t kTinyBatch = 8, kTinyTokens = 256;

void BM_ForwardDense(benchmark::State& state) {
  forwardDense(state, Size::Gpt2Width, kGpt2Batch, kGpt2Tokens);
}
void BM_ForwardFactorized(benchmark::State& state) {
  forwardFactorized(state, Size::Gpt2Width, kGpt2Batch, kGpt2Tokens);
}
void BM_ForwardDenseStories260K(benchmark::State& state) {
  forwardDense(state, Size::Stories260K, kTinyBatch, kTinyTokens);
}
void BM_ForwardFactorizedStories260K(benchmark::State& state) {
  forwardFactorized(state, Size::Stories260K, kTinyBatch, kTinyTokens);
}

BENCHMARK(BM_ForwardDense)->Apply(wallClockMs);
BENCHMARK(BM_ForwardFactorized)->Arg(30)->Arg(50)->Arg(70)->Apply(wallClockMs);
BENCHMARK(BM_ForwardDenseStories260K)->Apply(wallClockMs);
BENCHMARK(BM_ForwardFactorizedStories260K)->Arg(30)->Arg(50)->Arg(70)->Apply(wallClockMs);

}  // namespace

// ---- One op: factorized vs dense ----

// x [512, M] through a 768x3072, 3072x768 or 4096x4096 op at k = floor(p M N / (M + N)).
void BM_OpFactorized(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), percent = state.range(2);
  torch::manual_seed(kSeed);
  models::DenseLinear dense(m, n, /*withBias=*/true);
  const int64_t k = m * n * percent / 100 / (m + n);
  const auto d =
      lowrank::decomposeWeight(dense.denseWeight().t(), dense.bias(), lowrank::Method::Svd, nullptr);
  models::LowRankLinear factorized(d.a.narrow(1, 0, k).contiguous(), d.b.narrow(0, 0, k).contiguous(),
                                   d.bias);
  const at::Tensor x = torch::randn({512, m});
  torch::InferenceMode guard;
  pairedLoop(
      state, [&] { benchmark::DoNotOptimize(factorized.forward(x)); },
      [&] { benchmark::DoNotOptimize(dense.forward(x)); }, "x_dense");
  state.counters["rank"] = static_cast<double>(k);
}
BENCHMARK(BM_OpFactorized)
    ->ArgsProduct({{768}, {3072}, {30, 50, 70}})
    ->ArgsProduct({{3072}, {768}, {50}})
    ->ArgsProduct({{4096}, {4096}, {30, 50, 70}})
    ->Apply(wallClockMs);
