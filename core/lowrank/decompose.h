// Decompositions of compressible ops (ALGORITHMS.md section 1) and their application to a model.
//
// Every method returns, for W (M x N, in x out), the singular values `s` (descending) of the matrix
// it actually decomposed and factors with W ~ A_k B_k, A_k = a[:, :k] (M x k), B_k = b[:k, :] (k x N):
//  - svd:    W = U diag(s) V^T, a = U S, b = V^T.
//  - fwsvd:  D = diag(sqrt(I)), I_i = sum_j F_ij (Fisher row importance, OpStats::fisher); SVD(D W);
//            a = D^-1 U S.
//  - iwsvd:  as fwsvd with F = ((dL/dW) * W)^2 (OpStats::importance).
//  - asvd:   S_j = (mean |x_j|)^alpha; SVD(diag(S) W); a = diag(S)^-1 U S.
//  - whiten: C = X^T X, L = cholesky(C + delta I) (delta grows from 0 until C + delta I is positive
//            definite; the retries are reported; computed once per distinct X^T X, OpStats::whitener);
//            SVD(L^T W) = U S V^T; a = L^-T U S, computed as W V (the same matrix). Truncating s_i then costs
//            exactly s_i^2 of output error ||X W - X A_k B_k||_F^2 on the calibration data. When N <= M
//            no Cholesky is formed: V and S^2 are the eigenpairs of W^T C W (float64), the same triplets
//            at a lower cost; a singular W^T C W gets the shift W^T (C + delta I) W once.
// Weighted methods truncate optimally in their own norm (Eckart-Young on the weighted matrix).
// Tensors stay on W's device; factors come back in W's dtype (whitening's Cholesky runs in float64).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/progress.h"
#include "lowrank/calibration.h"
#include "models/language_model.h"

namespace ranklab::lowrank {

enum class Method { Svd, Fwsvd, Iwsvd, Asvd, Whiten };

// "svd" | "fwsvd" | "iwsvd" | "asvd" | "whiten"; throws ranklab::Error for anything else.
Method parseMethod(const std::string& name);
std::string methodName(Method method);
// What the calibration pass must collect for `method` (nothing for plain SVD).
CalibrationNeeds needsOf(Method method);

struct DecomposeOptions {
  double asvdAlpha = 0.5;
  double rowGuard = 1e-6;  // zero importance rows: I_i <- max(I_i, rowGuard * mean(I)), same for ASVD scales
  bool plainSpectrum = true;  // also compute W's own singular values for weighted methods (views)
  // > 0: only the top `maxRank` triplets are needed; a randomized truncated SVD (Halko et al.,
  // `oversample` extra columns, `powerIterations` subspace iterations) replaces the full one when
  // maxRank + oversample < min(M, N) / 2. The spectrum then holds maxRank values.
  int64_t maxRank = 0;
  int64_t oversample = 10;
  int64_t powerIterations = 2;
  uint64_t seed = 0;
};

struct OpDecomposition {
  at::Tensor a;              // [M, K]
  at::Tensor b;              // [K, N]
  at::Tensor s;              // [K] singular values of the decomposed (possibly weighted) matrix, descending
  at::Tensor plainS;         // [min(M, N)] singular values of W itself (undefined if not computed)
  at::Tensor bias;           // [N] or undefined
  double totalEnergy = 0.0;  // ||decomposed matrix||_F^2 = sum of all s_i^2, even when s is truncated
  int whitenRetries = 0;     // Cholesky retries with a growing delta (whitening)
  double whitenDelta = 0.0;  // the delta that worked
  // Fraction of the decomposed matrix's energy the top k triplets keep.
  double energyKept(int64_t k) const;
};

// Decomposes one op's weight `w` ([M, N], ALGORITHMS.md's in x out) with its calibration `stats`
// (ignored for plain SVD). Throws ranklab::Error when the statistics `method` needs are missing or
// have the wrong shape.
OpDecomposition decomposeWeight(const at::Tensor& w, const at::Tensor& bias, Method method,
                                const OpStats* stats, const DecomposeOptions& options = {});

// Randomized truncated SVD of a [M, N]: the top k triplets (U [M, k], s [k], Vh [k, N]).
std::tuple<at::Tensor, at::Tensor, at::Tensor> randomizedSvd(const at::Tensor& a, int64_t k,
                                                             int64_t oversample, int64_t powerIterations,
                                                             uint64_t seed);

// Decomposes every op of `model` (dense ops; their current weights). `calibration` may be null for
// plain SVD. Progress phase "decompose", one unit per op; cancellable between ops.
std::vector<OpDecomposition> decomposeModel(const models::LanguageModel& model, Method method,
                                            const Calibration* calibration,
                                            const DecomposeOptions& options = {},
                                            ProgressSink* progress = nullptr,
                                            const CancelToken* cancel = nullptr);

// On-disk cache of a whole model's decompositions, one safetensors file per key under `dir`:
// switching the budget or the selector reuses them instead of recomputing SVDs. The key must
// identify (model content, method, calibration data and options); see decompositionCacheKey.
// Per op i the file holds "i.a", "i.b", "i.s" (float32), "i.plain_s" when computed, and "i.stats"
// (float64: total energy, whitening retries, whitening delta), in op order.
std::string decompositionCacheKey(const std::string& modelHash, Method method,
                                  const std::string& calibrationHash, const DecomposeOptions& options);
// The decompositions, their tensors viewing the memory-mapped file (nothing is copied until a
// rank is applied). Empty when absent, unreadable or not matching the model's ops (a stale file is
// ignored, not an error). Biases come from the model.
std::vector<OpDecomposition> loadCachedDecompositions(const std::filesystem::path& dir,
                                                      const std::string& key,
                                                      const models::LanguageModel& model);

// Writes a cache file while the decompositions are computed, op by op in op order, without holding
// them: the layout follows from the model's ops, the method and the options (the shapes
// decomposeWeight produces). The file appears at commit(). Throws ranklab::Error naming the file.
class DecompositionCacheWriter {
 public:
  DecompositionCacheWriter(const std::filesystem::path& dir, const std::string& key,
                           const models::LanguageModel& model, Method method,
                           const DecomposeOptions& options);
  ~DecompositionCacheWriter();
  void write(const OpDecomposition& decomposition);
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};
// $XDG_CACHE_HOME/ranklab/decompositions (~/.cache/ranklab/decompositions).
std::filesystem::path defaultCacheDir();

// Replaces every op of `model` whose rank is below its full rank by a LowRankLinear at that rank
// (top-k triplets), or by a dense rank-k product when the dense-if-cheaper rule says so; ops at
// full rank stay as they are. The factors take the dtype of the weight they replace. `ranks`
// follows model.ops() order. Throws ranklab::Error on a length or range mismatch, or when a rank
// exceeds what a decomposition holds.
void applyRanks(models::LanguageModel& model, const std::vector<OpDecomposition>& decompositions,
                const std::vector<int64_t>& ranks);
// The same for the one op `op` (a model.ops() index).
void applyRank(models::LanguageModel& model, size_t op, const OpDecomposition& decomposition, int64_t rank);

}  // namespace ranklab::lowrank
