// Torch-free description of a compression job (what the CLI, the GUI's job panel and sweeps fill
// in) and of its outcome. Plain data; JSON form in jobs/job_spec.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "api/run.h"

namespace ranklab::api {

struct JobSpec {
  // Model: any form `ranklab-cli info` takes; tokenizer overrides the one found next to it.
  std::string model;
  std::string tokenizer;
  std::string device = "auto";  // auto | cpu | cuda[:N]
  int threads = 0;              // 0: LibTorch's default
  // Threads that each run a share of a training step's batch on the CPU (ARS, fine-tuning); 0: one
  // per hardware thread (lowrank::stepWorkers).
  int workers = 0;

  // Method (ALGORITHMS.md sections 1 and 4).
  std::string decomposition = "svd";  // svd | fwsvd | iwsvd | asvd | whiten
  std::string selector = "uniform";   // uniform | energy | manual | sensitivity | ars | rankdyna
  double keep = 0.5;                  // p, the kept fraction of compressible parameters
  double rankRatio = -1.0;            // uniform: >= 0 selects k = floor(r min(M, N)) instead of the budget
  double energy = -1.0;               // energy: >= 0 is the threshold; < 0 searches the one meeting `keep`
  std::map<std::string, double> manualRanks;  // manual: op name or glob -> rank (or fraction < 1)
  std::vector<double> sensitivityRatios;      // sensitivity: empty = 0.1 .. 0.9
  bool randomizedSvd = false;                 // top-k randomized SVD when the ranks are known up front
  // Layer-streamed calibration (asvd, whiten): the next layer's inputs come from the dense layer (as
  // a whole-model calibration sees them) or, true, from the layer compressed at its chosen ranks
  // (SVD-LLM's sequential mode; only where the ranks are known up front, uniform and manual).
  bool propagateCompressed = false;
  // ars (ALGORITHMS.md section 2): hypernetwork masks trained on the calibration data, batch batchSize.
  int64_t arsSteps = 1000;  // the most steps (fewer when the budget is met and the loss plateaus)
  double arsLambda = 16.0;  // budget hinge weight
  double arsGamma = 10.0;   // alignment regulariser weight
  std::string arsAlignNorm =
      "energy";          // alignment's spectrum scale: energy (2-norm, ALGORITHMS.md) | max (largest value)
  double arsTau = 0.4;   // Gumbel-sigmoid temperature
  double arsBias = 3.0;  // logit bias b
  double arsLearningRate = 1e-3;
  bool arsEarlyStop = true;
  double arsTimeBudget = 0.0;  // seconds of ARS training before it reads off what it has; 0: none
  int64_t logEvery = 10;       // ARS: a series point set and a mask frame every logEvery steps
  // rankdyna (ALGORITHMS.md section 3, RankLab's reading): compresses during the finetuneSteps run of
  // a plain-SVD re-parametrised model.
  int64_t warmupSteps = -1;           // t_i at full rank; -1: 10% of the steps
  int64_t finalSteps = -1;            // t_f at the final budget, masks frozen; -1: 20% of the steps
  int64_t reallocEvery = 10;          // delta_t
  double beta1 = 0.85, beta2 = 0.85;  // score smoothing
  double orthReg = 0.1;               // orthogonality regulariser weight

  // Data. Calibration: text for causal LMs, a labelled set for classifiers.
  std::string calib;
  // Windows (examples for classifiers) and tokens per window; 0 = the default for the job's method
  // (jobs::calibrationWindows): ARS and RankDyna train on windows of 128 tokens, the others collect
  // statistics on windows of 512 (the context if shorter); 16,384 tokens in all; 32 examples.
  int64_t calibSamples = 0;
  int64_t calibLength = 0;
  std::string evalText;      // perplexity (eval's protocol)
  std::string evalLabelled;  // accuracy
  // Multiple-choice accuracy (acc and acc_norm, lm-evaluation-harness's protocol): a JSONL set in
  // one of data::choiceFormats(), read as `choicesFormat` ("" = detected from its keys); the first
  // `maxChoiceItems` items when > 0.
  std::string evalChoices;
  std::string choicesFormat;
  int64_t maxChoiceItems = 0;
  std::string separator = "<|endoftext|>";
  bool truncate = false;
  int64_t evalContext = 0;
  int64_t evalStride = 0;  // > 0: sliding windows advancing this many tokens (Hugging Face's protocol)
  int64_t maxEvalDocuments = 0;

  // Fine-tuning after compression.
  std::string train;  // defaults to calib
  int64_t finetuneSteps = 0;
  double learningRate = 1e-4;
  int64_t batchSize = 8;  // fine-tuning and ARS batches
  // Training through the model (ARS, RankDyna, fine-tuning): "on" recomputes each decoder layer's
  // activations in the backward pass instead of keeping them (about one more forward pass of time,
  // a fraction of the memory), "off" keeps them, "auto" turns it on when keeping them would not fit
  // (jobs::chooseTrainingActivations).
  std::string activationCheckpointing = "auto";
  uint64_t seed = 0;

  // Outputs.
  std::string db;     // run database; empty = the default (RunStore::defaultPath)
  bool store = true;  // false: run without recording (benchmarks)
  std::string exportDir;
  std::string exportFormat = "factorized";  // factorized | dense
  std::string cacheDir;                     // decomposition cache; empty = the default
  bool useCache = true;

  // Labels.
  std::string name;
  std::vector<std::string> tags;
  std::string sweepId;
};

// Exactly one outcome per job.
struct JobOutcome {
  std::string status;  // succeeded | cancelled | failed
  std::string error;   // failed: the message
  RunData data;        // the run as stored (id 0 when not stored)
  std::string databasePath;
  std::string exportedTo;
  bool decompositionFromCache = false;
  bool beforeFromEarlierJob = false;  // the "before" evaluation came from an earlier job of the same runner
  bool sensitivityFromCache = false;
  std::vector<std::string> warnings;  // things the user should know that did not stop the job
};

}  // namespace ranklab::api
