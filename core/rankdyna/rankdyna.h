// RankDyna (ALGORITHMS.md section 3), RankLab's reading of the method: the paper's full text is not
// at hand, so what the section assumes is what this implements.
//
// Every compressible op is re-parametrised by its SVD, W = U diag(s) V^T (U [M, K], V [N, K], all
// trainable); a triplet (u_i, s_i, v_i) is a singular group. A group's importance is the mean over its
// entries of |theta * grad theta|, smoothed I_bar <- b1 I_bar + (1 - b1) I, with uncertainty
// U_bar <- b2 U_bar + (1 - b2) |I - I_bar|; its score is I_bar * U_bar. The budget follows b(t): full
// rank during warm-up, a cubic decrease, then the final budget for the last steps. Every delta_t steps
// groups are ranked globally by score, which is already per parameter (the sensitivity is averaged
// over the group's 1 + M_l + N_l entries), and the lowest are masked until the ranks fit b(t); a
// masked group keeps a score (through the gradient of its effective singular value) and comes back
// when it rises.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "api/run.h"
#include "api/types.h"
#include "common/progress.h"
#include "lowrank/calibration.h"
#include "lowrank/decompose.h"
#include "models/language_model.h"
#include "models/linear_op.h"
#include "train/finetune.h"

namespace ranklab::rankdyna {

// b(t) in parameters: b0 for t < warmup; bT + (b0 - bT) (1 - (t - warmup) / (total - warmup - final))^3
// while decreasing; bT for t >= total - final. Throws ranklab::Error when warmup + final >= total
// or the budgets are not 0 <= bT <= b0.
struct BudgetSchedule {
  int64_t totalSteps = 0, warmupSteps = 0, finalSteps = 0;
  double initialBudget = 0.0, finalBudget = 0.0;
  double at(int64_t step) const;
  void validate() const;
};

// y = ((x U) * (s * mask)) V^T + b, W = U diag(s) V^T in ALGORITHMS.md's in x out convention.
// U [M, K], s [K], V [N, K] are trainable parameters; mask [K] (0/1, a buffer) switches groups off:
// a masked group contributes nothing and its U, V, s receive no gradient. The gradient of the
// effective singular values s * mask is kept (effectiveGrad) so a masked group still has a score.
class SvdLinear : public models::LinearOp {
 public:
  // u [M, K], s [K], v [N, K] (a plain SVD's factors: U, the singular values, V), bias [N] or
  // undefined; all groups active. Throws ranklab::Error on shapes that do not chain.
  SvdLinear(const at::Tensor& u, const at::Tensor& s, const at::Tensor& v, const at::Tensor& bias);

  at::Tensor forward(const at::Tensor& x) override;
  int64_t inFeatures() const override { return m_u.size(0); }
  int64_t outFeatures() const override { return m_v.size(0); }
  int64_t rank() const { return m_s.size(0); }
  int64_t activeRank() const;
  int64_t parameterCount() const override;
  at::Tensor denseWeight() const override;  // [out, in], masked groups left out
  at::Tensor bias() const override { return m_bias; }

  const at::Tensor& u() const { return m_u; }
  const at::Tensor& s() const { return m_s; }
  const at::Tensor& v() const { return m_v; }
  const at::Tensor& mask() const { return m_mask; }
  void setMask(const at::Tensor& mask);
  // d loss / d (s * mask) of the last backward pass (undefined before one).
  at::Tensor effectiveGrad() const;
  // Per-group sensitivity of the last backward pass: the mean over the group's 1 + M + N entries of
  // |theta * grad theta|, with the effective singular value's gradient standing in for s.
  at::Tensor groupSensitivity() const;
  // ||U^T U - I||_F^2 + ||V^T V - I||_F^2 over the active groups.
  at::Tensor orthogonalityPenalty() const;

 private:
  at::Tensor m_u, m_s, m_v, m_bias, m_mask;
  at::Tensor m_effective;  // s * mask of the last forward, retaining its gradient
};

// The smoothed scores of every group of one op.
class GroupScores {
 public:
  GroupScores(int64_t groups, double beta1, double beta2);
  // I_bar <- b1 I_bar + (1 - b1) I; U_bar <- b2 U_bar + (1 - b2) |I - I_bar| (the updated I_bar).
  void update(const at::Tensor& sensitivity);
  at::Tensor score() const;  // I_bar * U_bar
  const at::Tensor& importance() const { return m_importance; }
  const at::Tensor& uncertainty() const { return m_uncertainty; }

 private:
  double m_beta1, m_beta2;
  at::Tensor m_importance, m_uncertainty;
};

// Global reallocation: every group of every op ranked by its score and taken from the top while the
// budget convention's T = sum_l min(k_l (M_l + N_l), M_l N_l) stays <= budget. The score is the cost
// weighting ALGORITHMS.md asks for: GroupScores averages the sensitivity over the group's
// 1 + M_l + N_l entries, so it is importance per parameter already; dividing by M_l + N_l again would
// weight the cost twice and starve the wide ops. A group that does not fit is skipped and cheaper
// groups below it are still taken (the budget is filled); once an op's groups cost M N (it is stored
// dense), its remaining groups are free. Returns one 0/1 mask per op (float, CPU). Ties keep the lower
// index (the larger singular value). Throws ranklab::Error on size mismatches.
std::vector<at::Tensor> reallocate(const std::vector<api::OpInfo>& ops, const std::vector<at::Tensor>& scores,
                                   double budget);

struct RankDynaOptions {
  double keep = 0.5;          // p: the final budget is p T_total
  int64_t warmupSteps = -1;   // t_i at full rank; -1: 10% of the steps
  int64_t finalSteps = -1;    // t_f at the final budget with the masks frozen; -1: 20% of the steps
  int64_t reallocEvery = 10;  // delta_t
  double beta1 = 0.85, beta2 = 0.85;
  double orthReg = 0.1;             // weight of the orthogonality term
  train::FinetuneOptions finetune;  // steps (T), rate, batch, seed, ...; checkpoints are not supported
};

// One reallocation: the per-op ranks it chose, b(t) and the scores' summary.
struct RankDynaLog {
  std::vector<api::SeriesPoint>
      points;            // budget (b(t) / T_total), kept (T(k) / T_total), score_mean, revived, masked
  api::MaskFrame frame;  // per-op active groups (rank) and the mask bits
};

struct RankDynaResult {
  std::vector<int64_t> ranks;              // final active groups per op (model.ops() order)
  std::vector<std::vector<int64_t>> kept;  // their indices in the starting spectrum
  int64_t reallocations = 0;
  int64_t revived = 0;  // groups that came back after being masked, over the run
  train::FinetuneResult finetune;
};

// Re-parametrises every op of `model` by its plain SVD (`svds`, full spectra: U = a / s, V = b^T),
// fine-tunes everything on `data` for options.finetune.steps while reallocating ranks, and leaves
// the model with its ops at the final ranks (LowRankLinear over the active groups, or dense when
// that is cheaper). Throws ranklab::Error on bad options or a truncated decomposition; on an error
// or cancellation the model's ops are left as they were.
RankDynaResult runRankDyna(models::LanguageModel& model, const std::vector<lowrank::OpDecomposition>& svds,
                           const std::vector<lowrank::CalibrationSample>& data,
                           const RankDynaOptions& options, ProgressSink* progress = nullptr,
                           const CancelToken* cancel = nullptr,
                           const std::function<void(const api::SeriesPoint&)>& onPoint = {},
                           const std::function<void(const RankDynaLog&)>& onRealloc = {});

}  // namespace ranklab::rankdyna
