// Rank selectors (ALGORITHMS.md sections 0 and 4): hand-computed cases for each rule, and budget
// properties checked on the real stories260K op shapes and a GPT-2-like shape set with seeded
// random spectra and sensitivity tables. Budgets and ranks are integers, so most checks are exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "select/ledger.h"
#include "select/selectors.h"

using namespace ranklab;

namespace {

api::OpInfo op(const std::string& name, int64_t m, int64_t n, int layer = 0, const std::string& kind = "q") {
  return api::OpInfo{name, layer, kind, m, n, false};
}

struct Shape {
  const char* group;
  const char* kind;
  int64_t m, n;
};

std::vector<api::OpInfo> opsOf(int layers, const std::vector<Shape>& block) {
  std::vector<api::OpInfo> ops;
  for (int l = 0; l < layers; ++l)
    for (const auto& s : block)
      ops.push_back(op("layers." + std::to_string(l) + "." + s.group + "." + s.kind, s.m, s.n, l, s.kind));
  return ops;
}

// stories260K (PLATFORM-NOTES): 5 layers of q 64x64, k 64x32, v 64x32, o 64x64, gate/up 64x172, down 172x64.
std::vector<api::OpInfo> storiesOps() {
  return opsOf(5, {{"attn", "q", 64, 64},
                   {"attn", "k", 64, 32},
                   {"attn", "v", 64, 32},
                   {"attn", "o", 64, 64},
                   {"mlp", "gate", 64, 172},
                   {"mlp", "up", 64, 172},
                   {"mlp", "down", 172, 64}});
}

// GPT-2 small's block: q, k, v, o 768x768, up 768x3072, down 3072x768.
std::vector<api::OpInfo> gpt2Ops() {
  return opsOf(12, {{"attn", "q", 768, 768},
                    {"attn", "k", 768, 768},
                    {"attn", "v", 768, 768},
                    {"attn", "o", 768, 768},
                    {"mlp", "up", 768, 3072},
                    {"mlp", "down", 3072, 768}});
}

int64_t totalOf(const std::vector<api::OpInfo>& ops) {
  int64_t t = 0;
  for (const auto& o : ops) t += o.params();
  return t;
}

// Full spectra decaying at a random rate per op, with jitter, sorted descending.
std::vector<select::Spectrum> randomSpectra(const std::vector<api::OpInfo>& ops, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> decay(1.0, 10.0), jitter(0.5, 1.5);
  std::vector<select::Spectrum> out;
  for (const auto& o : ops) {
    const int64_t full = select::fullRank(o);
    const double d = decay(rng);
    select::Spectrum s;
    for (int64_t i = 0; i < full; ++i)
      s.values.push_back(std::exp(-d * static_cast<double>(i) / static_cast<double>(full)) * jitter(rng));
    std::sort(s.values.rbegin(), s.values.rend());
    for (double v : s.values) s.totalEnergy += v * v;
    out.push_back(std::move(s));
  }
  return out;
}

// An ASVD-style table: perplexity falls as the kept ratio rises, at a random sensitivity per op.
select::SensitivityTable randomTable(const std::vector<api::OpInfo>& ops, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> scale(0.01, 50.0);
  select::SensitivityTable t;
  for (int i = 1; i <= 9; ++i) t.ratios.push_back(0.1 * i);
  for (size_t i = 0; i < ops.size(); ++i) {
    const double a = scale(rng);
    std::vector<double> row;
    for (double r : t.ratios) row.push_back(10.0 + a * (1.0 / r - 1.0) * (1.0 / r - 1.0));
    t.perplexity.push_back(row);
  }
  return t;
}

// The two budget guarantees every budgeted selector makes:
//  - it never exceeds keep * T_total (ledger with the dense-if-cheaper rule);
//  - it lands within one rank step of it: no op below full rank could take its next rank
//    (cost opCost(k+1) - opCost(k), which is M + N or the smaller jump into the dense regime)
//    without exceeding the budget, hence also T_target - T(k) < max over ops of (M + N).
void expectFillsBudget(const std::vector<api::OpInfo>& ops, const std::vector<int64_t>& ranks, double keep,
                       const std::string& what) {
  SCOPED_TRACE(what + ", p = " + std::to_string(keep));
  ASSERT_EQ(ranks.size(), ops.size());
  const auto l = select::ledger(ops, ranks);  // also throws for a rank outside [0, full]
  const double target = keep * static_cast<double>(totalOf(ops));
  const double slack = target - static_cast<double>(l.compressibleAfter);
  // Metric: parameters; tolerance 1e-6 only absorbs the rounding of keep * T_total.
  EXPECT_GE(slack, -1e-6) << "over budget: " << l.compressibleAfter << " > " << target;
  int64_t maxStep = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    maxStep = std::max(maxStep, ops[i].inFeatures + ops[i].outFeatures);
    if (ranks[i] >= select::fullRank(ops[i])) continue;
    const int64_t step = select::opCost(ops[i], ranks[i] + 1) - select::opCost(ops[i], ranks[i]);
    EXPECT_LT(slack, static_cast<double>(step))
        << ops[i].name << " at rank " << ranks[i] << " could still take a rank costing " << step;
  }
  EXPECT_LT(slack, static_cast<double>(maxStep));
}

