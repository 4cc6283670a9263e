// Calibration pass (ALGORITHMS.md section 1): runs the model over calibration samples and collects,
// per compressible op, what the weighted decompositions need.
//
//  - fisher      [M]    float64: mean over samples of sum_j (dL/dW_ij)^2       (FWSVD's row importance)
//  - importance  [M]    float64: mean over samples of sum_j (dL/dW_ij W_ij)^2  (IWSVD's)
//  - absMean     [M]    float64: mean over tokens of |x_j|, x the op input     (ASVD)
//  - gram        [M, M] float64: sum over tokens of x^T x                      (whitening)
// W is ALGORITHMS.md's in x out (M x N) matrix; the weighted decompositions use only the row sums
// of the squared gradients, so that is all that is kept (an [M] vector, not an [M, N] copy of the
// model). Ops fed the same input tensor (q, k, v; gate, up) share one gram tensor (the same
// at::Tensor object), so memory holds one M x M per distinct input. Only what `needs` asks for is
// collected. Gradients (fisher, importance) come from each op's output gradient, dL/dW = X^T dY,
// without any weight gradient: the weights stay in their stored dtype and nothing else of the model
// trains. Samples run one at a time (batch 1: per-sample squared gradients, no padding).
// The loss is next-token cross-entropy for causal LMs and classification cross-entropy for encoders
// with a classification head. The model's ops must be dense (calibrate before compressing).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/corpus.h"
#include "models/language_model.h"
#include "tokenize/tokenizer.h"

namespace ranklab::lowrank {

struct CalibrationNeeds {
  bool fisher = false, importance = false, absMean = false, gram = false;
  bool any() const { return fisher || importance || absMean || gram; }
  bool gradients() const { return fisher || importance; }
};

// One calibration input: token ids, and the label for classification (-1 for language modelling).
struct CalibrationSample {
  std::vector<int64_t> ids;
  int64_t label = -1;
};

// `count` windows of `length` tokens from a text (documents split at `separator`, each BOS-prefixed,
// concatenated). Windows do not overlap; when the text holds more than `count`, which ones is a
// seeded choice (same seed, same windows). Throws ranklab::Error when the text is too short for one.
std::vector<CalibrationSample> textSamples(const tokenize::Tokenizer& tokenizer, const std::string& text,
                                           const std::string& separator, int64_t count, int64_t length,
                                           uint64_t seed);

// `count` labelled examples (a seeded choice when there are more), encoded BERT-style.
std::vector<CalibrationSample> labelledSamples(const tokenize::Tokenizer& tokenizer,
                                               const std::vector<data::LabelledExample>& examples,
                                               int64_t count, int64_t maxLength, int64_t vocab,
                                               uint64_t seed);

// Mean task loss of a batch of samples, with autograd history when grad mode is on: next-token
// cross-entropy for causal LMs (windows right-padded, padded targets ignored), classification
// cross-entropy for encoders (padded with `padId`, attention-masked). Throws ranklab::Error for
// labels outside the classifier, too-short samples or encoders without a classifier. With the model's
// activation checkpointing on (and grad mode), the causal loss recomputes its layers in the backward
// pass (models::recomputedNextTokenLoss): the same value and gradients, less memory.
at::Tensor taskLoss(models::LanguageModel& model, const std::vector<const CalibrationSample*>& batch,
                    int64_t padId = 0);

// exp(mean task loss) over `samples` in batches, in inference mode: perplexity for causal LMs, the
// exponentiated classification loss for encoders (the sensitivity search's metric).
double taskPerplexity(models::LanguageModel& model, const std::vector<CalibrationSample>& samples,
                      int64_t batchSize = 8, int64_t padId = 0, const CancelToken* cancel = nullptr);

// The whitening factor of one X^T X (computed once by decomposeWeight, then reused by every op
// that shares the gram): lower = cholesky(X^T X + delta I) [M, M], computed in float64 and kept in
// the dtype of the weights (float32).
struct Whitener {
  at::Tensor lower;
  double delta = 0.0;
  int retries = 0;
};

struct OpStats {
  at::Tensor fisher, importance, absMean, gram;  // undefined when not collected
  // Ops sharing a gram share this too (null when the stats were built by hand: computed per op then).
  std::shared_ptr<Whitener> whitener;
  int64_t tokens = 0;  // tokens that passed through the op
};

struct Calibration {
  std::vector<OpStats> ops;  // model.ops() order
  int64_t samples = 0;
  int64_t tokens = 0;
  double meanLoss = 0.0;  // task loss over the samples (only when gradients were computed)
};

// The activation statistics (absMean, gram; `needs`' gradient fields are ignored) of the ops listed
// in `ops` (model.ops() indices; dense ops), recorded while `run` sends inputs through them, e.g.
// one decoder layer's forward over batches of hidden states. Ops of one layer fed the same input
// tensor share one gram, as in calibrate(). The result has one entry per op of the model; only the
// listed ops' entries are filled, with `tokens` counted and absMean already divided by it. The
// model's ops are put back whatever happens. Throws ranklab::Error for a non-dense op.
std::vector<OpStats> captureActivationStats(models::LanguageModel& model, const std::vector<size_t>& ops,
                                            const CalibrationNeeds& needs, const std::function<void()>& run);

// X^T X of the rows `x` [T, M] (float64) added into `gram` [M, M], computing only the column blocks
// on and above the diagonal (blocks of about 512 columns: 0.58x of the products at M = 3072, 0.55x
// at 11008; exact, as each entry is the same dot product). The blocks below the diagonal are left
// as they were until mirrorGram() copies them from above.
void addGram(at::Tensor& gram, const at::Tensor& x);
// Makes `gram` symmetric after addGram(): the blocks below the diagonal become the transposes of
// those above it.
void mirrorGram(at::Tensor& gram);

// Throws ranklab::Error for non-dense ops, encoders without a classifier, labels out of range or
// empty sample lists; ranklab::Cancelled when cancelled. The model's parameters keep their values
// and requires_grad flags; statistics live on the model's device.
Calibration calibrate(models::LanguageModel& model, const std::vector<CalibrationSample>& samples,
                      const CalibrationNeeds& needs, ProgressSink* progress = nullptr,
                      const CancelToken* cancel = nullptr);

}  // namespace ranklab::lowrank
