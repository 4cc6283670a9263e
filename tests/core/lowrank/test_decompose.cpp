// The five decompositions (ALGORITHMS.md section 1) in float64: Eckart-Young for plain SVD, exact
// output error for whitening, weighted optimality for FWSVD / IWSVD / ASVD; the randomized SVD;
// the calibration pass's statistics; applying ranks with the dense-if-cheaper rule; the cache.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "lowrank/calibration.h"
#include "lowrank/decompose.h"
#include "models/low_rank_linear.h"
#include "select/ledger.h"
#include "support/tiny_config.h"

namespace fs = std::filesystem;
using namespace ranklab;
using lowrank::Method;

namespace {

double sq(const at::Tensor& t) { return t.square().sum().item<double>(); }

at::Tensor rankK(const lowrank::OpDecomposition& d, int64_t k) {
  return at::matmul(d.a.narrow(1, 0, k), d.b.narrow(0, 0, k));
}

TEST(Decompose, PlainSvdTruncationErrorIsTheDiscardedEnergy) {
  auto gen = at::detail::createCPUGenerator(1);
  const auto w = at::randn({40, 24}, gen, at::kDouble);
  const auto d = lowrank::decomposeWeight(w, at::Tensor(), Method::Svd, nullptr);
  ASSERT_EQ(d.a.sizes(), (std::vector<int64_t>{40, 24}));
  ASSERT_EQ(d.b.sizes(), (std::vector<int64_t>{24, 24}));
  EXPECT_NEAR(d.totalEnergy, sq(w), 1e-9 * sq(w));
  for (int64_t k : {0, 1, 7, 12, 23, 24}) {
    const double err = sq(w - rankK(d, k));
    const double discarded = sq(d.s.narrow(0, k, 24 - k));
    // Metric: ||W - A_k B_k||_F^2 vs sum_{i >= k} s_i^2 (Eckart-Young), relative 1e-6 (+1e-12 absolute at
    // full rank).
    EXPECT_NEAR(err, discarded, 1e-6 * discarded + 1e-12) << "k = " << k;
    EXPECT_NEAR(d.energyKept(k), 1.0 - discarded / d.totalEnergy, 1e-9);
  }
}

// Wide W (N > M) goes through the Cholesky factor, square and tall W (N <= M) through the
// eigenpairs of W^T C W; both must give the optimal truncation in the output norm.
TEST(Decompose, WhiteningTruncationCostsExactlyTheDiscardedEnergyOnTheCalibrationData) {
  for (const auto [m, n] : {std::pair<int64_t, int64_t>{16, 20}, {16, 16}, {20, 12}}) {
    auto gen = at::detail::createCPUGenerator(2);
    const int64_t tokens = 200;
    // Correlated, unequally scaled inputs, as real activations are.
    const auto x = at::matmul(at::randn({tokens, m}, gen, at::kDouble), at::randn({m, m}, gen, at::kDouble)) *
                   at::linspace(0.1, 3.0, m, at::kDouble);
    const auto w = at::randn({m, n}, gen, at::kDouble);
    lowrank::OpStats stats;
    stats.gram = at::matmul(x.t(), x);
    const auto d = lowrank::decomposeWeight(w, at::Tensor(), Method::Whiten, &stats);
    EXPECT_EQ(d.whitenRetries, 0);
    ASSERT_EQ(d.s.size(0), std::min(m, n));
    // Metric: total energy = ||X W||_F^2, relative 1e-9.
    EXPECT_NEAR(d.totalEnergy, sq(at::matmul(x, w)), 1e-9 * sq(at::matmul(x, w))) << m << "x" << n;
    const auto plain = lowrank::decomposeWeight(w, at::Tensor(), Method::Svd, nullptr);
    // The plain spectrum is W's own. Metric: max abs, 1e-9.
    EXPECT_LT((d.plainS - plain.s).abs().max().item<double>(), 1e-9) << m << "x" << n;
    for (int64_t k : {1, 4, 8, 11}) {
      const double err = sq(at::matmul(x, w - rankK(d, k)));
      const double discarded = sq(d.s.narrow(0, k, d.s.size(0) - k));
      // Metric: output error ||X W - X A_k B_k||_F^2 vs the discarded s_i^2, relative 1e-6.
      EXPECT_NEAR(err, discarded, 1e-6 * discarded) << m << "x" << n << " k = " << k;
      // And it beats plain SVD's truncation on that data (optimal in the output norm).
      EXPECT_LE(err, sq(at::matmul(x, w - rankK(plain, k))) * (1 + 1e-9)) << m << "x" << n << " k = " << k;
    }
  }
}

TEST(Decompose, WhiteningWithKnownRanksKeepsTheTopTripletsOfTheFullDecomposition) {
  auto gen = at::detail::createCPUGenerator(7);
  const int64_t m = 60, n = 40;  // tall: the eigen route, which is exact even when truncated
  const auto x = at::randn({300, m}, gen, at::kDouble) * at::linspace(0.2, 2.0, m, at::kDouble);
  const auto w = at::randn({m, n}, gen, at::kDouble);
  lowrank::OpStats stats;
  stats.gram = at::matmul(x.t(), x);
  const auto full = lowrank::decomposeWeight(w, at::Tensor(), Method::Whiten, &stats);
  lowrank::DecomposeOptions o;
  o.maxRank = 5;
  const auto top = lowrank::decomposeWeight(w, at::Tensor(), Method::Whiten, &stats, o);
  ASSERT_EQ(top.s.size(0), 5);  // the cache's layout for a known rank
  ASSERT_EQ(top.a.sizes(), (std::vector<int64_t>{m, 5}));
  // Metric: max abs difference of the top 5 singular values and of the rank-5 product, 1e-9.
  EXPECT_LT((top.s - full.s.narrow(0, 0, 5)).abs().max().item<double>(), 1e-9);
  EXPECT_LT((rankK(top, 5) - rankK(full, 5)).abs().max().item<double>(), 1e-9);
  EXPECT_NEAR(top.totalEnergy, full.totalEnergy, 1e-9 * full.totalEnergy);
}

TEST(Decompose, WhiteningShiftsWhenTheCovarianceIsSingularAndReportsIt) {
  // Both routes: a tall W (eigen route) and a wide one (Cholesky route).
  for (const int64_t n : {8, 20}) {
    auto gen = at::detail::createCPUGenerator(3);
    const auto x = at::randn({5, 12}, gen, at::kDouble);  // 5 tokens for 12 inputs: X^T X has rank 5
    lowrank::OpStats stats;
    stats.gram = at::matmul(x.t(), x);
    const auto w = at::randn({12, n}, gen, at::kDouble);
    const auto d = lowrank::decomposeWeight(w, at::Tensor(), Method::Whiten, &stats);
    EXPECT_GT(d.whitenRetries, 0) << "n = " << n;
    EXPECT_GT(d.whitenDelta, 0.0) << "n = " << n;
    // Even so, full rank reproduces W. Metric: max abs difference, 1e-6.
    const int64_t full = std::min<int64_t>(12, n);
    EXPECT_LT((rankK(d, full) - w).abs().max().item<double>(), 1e-6) << "n = " << n;
    // And the 5 directions the calibration saw come first: rank 5 costs (almost) no output error.
    // Metric: ||X (W - A_5 B_5)||_F^2 / ||X W||_F^2 below 1e-6.
    EXPECT_LT(sq(at::matmul(x, w - rankK(d, 5))) / sq(at::matmul(x, w)), 1e-6) << "n = " << n;
    lowrank::OpStats zero;
    zero.gram = at::zeros({12, 12}, at::kDouble);
    EXPECT_THROW(lowrank::decomposeWeight(w, at::Tensor(), Method::Whiten, &zero), Error);
  }
}

// FWSVD, IWSVD and ASVD weight rows by a diagonal D; they are optimal in ||D (W - W_k)||_F.
void expectWeightedOptimal(Method method, const lowrank::OpStats& stats, const at::Tensor& w,
                           const at::Tensor& rowWeight) {
  const auto d = lowrank::decomposeWeight(w, at::Tensor(), method, &stats);
  const auto plain = lowrank::decomposeWeight(w, at::Tensor(), Method::Svd, nullptr);
  const auto dw = rowWeight.unsqueeze(1);
  for (int64_t k : {1, 3, 6, 10}) {
    const double err = sq(dw * (w - rankK(d, k)));
    const double discarded = sq(d.s.narrow(0, k, d.s.size(0) - k));
    // Metric: weighted error vs the discarded weighted s_i^2, relative 1e-6; never above plain SVD's factors.
    EXPECT_NEAR(err, discarded, 1e-6 * discarded) << lowrank::methodName(method) << " k = " << k;
    EXPECT_LE(err, sq(dw * (w - rankK(plain, k))) * (1 + 1e-9))
        << lowrank::methodName(method) << " k = " << k;
  }
  // The plain spectrum is W's own, for the UI's plain/weighted switch. Metric: max abs, 1e-9.
  EXPECT_LT((d.plainS - plain.s).abs().max().item<double>(), 1e-9);
}

TEST(Decompose, FisherImportanceAndActivationWeightingAreOptimalInTheirNorms) {
  auto gen = at::detail::createCPUGenerator(4);
  const int64_t m = 14, n = 11;
  const auto w = at::randn({m, n}, gen, at::kDouble);
  lowrank::OpStats stats;
  stats.fisher = (at::rand({m, n}, gen, at::kDouble).square() * 3).sum(1);  // row sums of squared gradients
  stats.importance = (at::rand({m, n}, gen, at::kDouble) * 0.5).sum(1);
  stats.absMean = at::rand({m}, gen, at::kDouble) + 0.05;
  expectWeightedOptimal(Method::Fwsvd, stats, w, stats.fisher.sqrt());
  expectWeightedOptimal(Method::Iwsvd, stats, w, stats.importance.sqrt());
  expectWeightedOptimal(Method::Asvd, stats, w, stats.absMean.pow(0.5));
}

TEST(Decompose, ZeroImportanceRowsAreGuardedAndMissingStatisticsAreErrors) {
  auto gen = at::detail::createCPUGenerator(5);
  const auto w = at::randn({6, 5}, gen, at::kDouble);
  lowrank::OpStats stats;
  stats.fisher = at::rand({6}, gen, at::kDouble);
  stats.fisher[2].zero_();  // an input never used on the calibration data
  const auto d = lowrank::decomposeWeight(w, at::Tensor(), Method::Fwsvd, &stats);
  EXPECT_TRUE(at::isfinite(d.a).all().item<bool>());
  // Full rank still reproduces W. Metric: max abs, 1e-8.
  EXPECT_LT((rankK(d, 5) - w).abs().max().item<double>(), 1e-8);
  EXPECT_THROW(lowrank::decomposeWeight(w, at::Tensor(), Method::Asvd, &stats), Error);     // no absMean
  EXPECT_THROW(lowrank::decomposeWeight(w, at::Tensor(), Method::Whiten, nullptr), Error);  // no calibration
  lowrank::OpStats wrong;
  wrong.fisher = at::rand({5}, gen, at::kDouble);
  EXPECT_THROW(lowrank::decomposeWeight(w, at::Tensor(), Method::Fwsvd, &wrong), Error);
  EXPECT_THROW(lowrank::parseMethod("qr"), Error);
  EXPECT_EQ(lowrank::parseMethod("svd-llm"), Method::Whiten);
}

TEST(Decompose, RandomizedSvdFindsTheTopOfADecayingSpectrum) {
  auto gen = at::detail::createCPUGenerator(6);
  const int64_t m = 200, n = 150;
  const auto u = std::get<0>(at::linalg_qr(at::randn({m, n}, gen, at::kDouble)));
  const auto v = std::get<0>(at::linalg_qr(at::randn({n, n}, gen, at::kDouble)));
  const auto s = at::exp(-at::arange(n, at::kDouble) / 10.0);
  const auto a = at::matmul(u * s, v.t());
  auto [ur, sr, vhr] = lowrank::randomizedSvd(a, 20, 10, 2, 7);
  // Metric: max relative error of the top-20 singular values, 1e-4 (s_30 / s_20 = e^-1 with 10
  // oversampled columns and 2 power iterations; measured 7.5e-6).
  EXPECT_LT(((sr - s.narrow(0, 0, 20)) / s.narrow(0, 0, 20)).abs().max().item<double>(), 1e-4);
  const double exact = sq(s.narrow(0, 20, n - 20));
  // Metric: rank-20 reconstruction error within 1% of the optimal one.
  EXPECT_LT(sq(a - at::matmul(ur * sr, vhr)), exact * 1.01);
  // Through decomposeWeight: only maxRank triplets, but the total energy stays exact.
  lowrank::DecomposeOptions o;
  o.maxRank = 20;
  const auto d = lowrank::decomposeWeight(a, at::Tensor(), Method::Svd, nullptr, o);
  EXPECT_EQ(d.s.size(0), 20);
  EXPECT_NEAR(d.totalEnergy, sq(s), 1e-9);
  EXPECT_NEAR(d.energyKept(20), 1.0 - exact / sq(s), 1e-6);
}

class TinyLlama : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(8);
    m_model = models::createModel(test::tinyConfig(io::Architecture::Llama, {40, 16, 2, 4, 2, 24, 32}));
    m_model->eval();
    for (int i = 0; i < 3; ++i) {
      lowrank::CalibrationSample s;
      for (int t = 0; t < 12; ++t) s.ids.push_back((i * 7 + t * 3) % 40);
      m_samples.push_back(s);
    }
  }
  std::shared_ptr<models::LanguageModel> m_model;
  std::vector<lowrank::CalibrationSample> m_samples;
};

