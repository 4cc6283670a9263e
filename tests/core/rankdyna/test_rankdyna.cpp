// RankDyna's building blocks (ALGORITHMS.md section 3): the budget schedule, the smoothed scores, the
// global reallocation (meets b(t), revives a group whose score rises), the SVD-parametrised op and
// the orthogonality term's gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "common/compat.h"
#include "common/error.h"
#include "lowrank/decompose.h"
#include "models/low_rank_linear.h"
#include "rankdyna/rankdyna.h"
#include "select/ledger.h"
#include "support/tiny_config.h"
#include "support/tiny_models.h"

using namespace ranklab;

namespace {
using test::opInfo;
}  // namespace

// Warm-up at b0, the cubic decrease, then bT for the final steps (metric: exact values, 1e-9).
TEST(RankDyna, BudgetScheduleHasWarmupCubicAndFinalPhases) {
  rankdyna::BudgetSchedule b{100, 10, 20, 1000.0, 400.0};
  b.validate();
  EXPECT_EQ(b.at(0), 1000.0);
  EXPECT_EQ(b.at(9), 1000.0);
  EXPECT_EQ(b.at(10), 1000.0);  // x = 1 at the start of the decrease
  // t = 45: (t - ti) / (T - ti - tf) = 35 / 70 = 0.5 -> 400 + 600 * 0.125.
  EXPECT_NEAR(b.at(45), 475.0, 1e-9);
  EXPECT_NEAR(b.at(24), 400.0 + 600.0 * std::pow(1.0 - 14.0 / 70.0, 3), 1e-9);
  EXPECT_EQ(b.at(80), 400.0);
  EXPECT_EQ(b.at(99), 400.0);
  for (int64_t t = 1; t < 100; ++t) EXPECT_LE(b.at(t), b.at(t - 1));
  EXPECT_THROW((rankdyna::BudgetSchedule{100, 50, 50, 1.0, 0.5}.validate()), Error);
  EXPECT_THROW((rankdyna::BudgetSchedule{100, 10, 10, 1.0, 2.0}.validate()), Error);
}

// I_bar <- b1 I_bar + (1 - b1) I; U_bar <- b2 U_bar + (1 - b2) |I - I_bar|; score = I_bar U_bar.
TEST(RankDyna, ScoresFollowTheEmaFormulas) {
  rankdyna::GroupScores s(2, 0.85, 0.85);
  s.update(torch::tensor({1.0, 0.0}));
  // I_bar = 0.15, U_bar = 0.15 * |1 - 0.15| = 0.1275 for group 0.
  EXPECT_NEAR(s.importance()[0].item<double>(), 0.15, 1e-12);
  EXPECT_NEAR(s.uncertainty()[0].item<double>(), 0.1275, 1e-12);
  s.update(torch::tensor({2.0, 0.0}));
  const double i = 0.85 * 0.15 + 0.15 * 2.0;
  const double u = 0.85 * 0.1275 + 0.15 * std::abs(2.0 - i);
  EXPECT_NEAR(s.importance()[0].item<double>(), i, 1e-12);
  EXPECT_NEAR(s.uncertainty()[0].item<double>(), u, 1e-12);
  EXPECT_NEAR(s.score()[0].item<double>(), i * u, 1e-12);
  EXPECT_EQ(s.score()[1].item<double>(), 0.0);
  EXPECT_THROW(s.update(torch::tensor({1.0})), Error);
  EXPECT_THROW(rankdyna::GroupScores(2, 1.0, 0.5), Error);
}

// Groups are kept by score (already per parameter) until the budget is met; a masked group whose
// score rises comes back at the next reallocation.
TEST(RankDyna, ReallocationMeetsTheBudgetAndRevivesGroups) {
  const std::vector<api::OpInfo> ops = {opInfo("a", 10, 10), opInfo("b", 30, 10)};  // group costs 20 and 40
  std::vector<at::Tensor> scores = {torch::tensor({8.0, 4.0, 1.0}), torch::tensor({20.0, 6.0, 1.0})};
  // By score: b0 20, a0 8, b1 6, a1 4, then the ones. Budget 90: b0 (40) + a0 (20) = 60; b1 (40) would
  // make 100; a1 (20) fits: 80; nothing else does.
  auto masks = rankdyna::reallocate(ops, scores, 90.0);
  EXPECT_TRUE(torch::equal(masks[0], torch::tensor({1.0f, 1.0f, 0.0f})));
  EXPECT_TRUE(torch::equal(masks[1], torch::tensor({1.0f, 0.0f, 0.0f})));
  double cost = 20.0 * masks[0].sum().item<double>() + 40.0 * masks[1].sum().item<double>();
  EXPECT_LE(cost, 90.0);
  // Group a2's score rises above a1's: it comes back, a1 goes.
  scores[0] = torch::tensor({8.0, 4.0, 5.0});
  masks = rankdyna::reallocate(ops, scores, 90.0);
  EXPECT_TRUE(torch::equal(masks[0], torch::tensor({1.0f, 0.0f, 1.0f})));
  EXPECT_THROW(rankdyna::reallocate(ops, {scores[0]}, 100.0), Error);
}

