// ARS: adaptive rank selection with learned binary masks (ALGORITHMS.md section 2).
//
// The model is frozen. Every compressible op runs at its full decomposed rank K_l with a binary
// gate over its singular triplets, y = ((x A) * m) B + b with A = (decomposition's a, U S folded with
// the weighting) and B = V^T, so the mask acts on the spectrum of the matrix that was actually
// decomposed and no dense weight is formed. A small hypernetwork (fixed input z [L, 32] -> bidirectional
// GRU(32, 64) -> LayerNorm -> GELU -> one Linear(128, K_l) head per op) emits logits o_l; the mask is a
// straight-through Gumbel-sigmoid of them, m = round(sigmoid((o + g + b) / tau)). Only the hypernetwork
// trains, with Adam on
//     L_task(f(x; m)) + lambda R(T(m), p T_total) + gamma (1/L) sum_l R_align(m_l),
//     T(m) = sum_l (M_l + N_l) sum(m_l),  R(a, b) = log(max(a, b) / b),
//     R_align(m_l) = || m_l * s_l - m'_l * s_l ||^2, m'_l the top-k mask with k = sum(m_l) (no gradient),
// where s_l is divided by its 2-norm (ArsOptions::alignNorm "energy", the default; "max" divides
// by its largest value), so that gamma means the same on every op and model.
// Read-off: k_l = the number of positions with o + b > 0 (the noise-free mask), keep the TOP k_l
// triplets, then meet the budget: over it, the score threshold rises until the ranks fit; under it,
// the ops' next-most-probable ranks fill what is left (select::fillBudget, never going over).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "api/run.h"
#include "api/types.h"
#include "common/progress.h"
#include "lowrank/calibration.h"
#include "lowrank/decompose.h"
#include "models/language_model.h"

namespace ranklab::ars {

struct ArsOptions {
  double keep = 0.5;     // p: the kept fraction of compressible parameters
  int64_t steps = 1000;  // the most training steps
  double lambda = 16.0;  // budget hinge weight
  double gamma = 10.0;   // alignment regulariser weight
  // How each op's singular values are scaled inside the alignment term. "energy" (the default)
  // divides by the 2-norm, so a hole in the mask costs its share of the op's energy; "max" divides by
  // the largest value, as ALGORITHMS.md section 2 once said. With "max" the term holds ops with a flat
  // spectrum far more firmly than ops with a dominant first singular value, and on gpt-mini ARS then
  // cuts the MLP's up-projection to a tenth and loses to equal ranks (README, "ARS").
  std::string alignNorm = "energy";
  double tau = 0.4;            // Gumbel-sigmoid temperature
  double bias = 3.0;           // b: added to the logits (starts near full rank)
  double learningRate = 1e-3;  // Adam, constant
  int64_t batchSize = 8;       // calibration samples per step (drawn without replacement, seeded per step)
  int64_t logEvery = 10;       // a series point set and a mask frame every logEvery steps (and at the end)
  uint64_t seed = 0;           // hypernetwork initialisation, its input z, the noise and the batches
  int64_t padId = 0;
  // Stop before `steps` once the read-off mask is within the budget and the task loss has plateaued:
  // the mean task loss of the last `plateauWindow` steps differs from the window before it by less
  // than `plateauTolerance` (relative).
  bool earlyStop = true;
  // Seconds of training after which ARS stops and reads off the masks it has (0: no limit); the
  // result says "time" as the reason.
  double timeBudgetSeconds = 0.0;
  int64_t plateauWindow = 100;
  double plateauTolerance = 0.005;
  // Threads that each run a share of a step's batch on the CPU (lowrank::stepWorkers; 0: one per
  // hardware thread). The result depends on the number, not on the threads' timing.
  int64_t workers = 0;
};

// Throws ranklab::Error naming the option that is out of range.
void validate(const ArsOptions& options);

// The hypernetwork (paper Appendix B). One head per op, `maskSizes[l]` = K_l outputs.
class HyperNetworkImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kInput = 32, kHidden = 64;
  // Parameters and z drawn from `seed` by a private generator (the result does not depend on the global
  // torch seed).
  HyperNetworkImpl(const std::vector<int64_t>& maskSizes, uint64_t seed);
  // Logits o_l, [K_l] each, in op order.
  std::vector<at::Tensor> forward();
  const at::Tensor& input() const { return m_z; }

