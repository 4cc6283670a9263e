// The budget ledger and the uniform baselines (ALGORITHMS.md section 0), exact integer arithmetic.
#include <gtest/gtest.h>

#include "common/error.h"
#include "select/ledger.h"

using namespace ranklab;

namespace {

api::OpInfo op(const char* name, int64_t m, int64_t n) { return api::OpInfo{name, 0, "q", m, n, false}; }

TEST(Ledger, DenseIfCheaperRule) {
  const auto q = op("q", 64, 64);  // factorized while k * 128 < 4096, i.e. k < 32
  EXPECT_TRUE(select::isFactorized(q, 31));
  EXPECT_FALSE(select::isFactorized(q, 32));
  EXPECT_EQ(select::opCost(q, 10), 10 * 128);
  EXPECT_EQ(select::opCost(q, 40), 64 * 64);  // stays dense: counted as M N
  EXPECT_EQ(select::fullRank(op("up", 64, 172)), 64);
}

TEST(Ledger, KeptFractionOverCompressibleOps) {
  const std::vector<api::OpInfo> ops = {op("a", 64, 64), op("b", 64, 172)};
  const auto l = select::ledger(ops, {16, 64});
  EXPECT_EQ(l.compressibleBefore, 64 * 64 + 64 * 172);
  EXPECT_EQ(l.compressibleAfter, 16 * 128 + 64 * 172);  // b at full rank stays dense
  EXPECT_DOUBLE_EQ(l.keptFraction, static_cast<double>(16 * 128 + 64 * 172) / (64 * 64 + 64 * 172));
  EXPECT_DOUBLE_EQ(l.removedFraction(), 1.0 - l.keptFraction);
  EXPECT_THROW(select::ledger(ops, {16}), Error);
  EXPECT_THROW(select::ledger(ops, {65, 1}), Error);
}

TEST(Ledger, UniformBaselinesFollowTheirFormulas) {
  const std::vector<api::OpInfo> ops = {op("q", 64, 64), op("k", 64, 32), op("up", 64, 172),
                                        op("down", 172, 64)};
  EXPECT_EQ(select::uniformRanksAtRatio(ops, 0.5), (std::vector<int64_t>{32, 16, 32, 32}));
  // floor(p M N / (M + N)) at p = 0.5: 4096/128/2 = 16, 2048/96/2 = 10.67, 11008/236/2 = 23.3.
  const auto ranks = select::uniformRanksAtBudget(ops, 0.5);
  EXPECT_EQ(ranks, (std::vector<int64_t>{16, 10, 23, 23}));
  const auto l = select::ledger(ops, ranks);
  EXPECT_LE(l.keptFraction, 0.5);  // flooring never exceeds the budget
  EXPECT_GT(l.keptFraction, 0.45);
  EXPECT_THROW(select::uniformRanksAtBudget(ops, 1.5), Error);
}

TEST(Ledger, ConvertsOtherToolsConventions) {
  EXPECT_DOUBLE_EQ(select::keptFromSvdLlmRatio(0.2), 0.8);  // SVD-LLM --ratio removes
  EXPECT_DOUBLE_EQ(select::keptFromParamRatioTarget(0.4), 0.4);
  EXPECT_THROW(select::keptFromSvdLlmRatio(-0.1), Error);
}

}  // namespace