// The budget is T of ALGORITHMS.md section 0: a group that does not fit is skipped and cheaper ones
// below it fill the leftover; an op whose groups reach M N is stored dense and its other groups are free.
TEST(RankDyna, ReallocationFillsTheBudgetWithTheLedgersPrices) {
  // a: 10 x 10 (M N 100, group 20, dense from k = 5); b: 30 x 10 (M N 300, group 40, dense from k = 8).
  const std::vector<api::OpInfo> ops = {opInfo("a", 10, 10), opInfo("b", 30, 10)};
  std::vector<at::Tensor> scores = {torch::tensor({8.0, 4.0, 1.0}), torch::tensor({20.0, 6.0, 1.0})};
  // Budget 70: b0 (40) + a0 (20) = 60; b1 (40) does not fit, a1 (4, 20) would make 80; the leftover 10
  // fits no group. Budget 80: b1 still does not fit but a1, ranked below it, does.
  auto masks = rankdyna::reallocate(ops, scores, 70.0);
  EXPECT_TRUE(torch::equal(masks[0], torch::tensor({1.0f, 0.0f, 0.0f})));
  masks = rankdyna::reallocate(ops, scores, 80.0);
  EXPECT_TRUE(torch::equal(masks[0], torch::tensor({1.0f, 1.0f, 0.0f})));
  EXPECT_TRUE(torch::equal(masks[1], torch::tensor({1.0f, 0.0f, 0.0f})));

  // Dense pricing: op a at full rank 10, its scores above all of b's but b0. Its first five groups
  // cost 20 each (100 = M N); the other five add nothing to T, so they come with it. Budget 140: all of
  // a and b's best group.
  scores[0] = torch::tensor({19.0, 18.0, 17.0, 16.0, 15.0, 5.0, 4.0, 3.0, 2.0, 1.5});
  masks = rankdyna::reallocate(ops, scores, 140.0);
  EXPECT_EQ(masks[0].sum().item<double>(), 10.0);
  EXPECT_TRUE(torch::equal(masks[1], torch::tensor({1.0f, 0.0f, 0.0f})));
  // 20 parameters short: a stops at four groups (80, one short of dense) and b gets b0 (40): 120.
  masks = rankdyna::reallocate(ops, scores, 139.0);
  EXPECT_EQ(masks[0].sum().item<double>(), 4.0);
  const double t = 20.0 * masks[0].sum().item<double>() + 40.0 * masks[1].sum().item<double>();
  EXPECT_LE(t, 139.0);
  EXPECT_GE(t, 139.0 - 20.0) << "the leftover is smaller than the cheapest group";
}

