// A training step's forward and backward pass over a batch, split across CPU threads.
//
// A training step of a small model on the CPU runs at one core's speed: its matrices are too small for
// the BLAS to split (OpenBLAS runs a 1024 x 64 x 172 product on one thread), and LibTorch's own
// OpenMP threads make such a step 3x slower, not faster (they spin against the BLAS's threads). The
// batch, though, is independent samples: `workers` threads each run the forward and backward pass of a
// contiguous part of it on the shared, read-only model, and the parts' gradients are summed.
//
// The result equals taskLoss(model, batch, padId).backward() up to float rounding (each part's loss is
// weighted by its share of the batch's targets). With one worker it is exactly that call. With more,
// the parts' gradients are summed in part order on the calling thread, so the result depends on the
// number of workers but not on how the threads are scheduled: the same seed and worker count give the
// same run.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/allocator.h"
#include "lowrank/calibration.h"

namespace ranklab::lowrank {

// Around a run of steps split over `workers` threads (nothing when 1): each worker's BLAS products on
// its own thread alone (OpenBLAS's pool, one thread per core, would spin against the workers: ARS on
// stories260K took 10.1 s per 100 steps with it, 5.3 s without), and freed activations kept in
// malloc's arenas (KeepFreedBlocks). Process-wide while it lives; nests; restores both at the end.
class SplitStepScope {
 public:
  explicit SplitStepScope(int64_t workers);
  ~SplitStepScope();
  SplitStepScope(const SplitStepScope&) = delete;
  SplitStepScope& operator=(const SplitStepScope&) = delete;

 private:
  std::unique_ptr<KeepFreedBlocks> m_keep;
};

// The workers a step over `batchSize` samples uses: `requested` (0: one per hardware thread), at most
// one per sample, and 1 where splitting cannot help or is not safe: a model on a GPU (one device
// runs one part after another), or one with activation checkpointing on (its recomputation swaps
// per-op inputs on the shared model during the backward pass).
int64_t stepWorkers(const models::LanguageModel& model, size_t batchSize, int64_t requested);

// taskLoss(model, batch, padId) and its gradient, accumulated into the .grad of each tensor in
// `leaves` as loss.backward() accumulates it. `leaves` must hold every leaf that requires a gradient
// and that the loss reaches: with more than one worker only they receive one. Returns the loss.
// `workers` as resolved by stepWorkers. Throws what taskLoss throws, from whichever part (the first
// part's error when several fail); the gradients are then left as they were.
double taskLossBackward(models::LanguageModel& model, const std::vector<const CalibrationSample*>& batch,
                        const std::vector<at::Tensor>& leaves, int64_t padId, int64_t workers);

}  // namespace ranklab::lowrank
