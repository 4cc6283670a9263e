// Pretraining a language model from scratch on a token stream (issue 3: RankLab's own demo models).
//
// Objectives:
//  - causal LM (GPT-2 and LLaMA architectures): each example is a window of `sequenceLength + 1`
//    consecutive tokens of the stream; the model reads the first L and predicts the last L.
//  - masked LM (BERT architecture, as BERT/RoBERTa pretrain): each example is a window of L tokens
//    whose first token is replaced by the BOS/CLS id; every later position is chosen with probability
//    `maskProbability` (at least one per window); a chosen token becomes the mask id 80% of the time,
//    a random token 10%, itself 10%; the loss is cross-entropy on the chosen positions only.
//
// Optimiser: AdamW (betas, weight decay), linear warm-up to the peak rate then cosine decay to
// `minLearningRateFraction` of it, gradient-norm clipping. Precision "fp32", or "bf16" (autocast: matmuls
// in bfloat16, weights and optimiser state in float32).
//
// Determinism and resuming: the windows and masks of step t are drawn from a generator seeded by
// (seed, t) alone, so a run resumed from a checkpoint at step t continues exactly as the uninterrupted
// run would (weights bit-exact on the CPU, the same series). A checkpoint (<checkpointDir>/checkpoint.pt,
// one file written atomically: weights and buffers, AdamW state, step, fingerprint, the series so far)
// is saved every `checkpointEvery` steps and when the run is cancelled. It is only resumed by the run
// it belongs to: the fingerprint covers the model config, the starting weights, the training tokens
// and every option that changes the result or its series.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "api/run.h"
#include "common/progress.h"
#include "models/language_model.h"
#include "tokenize/tokenizer.h"

namespace ranklab::train {

enum class Objective { CausalLm, MaskedLm };

struct PretrainOptions {
  Objective objective = Objective::CausalLm;
  int64_t steps = 1000;
  int64_t batchSize = 16;
  int64_t sequenceLength = 128;  // tokens the model reads per example (at most the model's context)
  double learningRate = 1e-3;
  double minLearningRateFraction = 0.1;
  int64_t warmupSteps = -1;  // -1: 5% of the steps
  double weightDecay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double clipNorm = 1.0;           // <= 0: no clipping
  std::string precision = "fp32";  // fp32 | bf16
  uint64_t seed = 0;
  // Masked LM only.
  double maskProbability = 0.15;
  int64_t maskId = -1;
  int64_t clsId = -1;  // first token of every window; -1: leave the stream's token
  // Reporting.
  int64_t logEvery = 10;     // "train_loss" (mean over the interval) and "lr" every logEvery steps
  int64_t evalEvery = 0;     // "valid_loss" every evalEvery steps and at the end; 0: only at the end
  int64_t evalWindows = 64;  // fixed validation windows (the first ones of the validation stream)
  // Checkpoints; an empty directory disables them.
  std::filesystem::path checkpointDir;
  int64_t checkpointEvery = 0;  // 0: only on cancel
  // false: the checkpoint is removed when the run completes. true: the caller removes it (with
  // removeCheckpoint) once it has saved the result, so a crash in between loses nothing.
  bool keepFinishedCheckpoint = false;
};

struct PretrainResult {
  std::vector<api::SeriesPoint> series;  // "train_loss", "lr", "valid_loss", "grad_norm"
  int64_t resumedFrom = 0;               // step of the checkpoint the run continued from (0: fresh)
  int64_t steps = 0;
  double finalTrainLoss = 0.0;   // mean over the last logged interval
  double validLoss = 0.0;        // at the end (NaN without validation tokens)
  double seconds = 0.0;          // this invocation's wall time
  double tokensPerSecond = 0.0;  // training tokens read per second in this invocation
};

// Throws ranklab::Error for streams shorter than one window, a sequence length beyond the model's
// context, a masked-LM run without a mask id or on a causal model (and the reverse), an unknown
// precision, a checkpoint that belongs to another run (naming the directory), or a non-finite loss
// (naming the step). ranklab::Cancelled when cancelled, after saving a checkpoint when checkpoints
// are enabled. Leaves the model in eval mode.
PretrainResult pretrain(models::LanguageModel& model, const std::vector<int64_t>& trainTokens,
                        const std::vector<int64_t>& validTokens, const PretrainOptions& options,
                        ProgressSink* progress = nullptr, const CancelToken* cancel = nullptr,
                        const std::function<void(const api::SeriesPoint&)>& onPoint = {});

// The validation loss `pretrain` reports: mean cross-entropy over the first `options.evalWindows`
// non-overlapping windows of `tokens` (masked-LM windows masked with a fixed seed, the same for every
// run), in batches of options.batchSize, in eval mode. NaN when `tokens` holds no window.
double validationLoss(models::LanguageModel& model, const std::vector<int64_t>& tokens,
                      const PretrainOptions& options);

// Removes a finished run's checkpoint (<dir>/checkpoint.pt, and `dir` when that leaves it empty).
void removeCheckpoint(const std::filesystem::path& dir);

// The token stream of a text: documents split at `separator`, each encoded with the tokenizer's BOS
// (or EOS, when it has no BOS) in front, concatenated. Throws ranklab::Error when it is empty.
std::vector<int64_t> tokenStream(const tokenize::Tokenizer& tokenizer, const std::string& text,
                                 const std::string& separator);

}  // namespace ranklab::train