TEST_F(TinyLlama, CalibrationSharesOneCovariancePerInputAndAddsUpOverSamples) {
  lowrank::CalibrationNeeds needs;
  needs.gram = needs.absMean = true;
  const auto all = lowrank::calibrate(*m_model, m_samples, needs);
  const auto& ops = m_model->ops().entries();
  ASSERT_EQ(all.ops.size(), ops.size());
  // q, k, v read the same normalised input; gate and up too: one X^T X each.
  EXPECT_EQ(all.ops[0].gram.unsafeGetTensorImpl(), all.ops[1].gram.unsafeGetTensorImpl());
  EXPECT_EQ(all.ops[0].gram.unsafeGetTensorImpl(), all.ops[2].gram.unsafeGetTensorImpl());
  EXPECT_NE(all.ops[0].gram.unsafeGetTensorImpl(),
            all.ops[3].gram.unsafeGetTensorImpl());  // o reads attention output
  EXPECT_EQ(all.ops[4].gram.unsafeGetTensorImpl(), all.ops[5].gram.unsafeGetTensorImpl());
  EXPECT_EQ(all.ops[0].tokens, 3 * 11);  // windows of 12 predict 11 tokens
  // Sums over samples add up. Metric: max abs difference, 1e-9 relative to the largest entry.
  const auto a = lowrank::calibrate(*m_model, {m_samples[0]}, needs);
  const auto b = lowrank::calibrate(*m_model, {m_samples[1], m_samples[2]}, needs);
  for (size_t i : {0u, 3u, 6u}) {
    const auto sum = a.ops[i].gram + b.ops[i].gram;
    EXPECT_LT((sum - all.ops[i].gram).abs().max().item<double>(),
              1e-9 * all.ops[i].gram.abs().max().item<double>());
    EXPECT_LT((all.ops[i].gram - all.ops[i].gram.t()).abs().max().item<double>(), 1e-12);
  }
  // The model's ops are back and unchanged.
  for (const auto& e : ops)
    EXPECT_NE(std::dynamic_pointer_cast<models::DenseLinear>(e.slot->impl()), nullptr);
}

