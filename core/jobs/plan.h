// A job's memory plan from the model's headers alone (`ranklab-cli compress --plan`), and the check
// that refuses a whole-model method (ARS, RankDyna, fine-tuning) that cannot fit before it starts.
// Torch-free header.
//
// The estimates follow what the stages hold (DESIGN.md "Memory and scale"):
//  - weights: the stored tensors, once, in their stored dtype (memory-mapped);
//  - evaluation: one batch of windows' activations, the attention scores in 32 MB blocks and the LM
//    head's logits in 16 MB chunks;
//  - layer-streamed calibration and decomposition: the calibration windows' hidden states (float32,
//    on the host when the model is on a GPU), one layer's statistics (X^T X per distinct input in
//    float64, a Cholesky factor in float32 where an op has more outputs than inputs) and the
//    largest op's SVD working set (float32);
//  - after apply: the factors at the budget, in the weights' dtype (the dense matrices they replace
//    are released as each op is applied);
//  - ARS / RankDyna / fine-tuning: every op's full-rank factors in float32 (ARS, RankDyna) or a
//    float32 copy of the model with gradients and Adam's moments (fine-tuning), and the activations
//    one training batch keeps for its backward pass.
// Process overhead (the loaded libraries and OpenBLAS's GEMM buffers, about 0.25 GB) is included once.
// Figures are estimates: bench/scale.sh measures the real peaks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/job.h"
#include "io/model_config.h"

namespace ranklab::jobs {

struct PlanStage {
  std::string stage;         // "load", "evaluate", "calibrate + decompose", "ars", ...
  double hostBytes = 0.0;    // peak resident memory on the host during the stage
  double deviceBytes = 0.0;  // peak GPU memory (0 on the CPU)
  std::string detail;        // what dominates
};

struct JobPlan {
  std::string model;
  std::string architecture;
  std::string device;      // "cpu" or "cuda:0"
  int64_t parameters = 0;  // whole model
  int64_t compressibleParameters = 0;
  double weightBytes = 0.0;       // stored, on disk and in memory
  std::string storedDtype;        // "float16", "bfloat16", "float32" or "mixed"
  std::vector<PlanStage> stages;  // in the order the job runs them
  double peakHostBytes = 0.0, peakDeviceBytes = 0.0;
  double availableHostBytes = 0.0;  // MemAvailable when read (0: unknown)
};

// Reads the model's headers (and the tokenizer), never its weights. Throws ranklab::Error for a bad
// spec or model, as the job would.
JobPlan planJob(const api::JobSpec& spec);

// A readable table of the plan (one line per stage), for the CLI.
std::string formatPlan(const JobPlan& plan);

// The host memory available now (MemAvailable), 0 when unknown.
double availableHostBytes();

// The float32 activations a training batch of `tokens` tokens keeps for its backward pass through
// the whole model. Kept: every layer's intermediates and the logits (three vocabulary-sized copies).
// With activation checkpointing (models/recompute.h): each layer's input, one layer's intermediates
// while it is recomputed, and one chunk of logits.
double trainingActivationBytes(const io::ModelConfig& config, double tokens, bool checkpointed);

// Throws ranklab::Error unless `mode` is auto, on or off.
void requireCheckpointingMode(const std::string& mode);

struct TrainingActivations {
  bool checkpointed = false;
  double bytes = 0.0;  // trainingActivationBytes for that choice
  std::string reason;  // why, for the run's details and the plan
};
// Activation checkpointing for a stage that trains through the model, from `mode` ("on", "off" or
// "auto"): auto turns it on when keeping every activation (plus `extraBytes`, what the stage holds
// besides) would not fit in 90% of `availableBytes` and checkpointing would fit, or would at least
// need less. Unknown availability (0) leaves auto off. Throws ranklab::Error for another mode
// (requireCheckpointingMode).
TrainingActivations chooseTrainingActivations(const io::ModelConfig& config, double tokens, double extraBytes,
                                              const std::string& mode, double availableBytes);

// Before a stage that trains through the whole model: throws ranklab::Error when `needBytes` (what
// the stage adds to what the job holds) exceeds what the machine has available, with the estimate,
// what it is made of (`what`) and the flags that lower it (`flags`). Does nothing when the amount
// available is unknown.
void requireHostMemory(const std::string& stage, double needBytes, const std::string& what,
                       const std::string& flags);

}  // namespace ranklab::jobs
