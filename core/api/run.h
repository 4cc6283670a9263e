// Torch-free value types for stored runs: what a compression job produced, as the run store keeps
// it and the UI / CLI show it. Plain data; copyable.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "api/types.h"

namespace ranklab::api {

// How a metric was measured. Two metrics are comparable only when they were measured on the same
// base model (RunRecord::modelHash) with equal protocols (api/protocol.h: protocolKey). Written by
// the job with every evaluation; databases from before schema 5 get one reconstructed from the
// stored job spec, or `known` false when that is impossible (never pooled with anything).
struct EvalProtocol {
  bool known = false;        // false: no evaluation, or not reconstructible
  std::string metric;        // "perplexity" | "accuracy" | "acc" | "acc_norm" (multiple choice)
  std::string file;          // the evaluation file's name, without its folder
  std::string fileHash;      // its SHA-256 (hex)
  std::string separator;     // document separator (perplexity)
  int64_t context = 0;       // tokens per window as asked; 0: the model's context
  int64_t stride = 0;        // > 0: sliding windows this many tokens apart
  bool truncate = false;     // documents cut to one window
  int64_t maxDocuments = 0;  // 0: all
  int64_t counted = 0;       // tokens (perplexity) or examples (accuracy) scored
  int64_t documents = 0;     // documents evaluated (perplexity); 0: not recorded
  // SHA-256 of a tokenizer file given apart from the model; "" when the model brings its own (its
  // hash covers it); "path:FILE" for runs migrated from before schema 5 (the file was not hashed).
  std::string tokenizerHash;
  // Multiple choice: the format its items were read as ("hellaswag", "arc", ...), which decides the
  // prompts scored; maxDocuments then counts items. "" for the other metrics.
  std::string scoring;
};

// Accuracy-like metrics: fractions in [0, 1], higher is better.
inline bool isAccuracyMetric(const std::string& metric) {
  return metric == "accuracy" || metric == "acc" || metric == "acc_norm";
}

// What a metric counts: "tokens" (perplexity), "examples" (accuracy), "items" (multiple choice).
inline const char* countedUnit(const std::string& metric) {
  return metric == "perplexity" ? "tokens" : metric == "accuracy" ? "examples" : "items";
}

// Run status: "running" while a job writes it, then exactly one of "succeeded" or "failed". A
// cancelled job deletes its run; a run whose process was killed (kill -9, a crash) is marked
// "interrupted" by the next process that opens the database (sweeps re-run it).
struct RunRecord {
  int64_t id = 0;          // store-local id (changes when merged into another database)
  std::string uuid;        // globally unique, kept across merges
  std::string status;      // running | succeeded | failed
  std::string name;        // short human label, e.g. "svd+uniform p=0.50"
  std::string createdAt;   // ISO 8601 UTC, "2026-11-27T21:04:05Z"
  std::string finishedAt;  // empty while running
  double seconds = 0.0;    // wall time of the job
  // Reproducibility capsule.
  std::string modelPath;
  std::string modelHash;      // SHA-256 of the model's files (hex)
  std::string architecture;   // gpt2 | llama | bert
  std::string decomposition;  // svd | fwsvd | iwsvd | asvd | whiten
  std::string selector;       // uniform | energy | manual | sensitivity | ars | rankdyna
  double keepTarget = 0.0;    // requested p
  double keptFraction = 0.0;  // achieved p (ALGORITHMS.md section 0)
  int64_t compressibleBefore = 0, compressibleAfter = 0;  // T_total, T(k)
  int64_t totalBefore = 0, totalAfter = 0;                // whole-model parameters
  std::string calibPath, calibHash;                       // calibration data and its SHA-256
  std::string evalPath, evalHash;                         // evaluation data and its SHA-256
  int64_t seed = 0;
  std::string configJson;    // the full job spec as JSON
  std::string versionsJson;  // {"ranklab": ..., "torch": ..., "sqlite": ...}
  std::string device;        // "cpu", "cuda:0 (NVIDIA H100 ...)"
  std::string error;         // failure message (status failed)
  std::string sweepId;       // empty unless the run belongs to a sweep
  std::string specHash;      // hash of the job spec (sweeps find finished points by it)
  std::string notes;
  std::vector<std::string> tags;
  // Headline metrics (NaN when not measured): perplexity, accuracy or acc (multiple choice, when it is
  // the only evaluation), before and after. Every metric measured is an EvalPoint.
  std::string metric;  // "perplexity" | "accuracy" | "acc"
  double metricBefore = 0.0, metricAfter = 0.0;
  EvalProtocol protocol;  // how metricBefore and metricAfter were measured
};

// One op's outcome in a run.
struct OpResult {
  int64_t index = 0;  // position in the model's op order
  std::string name;   // "layers.3.attn.q"
  int layer = 0;
  std::string kind;  // q k v o gate up down
  int64_t inFeatures = 0, outFeatures = 0;
  int64_t rank = 0;                  // chosen rank k
  int64_t fullRank = 0;              // min(M, N)
  bool factorized = false;           // false: kept dense (full rank or dense-if-cheaper)
  double energyKept = 1.0;           // sum_{i<k} s_i^2 / sum s_i^2 of the decomposed matrix
  std::vector<float> spectrum;       // singular values of the matrix decomposed (weighted), descending
  std::vector<float> plainSpectrum;  // singular values of W itself (equal to spectrum for plain SVD)
};

// Op `index`'s identity (name, layer, kind, shape) at full rank, kept dense: what a run's per-op
// result starts from.
inline OpResult fullRankResult(const OpInfo& info, int64_t index) {
  OpResult r;
  r.index = index;
  r.name = info.name;
  r.layer = info.layer;
  r.kind = info.kind;
  r.inFeatures = info.inFeatures;
  r.outFeatures = info.outFeatures;
  r.fullRank = std::min(info.inFeatures, info.outFeatures);
  r.rank = r.fullRank;
  return r;
}

// A scalar series value at a training step ("loss", "R", "R_align", "budget", "lr", ...).
struct SeriesPoint {
  int64_t step = 0;
  std::string name;
  double value = 0.0;
};

// Mask state at one logged step: kept rank per op (op order) and optionally the packed mask bits
// of each op (bit i of op l = byte i/8, bit i%8 LSB-first; empty when not recorded).
struct MaskFrame {
  int64_t step = 0;
  std::vector<int32_t> ranks;
  std::vector<std::vector<uint8_t>> bits;
};

// One evaluation: `stage` "before" (uncompressed), "compressed" (compressed, before fine-tuning; only when
// the job fine-tunes) or "after" (the final model); metric "perplexity" | "accuracy" | "acc" |
// "acc_norm".
struct EvalPoint {
  std::string stage;
  std::string dataset;  // file evaluated
  std::string metric;
  double keptFraction = 1.0;
  double value = 0.0;
  int64_t count = 0;  // tokens or examples counted
  EvalProtocol protocol;
};

// ASVD-style sensitivity table: calibration perplexity with only op `op` truncated to `ratio`.
struct SensitivityEntry {
  int64_t opIndex = 0;
  double ratio = 0.0;
  double perplexity = 0.0;
};

// One record per metric a run measured, for views that plot one metric at a time: the run itself
// (its headline metric), then for every other metric with an "after" evaluation a copy whose metric,
// metricBefore, metricAfter and protocol are that metric's (metricBefore NaN without a "before").
inline std::vector<RunRecord> metricRecords(const RunRecord& run, const std::vector<EvalPoint>& evals) {
  std::vector<RunRecord> out = {run};
  for (const EvalPoint& after : evals) {
    if (after.stage != "after" || after.metric == run.metric) continue;
    if (std::any_of(out.begin(), out.end(), [&](const RunRecord& r) { return r.metric == after.metric; }))
      continue;
    RunRecord copy = run;
    copy.metric = after.metric;
    copy.metricAfter = after.value;
    copy.metricBefore = std::numeric_limits<double>::quiet_NaN();
    for (const EvalPoint& before : evals)
      if (before.stage == "before" && before.metric == after.metric) copy.metricBefore = before.value;
    copy.protocol = after.protocol;
    out.push_back(std::move(copy));
  }
  return out;
}

struct RunData {
  RunRecord run;
  std::vector<OpResult> ops;
  std::vector<SeriesPoint> series;
  std::vector<MaskFrame> frames;
  std::vector<EvalPoint> evals;
};

}  // namespace ranklab::api