TEST_F(TinyLlama, FisherDiagonalsAreTheSquaredGradientsOfTheTaskLoss) {
  lowrank::CalibrationNeeds needs;
  needs.fisher = needs.importance = true;
  const auto cal = lowrank::calibrate(*m_model, {m_samples[0]}, needs);
  // The same gradient by hand.
  auto& op = *std::dynamic_pointer_cast<models::DenseLinear>(m_model->ops().entries()[5].slot->impl());
  op.weight().mutable_grad().reset();
  auto loss = lowrank::taskLoss(*m_model, {&m_samples[0]});
  loss.backward();
  const auto g = op.weight().grad().t();
  // Metric: max abs difference relative to the largest entry, 1e-5 (float32 gradients).
  const double scale = g.square().abs().max().item<double>();
  // The decompositions use the row sums (ALGORITHMS.md: I_i = sum_j F_ij); calibration keeps those.
  EXPECT_LT((cal.ops[5].fisher - g.square().sum(1)).abs().max().item<double>(), 1e-5 * scale);
  EXPECT_LT((cal.ops[5].importance - (g * op.weight().t()).square().sum(1)).abs().max().item<double>(),
            1e-5 * scale + 1e-12);
  EXPECT_NEAR(cal.meanLoss, loss.item<double>(), 1e-5);
  op.weight().mutable_grad().reset();
  // Gradient flags are restored: calibrating must not leave the embedding frozen.
  for (const auto& p : m_model->parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST_F(TinyLlama, ApplyRanksUsesLowRankOpsOrDenseWhenCheaperAndMatchesTheLedger) {
  const auto decs = lowrank::decomposeModel(*m_model, Method::Svd, nullptr);
  const auto infos = m_model->ops().infos();
  std::vector<int64_t> ranks;
  for (const auto& info : infos)
    ranks.push_back(info.kind == "q" ? 2 : (info.kind == "up" ? 15 : select::fullRank(info)));
  // up is 16 x 24: rank 15 costs 15 * 40 = 600 >= 384, so it stays dense with the rank-15 product.
  lowrank::applyRanks(*m_model, decs, ranks);
  int64_t stored = 0;
  for (size_t i = 0; i < infos.size(); ++i) {
    const auto impl = m_model->ops().entries()[i].slot->impl();
    stored += infos[i].params();
    if (infos[i].kind == "q") {
      auto lr = std::dynamic_pointer_cast<models::LowRankLinear>(impl);
      ASSERT_NE(lr, nullptr);
      EXPECT_EQ(lr->rank(), 2);
      stored += 2 * (infos[i].inFeatures + infos[i].outFeatures) - infos[i].params();
    } else {
      EXPECT_NE(std::dynamic_pointer_cast<models::DenseLinear>(impl), nullptr) << infos[i].name;
    }
    if (infos[i].kind == "up") {
      // Metric: the dense weight is the rank-15 truncation, max abs 1e-5.
      const auto expected = at::matmul(decs[i].a.narrow(1, 0, 15), decs[i].b.narrow(0, 0, 15)).t();
      EXPECT_LT((impl->denseWeight() - expected).abs().max().item<float>(), 1e-5f);
    }
  }
  EXPECT_EQ(select::ledger(infos, ranks).compressibleAfter, stored);
  EXPECT_THROW(lowrank::applyRanks(*m_model, decs, {1, 2}), Error);
}

TEST_F(TinyLlama, TheCacheReturnsTheSameFactorsAndIgnoresStaleFiles) {
  const auto dir = fs::temp_directory_path() / ("ranklab_cache_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto decs = lowrank::decomposeModel(*m_model, Method::Svd, nullptr);
  const auto key = lowrank::decompositionCacheKey("model", Method::Svd, "", {});
  EXPECT_TRUE(lowrank::loadCachedDecompositions(dir, key, *m_model).empty());
  {
    lowrank::DecompositionCacheWriter writer(dir, key, *m_model, Method::Svd, {});
    for (const auto& d : decs) writer.write(d);
    EXPECT_TRUE(lowrank::loadCachedDecompositions(dir, key, *m_model).empty()) << "visible before commit";
    writer.commit();
  }
  const auto back = lowrank::loadCachedDecompositions(dir, key, *m_model);
  ASSERT_EQ(back.size(), decs.size());
  for (size_t i = 0; i < decs.size(); ++i) {
    EXPECT_TRUE(at::equal(back[i].a, decs[i].a));
    EXPECT_TRUE(at::equal(back[i].s, decs[i].s));
    EXPECT_DOUBLE_EQ(back[i].totalEnergy, decs[i].totalEnergy);
  }
  // Another model's ops (different shapes) do not match the file: recompute, do not crash.
  auto other = models::createModel(test::tinyConfig(io::Architecture::Llama, {40, 8, 1, 2, 2, 12, 32}));
  EXPECT_TRUE(lowrank::loadCachedDecompositions(dir, key, *other).empty());
  // A corrupted file is ignored too.
  std::ofstream(dir / (key + ".safetensors"), std::ios::trunc) << "garbage";
  EXPECT_TRUE(lowrank::loadCachedDecompositions(dir, key, *m_model).empty());
  EXPECT_NE(key, lowrank::decompositionCacheKey("model", Method::Fwsvd, "calib", {}));
  fs::remove_all(dir);
}

}  // namespace

// X^T X accumulated over row batches from the blocks on and above the diagonal, then mirrored, is
// the whole product: for wide inputs (several column blocks, uneven ones included) and narrow ones
// (one block).
TEST(Gram, BlocksAboveTheDiagonalMirroredMakeTheWholeProduct) {
  torch::manual_seed(11);
  for (int64_t m : {40, 1300, 2049}) {
    const auto x = torch::randn({600, m}, torch::kDouble);
    auto gram = torch::zeros({m, m}, torch::kDouble);
    lowrank::addGram(gram, x.narrow(0, 0, 250));
    lowrank::addGram(gram, x.narrow(0, 250, 350));
    lowrank::mirrorGram(gram);
    const auto whole = torch::mm(x.t(), x);
    // Metric: max abs difference, relative to the largest entry; tolerance 1e-13 (float64 rounding of
    // the same dot products summed in another order).
    EXPECT_LT((gram - whole).abs().max().item<double>(), 1e-13 * whole.abs().max().item<double>()) << m;
    // Symmetric: the corner far from the diagonal is an exact mirror (a block copied from above); the
    // diagonal blocks are symmetric to rounding, as any product X^T X is.
    const int64_t c = std::min<int64_t>(m / 4, 100);
    if (m >= 768)  // several column blocks
      EXPECT_TRUE(torch::equal(gram.narrow(0, m - c, c).narrow(1, 0, c),
                               gram.narrow(0, 0, c).narrow(1, m - c, c).t()))
          << m;
    EXPECT_LT((gram - gram.t()).abs().max().item<double>(), 1e-13 * whole.abs().max().item<double>()) << m;
  }
}
