// Fine-tuning a (compressed) model on a task: LM windows for causal models, labelled examples for
// encoders with a classifier (ALGORITHMS.md: "optionally fine-tune the compressed model").
//
// AdamW over every trainable parameter (the low-rank factors included), linear warm-up then cosine
// decay to 10% of the peak rate, gradient-norm clipping, seeded batch order. Runs on the model's
// device; leaves the model in eval mode.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/run.h"
#include "common/progress.h"
#include "lowrank/calibration.h"

namespace ranklab::train {

struct FinetuneOptions {
  int64_t steps = 0;
  double learningRate = 1e-4;
  double weightDecay = 0.0;
  int64_t batchSize = 8;
  int64_t warmupSteps = -1;  // -1: 10% of steps
  double clipNorm = 1.0;
  uint64_t seed = 0;
  int64_t logEvery = 10;  // a "finetune_loss" point every logEvery steps (and at the last step)
  int64_t padId = 0;
  // Checkpoints (as pretraining writes them; see train/pretrain.h): every checkpointEvery steps and on
  // cancel, resumed by the same run (same model, data and options); removed when the run finishes. An
  // empty directory disables them.
  std::filesystem::path checkpointDir;
  int64_t checkpointEvery = 0;
  bool keepFinishedCheckpoint = false;  // as PretrainOptions: the caller removes it after saving
  // Threads that each run a share of a step's batch on the CPU (lowrank::stepWorkers; 0: one per
  // hardware thread). Runs with hooks (RankDyna) use one. The result depends on the number of workers
  // (float rounding), not on the threads' timing.
  int64_t workers = 0;
};

struct FinetuneResult {
  std::vector<api::SeriesPoint> series;  // "finetune_loss" (mean over the logged interval), "lr"
  double finalLoss = 0.0;
  int64_t resumedFrom = 0;  // step of the checkpoint the run continued from (0: fresh)
};

// Per-step hooks for methods that train through fine-tuning (RankDyna's scores and reallocation).
struct FinetuneHooks {
  std::function<at::Tensor()> extraLoss;            // added to the task loss (a regulariser); undefined: none
  std::function<void(int64_t step)> afterBackward;  // this step's gradients are in place (before clipping)
  std::function<void(int64_t step)> afterStep;      // after the update; `step` counts from 1
};

// Throws ranklab::Error for empty data or a checkpoint of another run; ranklab::Cancelled when
// cancelled (the model then holds the weights of the last finished step, saved as a checkpoint when
// checkpoints are enabled). The batch order is a pure function of the seed, so a resumed run
// continues exactly as the uninterrupted one. `onPoint` (optional) sees every series point as it is made.
FinetuneResult finetune(models::LanguageModel& model, const std::vector<lowrank::CalibrationSample>& data,
                        const FinetuneOptions& options, ProgressSink* progress = nullptr,
                        const CancelToken* cancel = nullptr,
                        const std::function<void(const api::SeriesPoint&)>& onPoint = {},
                        const FinetuneHooks* hooks = nullptr);

// The encoder `encoder` (BERT-family, masked-LM head or classifier) with a fresh sequence-classification
// head for `labels` (pooler and classifier initialised from `seed`), every other weight copied: how a
// task model starts from a pretrained encoder (transformers' BertForSequenceClassification.from_pretrained
// of a BertForMaskedLM checkpoint does the same). On the encoder's device, in eval mode. Throws
// ranklab::Error for decoders, for fewer than two labels, and for encoders whose weights do not map
// onto a dense model (a factorized export: fine-tune the dense encoder, then compress it).
std::shared_ptr<models::LanguageModel> withClassifier(const models::LanguageModel& encoder,
                                                      const std::vector<std::string>& labels, uint64_t seed);

}  // namespace ranklab::train