const std::vector<double> kKeeps = {0.2, 0.3, 0.5, 0.7, 0.9};

// --- energyRanks ---------------------------------------------------------------------------

TEST(EnergyRanks, SmallestRankReachingTheThreshold) {
  // s = 3, 2, 1, 1: energies 9, 4, 1, 1 of 15; cumulative 9 (60%), 13 (86.7%), 14 (93.3%), 15.
  const std::vector<api::OpInfo> ops = {op("a", 4, 4)};
  const std::vector<select::Spectrum> s = {{{3, 2, 1, 1}, 15.0}};
  EXPECT_EQ(select::energyRanks(ops, s, 0.5), (std::vector<int64_t>{1}));
  EXPECT_EQ(select::energyRanks(ops, s, 0.6), (std::vector<int64_t>{1}));  // exactly reached counts
  EXPECT_EQ(select::energyRanks(ops, s, 0.61), (std::vector<int64_t>{2}));
  EXPECT_EQ(select::energyRanks(ops, s, 0.9), (std::vector<int64_t>{3}));
  EXPECT_EQ(select::energyRanks(ops, s, 0.94), (std::vector<int64_t>{4}));
  EXPECT_EQ(select::energyRanks(ops, s, 0.0), (std::vector<int64_t>{0}));
  EXPECT_EQ(select::energyRanks(ops, s, 1.0), (std::vector<int64_t>{4}));  // every value carries energy
}

TEST(EnergyRanks, EachOpUsesItsOwnSpectrum) {
  // a: 4, 3 (16 + 9 = 25); b: 1, 1, 1, 1 (flat). At 60%: a needs 1 (64%), b needs 3 (75%; 2 is 50%).
  const std::vector<api::OpInfo> ops = {op("a", 2, 8), op("b", 4, 6)};
  const std::vector<select::Spectrum> s = {{{4, 3}, 25.0}, {{1, 1, 1, 1}, 4.0}};
  EXPECT_EQ(select::energyRanks(ops, s, 0.6), (std::vector<int64_t>{1, 3}));
}

TEST(EnergyRanks, TruncatedSpectrumThatNeverReachesTheThresholdMeansFullRank) {
  // Only the top two of a 64-rank op are known: 9 + 4 = 13 of a total energy of 20.
  const std::vector<api::OpInfo> ops = {op("q", 64, 64)};
  const std::vector<select::Spectrum> s = {{{3, 2}, 20.0}};
  EXPECT_EQ(select::energyRanks(ops, s, 0.45), (std::vector<int64_t>{1}));  // 9/20 reached
  EXPECT_EQ(select::energyRanks(ops, s, 0.65), (std::vector<int64_t>{2}));  // 13/20 reached
  EXPECT_EQ(select::energyRanks(ops, s, 0.66), (std::vector<int64_t>{64}));
  EXPECT_EQ(select::energyRanks(ops, s, 1.0), (std::vector<int64_t>{64}));
}

TEST(EnergyRanks, MissingTotalEnergyIsTheSumOfTheValues) {
  const std::vector<api::OpInfo> ops = {op("a", 4, 4)};
  const std::vector<select::Spectrum> s = {{{3, 2, 1, 1}, 0.0}};  // total taken as 15
  EXPECT_EQ(select::energyRanks(ops, s, 0.61), (std::vector<int64_t>{2}));
}