 private:
  at::Tensor m_z;  // [1, L, 32], fixed
  torch::nn::GRU m_gru{nullptr};
  torch::nn::LayerNorm m_norm{nullptr};
  torch::nn::ModuleList m_heads{nullptr};
};
TORCH_MODULE(HyperNetwork);

// Gumbel(0, 1) noise of `shape` from `seed` (CPU generator, then moved to `device`: the same noise on
// every device).
at::Tensor gumbelNoise(at::IntArrayRef shape, uint64_t seed, const at::Device& device);
// Straight-through Gumbel-sigmoid: forward round(sigmoid((logits + noise + bias) / tau)) in {0, 1},
// backward the gradient of sigmoid((logits + noise + bias) / tau). An undefined `noise` gives the
// deterministic mask (the read-off's).
at::Tensor straightThroughMask(const at::Tensor& logits, const at::Tensor& noise, double tau, double bias);
// R(a, b) = log(max(a, b) / b): zero within the budget, growing with the excess. `t` is a scalar tensor.
at::Tensor budgetHinge(const at::Tensor& t, double target);
// || m * s - m' * s ||^2, m' the top-k mask with k = round(sum(m)), computed without gradient.
at::Tensor alignmentLoss(const at::Tensor& mask, const at::Tensor& s);
// The top-k mask of length n: the first k entries one.
at::Tensor topKMask(int64_t n, int64_t k, const at::TensorOptions& options);

struct ReadOff {
  std::vector<int64_t> noiseFree;  // k_l = #(o + b > 0) per op, before meeting the budget
  std::vector<int64_t> ranks;      // after meeting the budget
  double threshold = 0.0;          // score threshold used (0: the noise-free mask itself fit)
  int64_t filled = 0;              // ranks added by the fill
};
// `scores[l]` = o_l + b per mask position; ranks count the positions above the threshold (so they
// are the top-k triplets by construction, whatever positions the mask had on). Never over keep.
ReadOff readOff(const std::vector<api::OpInfo>& ops, const std::vector<std::vector<float>>& scores,
                double keep, double tau);

// What one logged step reports (also written to the run store by the job).
struct ArsLog {
  std::vector<api::SeriesPoint> points;  // task_loss, R, R_align, budget, budget_readoff, mean_prob
  api::MaskFrame frame;                  // the noise-free mask: per-op rank and packed bits
};

struct ArsResult {
  ReadOff readOff;
  int64_t steps = 0;             // training steps run
  std::string stoppedBecause;    // "steps" | "plateau" | "time"
  double finalTaskLoss = 0.0;    // mean task loss of the last plateau window
  double finalBudget = 0.0;      // T(noise-free mask) / T_total at the end (uncapped ledger, as trained)
  double trainingSeconds = 0.0;  // the training loop, logging included
  double loggingSeconds = 0.0;   // time spent in onLog (the store writes)
  int64_t frames = 0;
  int64_t workers = 1;  // the threads each step's batch was split over
};

// Packs 0/1 floats LSB-first (bit i -> byte i / 8, bit i % 8), as api::MaskFrame stores them.
std::vector<uint8_t> packBits(const at::Tensor& mask);

// Trains the hypernetwork on `samples` (task loss: next-token cross-entropy or classification) and reads
// the ranks off. The model's ops must be its dense ones, matched one to one by `decompositions`
// (full spectra: a randomized truncated decomposition is refused). The model's ops and requires_grad
// flags are restored before returning, also on error or cancellation. `onLog` sees every logged step.
// Progress phase "ars", one unit per step. Throws ranklab::Error on bad input, ranklab::Cancelled.
ArsResult trainArs(models::LanguageModel& model, const std::vector<lowrank::OpDecomposition>& decompositions,
                   const std::vector<lowrank::CalibrationSample>& samples, const ArsOptions& options,
                   ProgressSink* progress = nullptr, const CancelToken* cancel = nullptr,
                   const std::function<void(const ArsLog&)>& onLog = {});

}  // namespace ranklab::ars
