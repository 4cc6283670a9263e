// Job: one compression job as a list of stages (DESIGN.md "core modules", jobs). JobRunner::run
// calls them in this order; each is a method that reads the state the earlier ones left and can be
// run and tested on its own:
//
//   validate -> load -> describe -> begin (store the run as "running") -> evaluateBefore
//   -> sampleCalibration -> decompose (calibrate, decompose, or read the cache) -> selectRanks
//   -> apply -> finetune -> evaluateAfter -> exportModel -> succeed
//
// A stage throws ranklab::Error (a clear message naming the file or op), ranklab::Cancelled, or a
// LibTorch/JSON error; JobRunner turns those into exactly one outcome with cancelled() or fail().
// Without begin() nothing is stored: stages run against the model alone (tests, benchmarks).
// Not thread-safe: one thread drives a Job from start to end. Core-internal (includes LibTorch).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/job.h"
#include "common/progress.h"
#include "data/choices.h"
#include "jobs/job_runner.h"
#include "jobs/selector.h"
#include "lowrank/calibration.h"
#include "lowrank/decompose.h"
#include "models/loader.h"
#include "select/ledger.h"

namespace ranklab::store {
class RunStore;
}

namespace ranklab::jobs {

// Dense "before" evaluations an earlier job of the same runner measured, by evaluation key.
using BeforeCache = std::map<std::string, std::vector<api::EvalPoint>>;

// Checks a spec before anything heavy: method and selector names, ranges, finite numbers, that the
// named data files exist. Throws ranklab::Error. Job::validate() and sweeps (every point, before the
// first runs) call it.
void validateSpec(const api::JobSpec& spec);

class Job {
 public:
  // `observer` and `before` may be null. The references must outlive the Job.
  Job(const api::JobSpec& spec, ProgressSink& progress, CancelToken& cancel, JobObserver* observer = nullptr,
      BeforeCache* before = nullptr);
  ~Job();
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  // validateSpec(), then the parsed method and selector for the stages.
  void validate();
  // Loads the model and its tokenizer on the spec's device; an encoder without a classification
  // head gets a seeded one for the labelled task.
  void load();
  // Fills the run record: names, the model's and the data's SHA-256, parameter counts, the metric.
  void describe();
  // Opens the run database and records the run as "running" (skipped when spec.store is false);
  // tells the observer the run started.
  void begin();
  // The dense model on the evaluation data ("before"), reused from an earlier job of the same
  // runner when the model, data and evaluation options are the same.
  void evaluateBefore();
  // Cuts the calibration windows (or labelled examples) when the decomposition or the selector
  // needs them; checks that fine-tuning has training data.
  void sampleCalibration();
  // Every op's decomposition, from the on-disk cache when it holds this key, else calibrated and
  // computed (and cached). Uniform and manual ranks are known first, which a randomized SVD uses.
  void decompose();
  // Chooses one rank per op with the spec's selector (ARS and RankDyna train here).
  void selectRanks();
  // Puts the chosen ranks into the model (RankDyna already has) and records the per-op results.
  void apply();
  // Fine-tunes the compressed model when the spec asks for it (RankDyna's fine-tuning was its
  // compression); evaluates the compressed model first, on the same data, as "compressed".
  void finetune();
  // The final model on the same data as "before"; the last point where a job can be cancelled.
  void evaluateAfter();
  // Writes the factorized or dense export when the spec names a directory, replacing a previous
  // export there as a whole (never a mix of two); a folder of other files is refused in validate().
  void exportModel();

  // The job's end, exactly one of them: the run stored as succeeded; the run deleted (cancelled);
  // the run stored as failed with `message`.
  api::JobOutcome succeed();
  api::JobOutcome cancelled();
  api::JobOutcome fail(const std::string& message);

  // State the stages leave, for tests.
  const api::JobSpec& spec() const { return m_spec; }
  models::LanguageModel& model() const { return *m_loaded.model; }
  const api::RunRecord& record() const { return m_out.data.run; }
  const api::JobOutcome& outcome() const { return m_out; }
  const std::vector<lowrank::CalibrationSample>& calibrationSamples() const { return m_calibSamples; }
  const std::vector<lowrank::OpDecomposition>& decompositions() const { return m_decs; }
  const std::vector<int64_t>& ranks() const { return m_ranks; }

 private:
  void writeExport(const std::filesystem::path& dir) const;
  // One function per selector.
  std::vector<int64_t> uniformRanks() const;
  std::vector<int64_t> manualRanks() const;
  std::vector<int64_t> energyRanks();
  std::vector<int64_t> sensitivityRanks();
  std::vector<int64_t> arsRanks();
  std::vector<int64_t> rankDynaRanks();

  std::vector<api::EvalPoint> evaluate(const std::string& stage, double kept);
  // The headline metric among `points` (NaN when absent); the run takes its protocol.
  double headline(const std::vector<api::EvalPoint>& points);
  std::string beforeKey() const;
  // The SHA-256 describe() took of an evaluation file of the spec; "" for none.
  std::string evalHash(const std::string& file) const;
  // Records in the run's details how many training windows (fine-tuning, RankDyna) of what length.
  void recordTrainingWindows(size_t windows);
  std::vector<lowrank::CalibrationSample> samplesOf(const std::string& file, int64_t count) const;
  void computeDecompositions(const lowrank::DecomposeOptions& options);
  // Before a training stage (ARS, RankDyna, fine-tuning): chooses activation checkpointing for it
  // (recorded in the run's details) and refuses the stage when it cannot fit on the host.
  void prepareTraining(const std::string& stage, double extraBytes, const std::string& extraWhat);
  void recordLog(const std::vector<api::SeriesPoint>& points, const api::MaskFrame& frame);
  void noteWhitenRetries();
  std::vector<api::OpResult> opResults() const;
  double elapsed() const;

  const api::JobSpec& m_spec;
  ProgressSink& m_progress;
  CancelToken& m_cancel;
  JobObserver* m_observer;
  BeforeCache* m_before;
  const std::chrono::steady_clock::time_point m_started;

  Selector m_selector = Selector::Uniform;
  lowrank::Method m_method = lowrank::Method::Svd;
  api::JobOutcome m_out;
  api::RunRecord& m_rec;
  nlohmann::json m_details = nlohmann::json::object();
  std::unique_ptr<store::RunStore> m_db;
  int64_t m_runId = 0;

  models::LoadedModel m_loaded;
  std::vector<api::OpInfo> m_infos;
  bool m_causal = true;
  int64_t m_padId = 0;
  int64_t m_calibLength = 0;  // resolved (jobs::calibrationWindows)
  int64_t m_calibCount = 0;
  std::string m_evalFile;
  data::ChoiceSet m_choices;    // the multiple-choice set, read (and checked) before the model loads
  std::string m_tokenizerHash;  // SHA-256 of spec.tokenizer; "" when the model brings its own
  // SHA-256 of each evaluation file, by its path in the spec: hashed once, in describe().
  std::map<std::string, std::string> m_evalHashes;
  std::string m_trainFile;

  std::vector<lowrank::CalibrationSample> m_calibSamples;
  std::filesystem::path m_cacheDir;
  std::string m_cacheKey;
  std::vector<lowrank::OpDecomposition> m_decs;  // an op's a and b are undefined once set aside
  std::vector<bool> m_applied;                   // ops whose rank is in the model already
  std::vector<int64_t> m_ranks;
  std::vector<std::vector<int64_t>> m_rankDynaKept;
  select::Ledger m_ledger;
};

}  // namespace ranklab::jobs