TEST(EnergyRanks, RejectsBadInput) {
  const std::vector<api::OpInfo> ops = {op("a", 4, 4), op("b", 4, 4)};
  const std::vector<select::Spectrum> one = {{{1, 1}, 2.0}};
  EXPECT_THROW(select::energyRanks(ops, one, 0.5), Error);
  const std::vector<select::Spectrum> two = {{{1}, 1.0}, {{1}, 1.0}};
  EXPECT_THROW(select::energyRanks(ops, two, 1.5), Error);
  EXPECT_THROW(select::energyRanks(ops, two, -0.1), Error);
  EXPECT_THROW(select::energyRanks(ops, two, std::nan("")), Error);
}

// --- energyRanksAtBudget ---------------------------------------------------------------------

TEST(EnergyRanksAtBudget, FitsAndFillsTheBudgetOnStoriesShapes) {
  const auto ops = storiesOps();
  ASSERT_EQ(totalOf(ops), 226560);  // ranklab-cli info's compressible_params for stories260K
  for (unsigned seed : {1u, 2u, 3u}) {
    const auto spectra = randomSpectra(ops, seed);
    for (double keep : kKeeps)
      expectFillsBudget(ops, select::energyRanksAtBudget(ops, spectra, keep), keep,
                        "energy at budget, seed " + std::to_string(seed));
  }
}

TEST(EnergyRanksAtBudget, FitsAndFillsTheBudgetOnGpt2Shapes) {
  const auto ops = gpt2Ops();
  const auto spectra = randomSpectra(ops, 7);
  for (double keep : kKeeps)
    expectFillsBudget(ops, select::energyRanksAtBudget(ops, spectra, keep), keep, "energy, GPT-2");
}

TEST(EnergyRanksAtBudget, ThresholdIsTheLargestThatFitsAndTheFillOnlyAdds) {
  const auto ops = storiesOps();
  const auto spectra = randomSpectra(ops, 11);
  for (double keep : kKeeps) {
    SCOPED_TRACE("p = " + std::to_string(keep));
    double threshold = -1.0;
    const auto ranks = select::energyRanksAtBudget(ops, spectra, keep, &threshold);
    ASSERT_GT(threshold, 0.0);
    ASSERT_LT(threshold, 1.0);
    const double budget = keep * static_cast<double>(totalOf(ops));
    const auto atThreshold = select::energyRanks(ops, spectra, threshold);
    EXPECT_LE(select::ledger(ops, atThreshold).compressibleAfter, budget);
    // Bisection narrows to adjacent doubles; a slightly larger threshold must no longer fit.
    EXPECT_GT(select::ledger(ops, select::energyRanks(ops, spectra, threshold + 1e-9)).compressibleAfter,
              budget);
    for (size_t i = 0; i < ops.size(); ++i) EXPECT_GE(ranks[i], atThreshold[i]) << ops[i].name;
  }
}

TEST(EnergyRanksAtBudget, ThresholdAndItsRanksRiseWithTheBudget) {
  const auto ops = storiesOps();
  for (unsigned seed : {4u, 5u}) {
    const auto spectra = randomSpectra(ops, seed);
    double previousThreshold = 0.0;
    std::vector<int64_t> previous(ops.size(), 0);
    for (int percent = 5; percent <= 100; percent += 5) {
      const double keep = percent / 100.0;
      SCOPED_TRACE("p = " + std::to_string(keep) + ", seed " + std::to_string(seed));
      double threshold = 0.0;
      select::energyRanksAtBudget(ops, spectra, keep, &threshold);
      EXPECT_GE(threshold, previousThreshold);
      const auto atThreshold = select::energyRanks(ops, spectra, threshold);
      for (size_t i = 0; i < ops.size(); ++i) EXPECT_GE(atThreshold[i], previous[i]) << ops[i].name;
      previousThreshold = threshold;
      previous = atThreshold;
    }
  }
}