// The op computes x U diag(s * mask) V^T + b; a masked group adds nothing and gets no gradient in U,
// V or s, but keeps a sensitivity through its effective singular value.
TEST(RankDyna, SvdLinearMasksGroupsAndKeepsTheirSensitivity) {
  torch::manual_seed(3);
  const auto w = torch::randn({6, 4});
  auto [u, s, vh] = compat::svd(w);
  const auto bias = torch::randn({4});
  rankdyna::SvdLinear op(u, s, vh.t(), bias);
  const auto x = torch::randn({5, 6});
  EXPECT_LT((op.forward(x) - (torch::mm(x, w) + bias)).abs().max().item<double>(), 1e-5);
  EXPECT_LT((op.denseWeight() - w.t()).abs().max().item<double>(), 1e-5);
  op.setMask(torch::tensor({1.0f, 1.0f, 0.0f, 1.0f}));
  EXPECT_EQ(op.activeRank(), 3);
  EXPECT_EQ(op.parameterCount(), 3 * (6 + 4) + 4);
  const auto expected = torch::mm(torch::mm(x, u) * (s * torch::tensor({1.0f, 1.0f, 0.0f, 1.0f})), vh) + bias;
  const auto y = op.forward(x);
  EXPECT_LT((y - expected).abs().max().item<double>(), 1e-5);
  y.pow(2).sum().backward();
  EXPECT_EQ(op.s().grad()[2].item<double>(), 0.0);
  EXPECT_EQ(op.u().grad().select(1, 2).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(op.v().grad().select(1, 2).abs().sum().item<double>(), 0.0);
  const auto sens = op.groupSensitivity();
  ASSERT_EQ(sens.size(0), 4);
  EXPECT_GT(sens[2].item<double>(), 0.0);  // |s_2 * dL/d(s_2 mask_2)| / (1 + M + N)
  EXPECT_NEAR(sens[2].item<double>(),
              std::abs(s[2].item<double>() * op.effectiveGrad()[2].item<double>()) / 11.0, 1e-6);
  EXPECT_THROW(op.setMask(torch::ones({3})), Error);
  EXPECT_THROW(rankdyna::SvdLinear(u, s, u, bias), Error);  // V [6, 4] does not match the 4 outputs
}

// ||U^T U - I||^2 + ||V^T V - I||^2: zero for the SVD's own factors; its gradient in U is
// 4 U (U^T U - I) (metric: max abs difference to the analytic gradient, 1e-4).
TEST(RankDyna, OrthogonalityTermAndItsGradient) {
  torch::manual_seed(4);
  const auto w = torch::randn({8, 5});
  auto [u, s, vh] = compat::svd(w);
  rankdyna::SvdLinear op(u, s, vh.t(), at::Tensor());
  EXPECT_LT(op.orthogonalityPenalty().item<double>(), 1e-8);
  rankdyna::SvdLinear off(u + 0.1 * torch::randn_like(u), s, vh.t(), at::Tensor());
  const auto penalty = off.orthogonalityPenalty();
  EXPECT_GT(penalty.item<double>(), 1e-3);
  penalty.backward();
  const auto uu = off.u().detach();
  const auto expected = 4.0 * torch::mm(uu, torch::mm(uu.t(), uu) - torch::eye(5));
  EXPECT_LT((off.u().grad() - expected).abs().max().item<double>(), 1e-4);
  EXPECT_LT(off.v().grad().abs().max().item<double>(), 1e-4);  // V is still orthonormal
}

namespace {
std::shared_ptr<models::LanguageModel> tinyGpt2(uint64_t seed) { return test::tinyGpt2Model(seed); }
std::vector<lowrank::CalibrationSample> randomSamples(int64_t count, int64_t length, uint64_t seed) {
  return test::randomSamples(count, length, test::kTinyGpt2Vocab, seed);
}
// A short run at p = 0.4: warm-up and final phases of 10 steps, a reallocation every 5, batches of 4.
rankdyna::RankDynaOptions shortRun(int64_t steps) {
  rankdyna::RankDynaOptions o;
  o.keep = 0.4;
  o.warmupSteps = 10;
  o.finalSteps = 10;
  o.reallocEvery = 5;
  o.finetune.steps = steps;
  o.finetune.learningRate = 1e-3;
  o.finetune.batchSize = 4;
  return o;
}
}  // namespace

// A whole run on a tiny GPT-2: reallocations every delta_t steps between warm-up and the final phase,
// b(t) falling to p T_total, the final ranks within it (counted as the training counts them, and by
// the ledger), and the model left with low-rank ops at those ranks.
TEST(RankDyna, RunMeetsTheBudgetAndRecordsEveryReallocation) {
  auto model = tinyGpt2(7);
  const auto samples = randomSamples(16, 20, 8);
  const auto svds = lowrank::decomposeModel(*model, lowrank::Method::Svd, nullptr);
  const auto infos = model->ops().infos();
  const auto o = shortRun(60);
  std::vector<rankdyna::RankDynaLog> logs;
  const auto r = rankdyna::runRankDyna(*model, svds, samples, o, nullptr, nullptr, {},
                                       [&](const rankdyna::RankDynaLog& l) { logs.push_back(l); });
  // Due at t = 15, 20, ..., 50 (50 = T - t_f, the last one, at the final budget).
  ASSERT_EQ(logs.size(), 8u);
  EXPECT_EQ(r.reallocations, 8);
  EXPECT_EQ(logs.front().frame.step, 15);
  EXPECT_EQ(logs.back().frame.step, 50);
  double previous = 2.0;
  for (const auto& l : logs) {
    ASSERT_EQ(l.points[0].name, "budget");
    ASSERT_EQ(l.points[1].name, "kept");
    EXPECT_LE(l.points[0].value, previous + 1e-12);
    EXPECT_LE(l.points[1].value, l.points[0].value + 1e-12);  // the reallocation meets b(t)
    previous = l.points[0].value;
    ASSERT_EQ(l.frame.ranks.size(), infos.size());
  }
  EXPECT_NEAR(logs.back().points[0].value, 0.4, 1e-12);
  double cost = 0.0, total = 0.0, largestGroup = 0.0;
  for (size_t i = 0; i < infos.size(); ++i) {
    const double mn = static_cast<double>(infos[i].inFeatures * infos[i].outFeatures);
    cost += std::min(static_cast<double>(r.ranks[i] * (infos[i].inFeatures + infos[i].outFeatures)), mn);
    total += mn;
    largestGroup = std::max(largestGroup, static_cast<double>(infos[i].inFeatures + infos[i].outFeatures));
    EXPECT_EQ(r.ranks[i], logs.back().frame.ranks[i]);  // frozen after the last reallocation
    EXPECT_EQ(static_cast<int64_t>(r.kept[i].size()), r.ranks[i]);
  }
  EXPECT_LE(cost, 0.4 * total);
  // The budget is filled: less than one group's cost is left over (metric: kept fraction).
  EXPECT_GT(cost, 0.4 * total - largestGroup);
  EXPECT_LE(select::ledger(infos, r.ranks).keptFraction, 0.4);
  EXPECT_GT(select::ledger(infos, r.ranks).keptFraction, 0.4 - largestGroup / total);
  for (size_t i = 0; i < infos.size(); ++i)
    if (r.ranks[i] < select::fullRank(infos[i]) && select::isFactorized(infos[i], r.ranks[i])) {
      EXPECT_NE(std::dynamic_pointer_cast<models::LowRankLinear>(model->ops().entries()[i].slot->impl()),
                nullptr);
    }
  EXPECT_EQ(r.finetune.series.empty(), false);
  const auto ids = torch::tensor(samples[0].ids, torch::kLong).unsqueeze(0);
  EXPECT_TRUE(torch::isfinite(model->forward(ids)).all().item<bool>());
}

// Activation checkpointing: RankDyna's sensitivities are gradients of a non-leaf tensor inside each
// op, which the recomputation must produce too. The same reallocations and final ranks, and the same
// fine-tuning loss (metric: finetune_loss points; tolerance 1e-4 absolute).
TEST(RankDyna, ActivationCheckpointingGivesTheSameRun) {
  const auto samples = randomSamples(16, 20, 8);
  const auto o = shortRun(40);
  std::vector<rankdyna::RankDynaResult> results;
  std::vector<std::vector<rankdyna::RankDynaLog>> logs(2);
  for (int on = 0; on < 2; ++on) {
    auto model = tinyGpt2(7);
    const auto svds = lowrank::decomposeModel(*model, lowrank::Method::Svd, nullptr);
    model->setActivationCheckpointing(on == 1);
    results.push_back(rankdyna::runRankDyna(*model, svds, samples, o, nullptr, nullptr, {},
                                            [&](const rankdyna::RankDynaLog& l) { logs[on].push_back(l); }));
  }
  EXPECT_EQ(results[1].ranks, results[0].ranks);
  ASSERT_EQ(logs[1].size(), logs[0].size());
  for (size_t i = 0; i < logs[0].size(); ++i) EXPECT_EQ(logs[1][i].frame.ranks, logs[0][i].frame.ranks);
  const auto& a = results[0].finetune.series;
  const auto& b = results[1].finetune.series;
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name == "finetune_loss") {
      EXPECT_NEAR(b[i].value, a[i].value, 1e-4) << "step " << a[i].step;
    }
}

TEST(RankDyna, RefusesBadSchedulesAndRestoresTheModelWhenCancelled) {
  auto model = tinyGpt2(8);
  const auto samples = randomSamples(4, 12, 9);
  const auto svds = lowrank::decomposeModel(*model, lowrank::Method::Svd, nullptr);
  rankdyna::RankDynaOptions o;
  EXPECT_THROW(rankdyna::runRankDyna(*model, svds, samples, o), Error);  // no steps
  o.finetune.steps = 20;
  o.warmupSteps = 10;
  o.finalSteps = 10;
  EXPECT_THROW(rankdyna::runRankDyna(*model, svds, samples, o), Error);
  o.finalSteps = 2;
  const auto impl = model->ops().entries()[0].slot->impl();
  CancelToken cancel;
  cancel.cancel();
  EXPECT_THROW(rankdyna::runRankDyna(*model, svds, samples, o, nullptr, &cancel), Cancelled);
  EXPECT_EQ(model->ops().entries()[0].slot->impl(), impl);
}
