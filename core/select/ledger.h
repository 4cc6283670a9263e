// The one budget ledger (ALGORITHMS.md section 0). Torch-free.
//
// For compressible ops with W of shape M x N, a rank-k factorization stores k (M + N) numbers.
// T_total = sum M N; T(k) = sum cost(k_l); p = T(k) / T_total is THE budget knob ("keep 40%" is
// p = 0.40). An op whose k satisfies k (M + N) >= M N stays dense and costs M N (dense-if-cheaper).
#pragma once

#include <cstdint>
#include <vector>

#include "api/types.h"

namespace ranklab::select {

// Parameters op `op` costs at rank k under the dense-if-cheaper rule.
int64_t opCost(const api::OpInfo& op, int64_t k);
// True when rank k is stored factorized (k (M + N) < M N).
bool isFactorized(const api::OpInfo& op, int64_t k);
// min(M, N): the full rank of the op.
int64_t fullRank(const api::OpInfo& op);

struct Ledger {
  int64_t compressibleBefore = 0;  // T_total
  int64_t compressibleAfter = 0;   // T(k) with the dense-if-cheaper rule
  double keptFraction = 1.0;       // p = after / before
  double removedFraction() const { return 1.0 - keptFraction; }
};

// Throws ranklab::Error when ranks and ops differ in length or a rank is outside [0, min(M, N)].
Ledger ledger(const std::vector<api::OpInfo>& ops, const std::vector<int64_t>& ranks);

// Converters from other tools' conventions to p (the kept fraction of compressible parameters).
// SVD-LLM's --ratio r removes r: p = 1 - r. ASVD / ARS / Palu param_ratio_target keeps: p = target.
double keptFromSvdLlmRatio(double removeRatio);
double keptFromParamRatioTarget(double target);

// Uniform baselines: at ratio r, k = floor(r * min(M, N)); at budget p, k = floor(p M N / (M + N)).
// Throw ranklab::Error for r or p outside [0, 1].
std::vector<int64_t> uniformRanksAtRatio(const std::vector<api::OpInfo>& ops, double ratio);
std::vector<int64_t> uniformRanksAtBudget(const std::vector<api::OpInfo>& ops, double keep);

}  // namespace ranklab::select