// The threshold's ranks rise with p (above); the leftover fill is a knapsack fill, so a larger
// budget may move one rank step away from an op the smaller budget's fill had given it (selectors.h). Hand
// example: a 8x8 and b 8x24 with flat spectra: p = 47/256 gives {2, 0} (the fill buys two of a's 16-parameter
// ranks), p = 48/256 gives {1, 1} (threshold 0.125 fits exactly).
TEST(EnergyRanksAtBudget, LargerBudgetLowersNoRankByMoreThanOneStep) {
  // T_total = 64 + 192 = 256, so p = B / 256 is a budget of exactly B parameters.
  const std::vector<api::OpInfo> small = {op("a", 8, 8), op("b", 8, 24, 0, "up")};
  const std::vector<select::Spectrum> flat = {{std::vector<double>(8, 1.0), 8.0},
                                              {std::vector<double>(8, 1.0), 8.0}};
  EXPECT_EQ(select::energyRanksAtBudget(small, flat, 47 / 256.0), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(select::energyRanksAtBudget(small, flat, 48 / 256.0), (std::vector<int64_t>{1, 1}));
  // (On such toy shapes an op the fill pushed into the dense regime takes its remaining ranks for
  // free, so drops can be larger; on real shapes the bound below holds.)
  std::vector<int64_t> previous;
  const auto ops = storiesOps();
  for (unsigned seed : {1u, 2u, 3u, 4u, 5u}) {
    const auto spectra = randomSpectra(ops, seed);
    previous.assign(ops.size(), 0);
    for (int percent = 5; percent <= 100; percent += 5) {
      const auto ranks = select::energyRanksAtBudget(ops, spectra, percent / 100.0);
      for (size_t i = 0; i < ops.size(); ++i)
        EXPECT_GE(ranks[i], previous[i] - 1) << ops[i].name << " at p = " << percent << "%, seed " << seed;
      previous = ranks;
    }
  }
}

TEST(EnergyRanksAtBudget, EndpointsAndErrors) {
  const auto ops = storiesOps();
  const auto spectra = randomSpectra(ops, 3);
  std::vector<int64_t> full;
  for (const auto& o : ops) full.push_back(select::fullRank(o));
  double threshold = 0.0;
  EXPECT_EQ(select::energyRanksAtBudget(ops, spectra, 1.0, &threshold), full);
  EXPECT_DOUBLE_EQ(threshold, 1.0);
  EXPECT_EQ(select::energyRanksAtBudget(ops, spectra, 0.0), std::vector<int64_t>(ops.size(), 0));
  EXPECT_THROW(select::energyRanksAtBudget(ops, spectra, 1.5), Error);
  EXPECT_THROW(select::energyRanksAtBudget(ops, spectra, -0.5), Error);
  EXPECT_THROW(select::energyRanksAtBudget(ops, {spectra.begin(), spectra.end() - 1}, 0.5), Error);
}

// --- fillBudget --------------------------------------------------------------------------------

TEST(FillBudget, FitsAndFillsTheBudgetOnStoriesAndGpt2Shapes) {
  for (const auto& ops : {storiesOps(), gpt2Ops()}) {
    std::mt19937 rng(17);
    std::uniform_real_distribution<double> weight(0.1, 10.0);
    std::vector<double> w;
    for (size_t i = 0; i < ops.size(); ++i) w.push_back(weight(rng));
    for (double keep : kKeeps) {
      const auto ranks =
          select::fillBudget(ops, std::vector<int64_t>(ops.size(), 0), keep,
                             [&](size_t i, int64_t k) { return w[i] / static_cast<double>(k + 1); });
      expectFillsBudget(ops, ranks, keep, "fillBudget on " + std::to_string(ops.size()) + " ops");
    }
  }
}

TEST(FillBudget, CrossingIntoTheDenseRegimeIsChargedMN) {
  // a is 3x5: rank 1 costs 8; rank 2 would be 16 factorized but stays dense at 15, so the step
  // costs 7; rank 3 is free. b is 4x4: 8 per rank until dense at rank 2 (16). T_total = 31.
  // a's gain is higher, so with a budget of 23: a 0->1 (8), 1->2 (7, total 15), 2->3 (0),
  // b 0->1 (8, total 23), b 1->2 (8) no longer fits. Charging k (M + N) would stop a at rank 1.
  const std::vector<api::OpInfo> ops = {op("a", 3, 5), op("b", 4, 4)};
  const auto ranks =
      select::fillBudget(ops, {0, 0}, 23.0 / 31.0, [](size_t i, int64_t) { return i == 0 ? 10.0 : 1.0; });
  EXPECT_EQ(ranks, (std::vector<int64_t>{3, 1}));
  const auto l = select::ledger(ops, ranks);
  EXPECT_EQ(l.compressibleBefore, 31);
  EXPECT_EQ(l.compressibleAfter, 15 + 8);
}

TEST(FillBudget, NonPositiveGainsAreNeverTakenAndStartingRanksAreKept) {
  const std::vector<api::OpInfo> ops = {op("a", 64, 64), op("b", 64, 64)};
  // With the whole budget (8192) there is room for both, so only the gain holds an op back.
  auto ranks = select::fillBudget(ops, {0, 0}, 1.0, [](size_t i, int64_t) { return i == 0 ? 1.0 : 0.0; });
  EXPECT_EQ(ranks, (std::vector<int64_t>{64, 0}));
  ranks = select::fillBudget(ops, {3, 5}, 1.0, [](size_t i, int64_t) { return i == 0 ? -1.0 : 1.0; });
  EXPECT_EQ(ranks, (std::vector<int64_t>{3, 64}));
  // At p = 0.5 (4096) a 64x64 op reaches rank 32 = 4096, goes dense, then rises to full for free.
  ranks = select::fillBudget(ops, {0, 0}, 0.5, [](size_t i, int64_t) { return i == 0 ? 1.0 : 0.5; });
  EXPECT_EQ(ranks, (std::vector<int64_t>{64, 0}));
  EXPECT_THROW(select::fillBudget(ops, {0, 0}, 1.01, [](size_t, int64_t) { return 1.0; }), Error);
}

// --- manualRanks -------------------------------------------------------------------------------

TEST(ManualRanks, ExactNameBeatsPatternsAndTheLongestPatternWins) {
  const auto ops = storiesOps();
  auto index = [&](const std::string& name) {
    for (size_t i = 0; i < ops.size(); ++i)
      if (ops[i].name == name) return i;
    ADD_FAILURE() << "no op " << name;
    return size_t{0};
  };
  // Map order is "*.attn.q" (8 chars), "layers*" (7), "layers.0.attn.q", "layers.1.*" (10): the
  // longest pattern must win whether it comes before or after the shorter one.
  const std::map<std::string, double> spec = {
      {"layers.0.attn.q", 5}, {"*.attn.q", 7}, {"layers.1.*", 10}, {"layers*", 3}};
  const auto ranks = select::manualRanks(ops, spec);
  EXPECT_EQ(ranks[index("layers.0.attn.q")], 5);   // exact name over every pattern
  EXPECT_EQ(ranks[index("layers.1.attn.q")], 10);  // "layers.1.*" (later) over "*.attn.q"
  EXPECT_EQ(ranks[index("layers.2.attn.q")], 7);   // "*.attn.q" over "layers*" (later)
  EXPECT_EQ(ranks[index("layers.1.attn.v")], 10);
  EXPECT_EQ(ranks[index("layers.3.attn.k")], 3);  // only "layers*"
  EXPECT_EQ(ranks[index("layers.4.mlp.down")], 3);
}

TEST(ManualRanks, FractionsAreOfEachOpsFullRankFloored) {
  const auto ops = storiesOps();
  const auto ranks =
      select::manualRanks(ops, {{"layers.0.*", 0.5}, {"layers.1.attn.k", 0.3}, {"layers.2.attn.q", 1}});
  for (size_t i = 0; i < 7; ++i)  // layer 0: q, k, v, o, gate, up, down
    EXPECT_EQ(ranks[i], select::fullRank(ops[i]) / 2) << ops[i].name;
  EXPECT_EQ(ranks[8], 9);    // layers.1.attn.k: floor(0.3 * 32) = 9
  EXPECT_EQ(ranks[14], 1);   // 1 is a count of one, not 100%
  EXPECT_EQ(ranks[22], 32);  // layers.3.attn.k, matched by nothing: full rank
  EXPECT_EQ(ranks[33], 64);  // layers.4.mlp.up
}

TEST(ManualRanks, RejectsRanksAboveFullNegativeAndEntriesMatchingNothing) {
  const auto ops = storiesOps();
  EXPECT_NO_THROW(select::manualRanks(ops, {{"layers.0.attn.k", 32}}));
  EXPECT_THROW(select::manualRanks(ops, {{"layers.0.attn.k", 33}}), Error);
  EXPECT_THROW(select::manualRanks(ops, {{"*.mlp.*", 65}}), Error);
  EXPECT_THROW(select::manualRanks(ops, {{"layers.0.attn.q", -1}}), Error);
  EXPECT_THROW(select::manualRanks(ops, {{"*.attn.q", -0.5}}), Error);
  EXPECT_THROW(select::manualRanks(ops, {{"layers.0.attn.qq", 4}}), Error);  // a typo
  EXPECT_THROW(select::manualRanks(ops, {{"layers.9.*", 4}}), Error);        // stories has 5 layers
  EXPECT_THROW(select::manualRanks(ops, {{"layers.0.attn.q", 4}, {"*.attention.*", 4}}), Error);
}

// --- sensitivityRanks --------------------------------------------------------------------------

TEST(SensitivityRanks, TheInsensitiveOpIsCutHarder) {
  // Two 64x64 ops; ratios 0.1, 0.25, 0.5, 0.75 give ranks 6, 16, 32, 48. Budget p = 0.5: 4096.
  // Sorted table values 10.1 .. 900; the first threshold that fits is 300: sensitive -> 0.25 (16,
  // 2048), insensitive -> 0.1 (6, 768), 2816 in all. The leftover 1280 goes 128 at a time to the
  // op whose truncation hurts most (the sensitive one, 300 / 40 vs 10.4): 16 + 10 = 26.
  const std::vector<api::OpInfo> ops = {op("sensitive", 64, 64), op("insensitive", 64, 64)};
  select::SensitivityTable t;
  t.ratios = {0.1, 0.25, 0.5, 0.75};
  t.perplexity = {{900, 300, 40, 12}, {10.4, 10.3, 10.2, 10.1}};
  double threshold = 0.0;
  EXPECT_EQ(select::sensitivityRanks(ops, t, 0.5, &threshold), (std::vector<int64_t>{26, 6}));
  EXPECT_DOUBLE_EQ(threshold, 300.0);
  std::swap(t.perplexity[0], t.perplexity[1]);
  EXPECT_EQ(select::sensitivityRanks(ops, t, 0.5), (std::vector<int64_t>{6, 26}));
}

TEST(SensitivityRanks, FitsAndFillsTheBudgetOnStoriesAndGpt2Shapes) {
  for (unsigned seed : {1u, 2u}) {
    const auto ops = storiesOps();
    const auto table = randomTable(ops, seed);
    for (double keep : kKeeps)
      expectFillsBudget(ops, select::sensitivityRanks(ops, table, keep), keep,
                        "sensitivity, stories, seed " + std::to_string(seed));
  }
  const auto ops = gpt2Ops();
  const auto table = randomTable(ops, 3);
  for (double keep : kKeeps)
    expectFillsBudget(ops, select::sensitivityRanks(ops, table, keep), keep, "sensitivity, GPT-2");
}

TEST(SensitivityRanks, BudgetBelowEverySmallestRatioStillFits) {
  // Both ops at their smallest ratio 0.5 are rank 32 = dense: 8192 > the budget 819 (p = 0.1).
  const std::vector<api::OpInfo> ops = {op("a", 64, 64), op("b", 64, 64)};
  select::SensitivityTable t;
  t.ratios = {0.5, 0.75};
  t.perplexity = {{20, 15}, {30, 25}};
  double threshold = 0.0;
  const auto ranks = select::sensitivityRanks(ops, t, 0.1, &threshold);
  EXPECT_TRUE(std::isinf(threshold));
  expectFillsBudget(ops, ranks, 0.1, "below the smallest ratios");
  EXPECT_EQ(ranks[0] + ranks[1], 6);  // floor(819 / 128)
}

TEST(SensitivityRanks, MalformedTablesThrow) {
  const std::vector<api::OpInfo> ops = {op("a", 64, 64), op("b", 64, 64)};
  select::SensitivityTable good;
  good.ratios = {0.25, 0.5};
  good.perplexity = {{20, 15}, {30, 25}};
  EXPECT_NO_THROW(select::sensitivityRanks(ops, good, 0.5));

  auto t = good;
  t.perplexity.pop_back();  // one row for two ops
  EXPECT_THROW(select::sensitivityRanks(ops, t, 0.5), Error);
  t = good;
  t.ratios = {0.5, 0.25};  // descending
  EXPECT_THROW(select::sensitivityRanks(ops, t, 0.5), Error);
  t.ratios = {0.5, 0.5};  // not strictly ascending
  EXPECT_THROW(select::sensitivityRanks(ops, t, 0.5), Error);
  for (const auto& ratios :
       std::vector<std::vector<double>>{{0.0, 0.5}, {0.5, 1.0}, {-0.1, 0.5}, {0.5, 1.5}}) {
    t.ratios = ratios;
    EXPECT_THROW(select::sensitivityRanks(ops, t, 0.5), Error) << ratios[0] << ", " << ratios[1];
  }
  t = good;
  t.perplexity[1].push_back(10);  // a row longer than the ratios
  EXPECT_THROW(select::sensitivityRanks(ops, t, 0.5), Error);
  EXPECT_THROW(select::sensitivityRanks(ops, good, 1.5), Error);
}

}  // namespace
