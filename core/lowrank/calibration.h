// Calibration pass (ALGORITHMS.md section 1): runs the model over calibration samples and collects,
// per compressible op, what the weighted decompositions need.
//
//  - fisher      [M, N] float32: mean over samples of (dL/dW)^2            (FWSVD)
//  - importance  [M, N] float32: mean over samples of ((dL/dW) * W)^2      (IWSVD)
//  - absMean     [M]    float64: mean over tokens of |x_j|, x the op input  (ASVD)
//  - gram        [M, M] float64: sum over tokens of x^T x                   (whitening)
// W is ALGORITHMS.md's in x out (M x N) matrix. Ops fed the same input tensor (q, k, v; gate, up)
// share one gram tensor (the same at::Tensor object), so memory holds one M x M per distinct input.
// Only what `needs` asks for is collected; gradients are computed only when fisher or importance
// is needed. Samples run one at a time (batch 1: no padding enters the statistics).
// The loss is next-token cross-entropy for causal LMs and classification cross-entropy for encoders
// with a classification head. The model's ops must be dense (calibrate before compressing).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
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
                                               const std::vector<data::LabelledExample>& examples, int64_t count,
                                               int64_t maxLength, int64_t vocab, uint64_t seed);

// Mean task loss of a batch of samples, with autograd history when grad mode is on: next-token
// cross-entropy for causal LMs (windows right-padded, padded targets ignored), classification
// cross-entropy for encoders (padded with `padId`, attention-masked). Throws ranklab::Error for
// labels outside the classifier, too-short samples or encoders without a classifier.
at::Tensor taskLoss(models::LanguageModel& model, const std::vector<const CalibrationSample*>& batch, int64_t padId = 0);

// exp(mean task loss) over `samples` in batches, in inference mode: perplexity for causal LMs, the
// exponentiated classification loss for encoders (the sensitivity search's metric).
double taskPerplexity(models::LanguageModel& model, const std::vector<CalibrationSample>& samples,
                      int64_t batchSize = 8, int64_t padId = 0, const CancelToken* cancel = nullptr);

struct OpStats {
  at::Tensor fisher, importance, absMean, gram;  // undefined when not collected
  int64_t tokens = 0;                            // tokens that passed through the op
};

struct Calibration {
  std::vector<OpStats> ops;  // model.ops() order
  int64_t samples = 0;
  int64_t tokens = 0;
  double meanLoss = 0.0;     // task loss over the samples (only when gradients were computed)
};

// Throws ranklab::Error for non-dense ops, encoders without a classifier, labels out of range or
// empty sample lists; ranklab::Cancelled when cancelled. The model's parameters keep their values
// and requires_grad flags; statistics live on the model's device.
Calibration calibrate(models::LanguageModel& model, const std::vector<CalibrationSample>& samples,
                      const CalibrationNeeds& needs, ProgressSink* progress = nullptr,
                      const CancelToken* cancel = nullptr);

}  // namespace ranklab::lowrank
