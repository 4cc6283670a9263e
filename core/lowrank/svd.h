// Plain SVD decomposition of a compressible op and its truncation (ALGORITHMS.md section 1.1).
// W (M x N, in x out) = U diag(s) V^T; rank-k factors A_k = (U S)[:, :k] (M x k), B_k = V^T[:k, :]
// (k x N). Weighted decompositions (FWSVD, IWSVD, ASVD, whitening) come with the calibration pass.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "models/language_model.h"

namespace ranklab::lowrank {

struct OpDecomposition {
  at::Tensor a;     // (U S), [M, K], K = min(M, N)
  at::Tensor b;     // V^T,   [K, N]
  at::Tensor s;     // singular values, descending, [K]
  at::Tensor bias;  // [N] or undefined
};

// SVD of the op's current dense weight, computed in float32 on the op's device.
OpDecomposition svdOf(const models::LinearOp& op);

// Replaces every op of `model` whose rank is below its full rank by LowRankLinear at that rank,
// or keeps it dense when the dense-if-cheaper rule says so (a dense op at full rank stays as it is).
// `ranks` follows model.ops() order. Throws ranklab::Error on a length or range mismatch.
void applyRanks(models::LanguageModel& model, const std::vector<OpDecomposition>& decompositions,
                const std::vector<int64_t>& ranks);

}  // namespace ranklab::lowrank
