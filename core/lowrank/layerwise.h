// Layer-streamed calibration and decomposition (DESIGN.md "Memory and scale"): what a whole-model
// calibrate() + decomposeModel() computes, one decoder layer at a time, so that peak memory is the
// weights, the calibration samples' hidden states and one layer's statistics and factors.
//
// For a method that needs activation statistics (asvd: absMean; whiten: X^T X):
//   hidden states of every sample = embed(ids); then for each layer l:
//     run layer l over the hidden states in batches with its ops' inputs recorded;
//     decompose each op of the layer;
//     move the hidden states on through layer l: through the dense layer (the default, which is
//     what calibrate() sees, so results equal the whole-model pipeline's), or through the layer
//     after the sink compressed it (propagateCompressed, SVD-LLM's sequential mode);
//     hand each op's decomposition to the sink and free the layer's statistics.
// Methods without activation statistics (svd; fwsvd and iwsvd, whose gradient statistics need the
// whole model differentiated and come from calibrate() in `gradients`) decompose op by op without
// running the model. Causal LMs see a sample's ids[0 .. T-2], as taskLoss feeds them.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "common/progress.h"
#include "lowrank/calibration.h"
#include "lowrank/decompose.h"
#include "models/language_model.h"

namespace ranklab::lowrank {

struct LayerwiseOptions {
  DecomposeOptions decompose;
  // Calibration samples per layer forward (same-length samples only), fewer when one layer's
  // activations for the batch would pass 512 MB (calibrationBatch): LLaMA-2-7B's 2048-token windows
  // go one at a time.
  int64_t batchSize = 8;
  bool propagateCompressed = false;  // see above
};

// Receives op `op`'s decomposition (a model.ops() index), in op order, once its layer is done. It
// may replace the op (applyRank) and keep, store or drop the factors.
using OpSink = std::function<void(size_t op, OpDecomposition&& decomposition)>;

// Throws ranklab::Error naming the op for a failed decomposition, for compressed ops, or when the
// method's statistics are missing (no samples; fwsvd/iwsvd without `gradients`);
// ranklab::Cancelled between layers and ops. Progress: "calibrate" one unit per layer, "decompose"
// one unit per op. Hidden states stay on the CPU when the model is on a GPU.
// The windows of `length` tokens a layer forward takes at once under that rule, at most `batchSize`.
int64_t calibrationBatch(const io::ModelConfig& config, int64_t length, int64_t batchSize);

void decomposeByLayer(models::LanguageModel& model, Method method,
                      const std::vector<CalibrationSample>& samples, const Calibration* gradients,
                      const LayerwiseOptions& options, const OpSink& sink, ProgressSink* progress = nullptr,
                      const CancelToken* cancel = nullptr);

}  // namespace ranklab::lowrank
