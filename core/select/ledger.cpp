#include "select/ledger.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace ranklab::select {

int64_t fullRank(const api::OpInfo& op) { return std::min(op.inFeatures, op.outFeatures); }

bool isFactorized(const api::OpInfo& op, int64_t k) {
  return k * (op.inFeatures + op.outFeatures) < op.params();
}

int64_t opCost(const api::OpInfo& op, int64_t k) {
  return isFactorized(op, k) ? k * (op.inFeatures + op.outFeatures) : op.params();
}

Ledger ledger(const std::vector<api::OpInfo>& ops, const std::vector<int64_t>& ranks) {
  if (ops.size() != ranks.size())
    throw Error("budget ledger: " + std::to_string(ranks.size()) + " ranks for " +
                std::to_string(ops.size()) + " ops");
  Ledger out;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ranks[i] < 0 || ranks[i] > fullRank(ops[i]))
      throw Error("budget ledger: rank " + std::to_string(ranks[i]) + " for op '" + ops[i].name +
                  "' is outside [0, " + std::to_string(fullRank(ops[i])) + "]");
    out.compressibleBefore += ops[i].params();
    out.compressibleAfter += opCost(ops[i], ranks[i]);
  }
  out.keptFraction = out.compressibleBefore > 0 ? static_cast<double>(out.compressibleAfter) /
                                                      static_cast<double>(out.compressibleBefore)
                                                : 1.0;
  return out;
}

namespace {
void checkFraction(double v, const char* what) {
  if (!(v >= 0.0 && v <= 1.0))
    throw Error(std::string(what) + " must lie in [0, 1], got " + std::to_string(v));
}
}  // namespace

double keptFromSvdLlmRatio(double removeRatio) {
  checkFraction(removeRatio, "SVD-LLM ratio");
  return 1.0 - removeRatio;
}

double keptFromParamRatioTarget(double target) {
  checkFraction(target, "param_ratio_target");
  return target;
}

std::vector<int64_t> uniformRanksAtRatio(const std::vector<api::OpInfo>& ops, double ratio) {
  checkFraction(ratio, "uniform rank ratio");
  std::vector<int64_t> out;
  for (const auto& op : ops)
    out.push_back(static_cast<int64_t>(std::floor(ratio * static_cast<double>(fullRank(op)))));
  return out;
}

std::vector<int64_t> uniformRanksAtBudget(const std::vector<api::OpInfo>& ops, double keep) {
  checkFraction(keep, "kept fraction p");
  std::vector<int64_t> out;
  for (const auto& op : ops) out.push_back(api::uniformRankAtBudget(op.inFeatures, op.outFeatures, keep));
  return out;
}

}  // namespace ranklab::select
