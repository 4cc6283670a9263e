// Fine-tuning a (compressed) model on a task: LM windows for causal models, labelled examples for
// encoders with a classifier (ALGORITHMS.md: "optionally fine-tune the compressed model").
//
// AdamW over every trainable parameter (the low-rank factors included), linear warm-up then cosine
// decay to 10% of the peak rate, gradient-norm clipping, seeded batch order. Runs on the model's
// device; leaves the model in eval mode.
#pragma once

#include <cstdint>
#include <functional>
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
  int64_t logEvery = 10;     // a "finetune_loss" point every logEvery steps (and at the last step)
  int64_t padId = 0;
};

struct FinetuneResult {
  std::vector<api::SeriesPoint> series;  // "finetune_loss" (mean over the logged interval), "lr"
  double finalLoss = 0.0;
};

// Throws ranklab::Error for empty data; ranklab::Cancelled when cancelled (the model then holds the
// weights of the last finished step). `onPoint` (optional) sees every series point as it is made.
FinetuneResult finetune(models::LanguageModel& model, const std::vector<lowrank::CalibrationSample>& data,
                        const FinetuneOptions& options, ProgressSink* progress = nullptr,
                        const CancelToken* cancel = nullptr,
                        const std::function<void(const api::SeriesPoint&)>& onPoint = {});

}  // namespace ranklab::train
