// Sweeps: a grid of compression jobs (methods x decompositions x budgets x seeds ...) run as one
// resumable batch into one run database, or emitted as a Slurm array job whose shards merge back.
//
// A grid is a job spec (jobs/job_spec.h keys) with lists in place of values:
//   {"model": "resources/models/gpt-mini", "eval": "resources/data/lm/test.txt", "max_eval_documents": 6,
//    "selector": ["uniform", "energy"], "keep": [0.3, 0.5, 0.7], "seed": [0, 1, 2]}
// Keys whose value is itself a list (tags, sensitivity_ratios) sweep when given a list of lists;
// manual_ranks sweeps when given a list of objects. Every combination is a point: a normal run
// tagged with the sweep's id. Points that end up identical (same spec hash) are run once.
//
// Sharing: points are ordered so that those with the same model, decomposition and calibration set
// run back to back, and JobRunner's decomposition cache then serves every point after the first one
// of each group (one calibration pass and one decomposition per group; the seed also draws the
// calibration windows, so each seed of a calibrated method is its own group). One JobRunner runs
// every point, so the dense model is evaluated once per model and evaluation set, not per point.
//
// Resuming: a point is finished when the database holds a succeeded run of this sweep with the
// point's spec hash; running a sweep again skips those. A run of the sweep left "running" by a killed
// process, or "failed", is deleted and its point run again, so every point ends with exactly one run.
// A lock file beside the database (`DB.sweep-ID.lock`, flock) keeps two processes from running the
// same sweep on the same database at once; the kernel releases it when a process dies.
//
// Torch-free header (the GUI's app layer plans sweeps with it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/job.h"
#include "api/run.h"
#include "common/progress.h"

namespace ranklab::store {
class RunStore;
}

namespace ranklab::jobs {

struct SweepGrid {
  std::string id;  // the grid's "sweep_id", else "sweep-" + 12 hex digits of its points' hashes
  std::vector<std::string> axes;     // keys given as lists, in expansion order
  std::vector<api::JobSpec> points;  // ordered for sharing; sweepId set on each
};

// The most points one grid may expand to (before identical points are merged).
inline constexpr int64_t kMaxSweepPoints = 10000;

// Expands `grid`. Throws ranklab::Error naming `context` for an unknown key, an empty list, a key
// that cannot vary in a sweep (db, store, export, sweep_id), a value of the wrong type, or more than
// kMaxSweepPoints combinations.
SweepGrid expandSweep(const nlohmann::json& grid, const std::string& context);
// Reads and expands a grid file.
SweepGrid loadSweep(const std::filesystem::path& file);

// Where a sweep stands against a database.
struct SweepPlan {
  std::vector<size_t> finished;              // indices of points with a succeeded run of this sweep
  std::vector<api::RunRecord> finishedRuns;  // that run, one per entry of `finished`
  std::vector<size_t> pending;               // indices still to run, in order
  std::vector<int64_t> staleRuns;  // runs of this sweep, left running or failed, to delete before re-running
};
SweepPlan planSweep(const SweepGrid& grid, const store::RunStore& db);
// planSweep, then deletes the stale runs so that each pending point can run afresh. Call it while
// holding the sweep's SweepLock (another process may be writing them otherwise).
SweepPlan resumeSweep(const SweepGrid& grid, store::RunStore& db);
// The database a sweep writes: `override` if given, else the points' "db", else the default.
std::string sweepDatabase(const SweepGrid& grid, const std::string& override = {});

// Holds the sweep's lock file beside `database` for its lifetime. Throws ranklab::Error when another
// process holds it (naming the lock file) or it cannot be created.
class SweepLock {
 public:
  SweepLock(const std::filesystem::path& database, const std::string& sweepId);
  ~SweepLock();
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;
  const std::filesystem::path& file() const { return m_file; }

 private:
  std::filesystem::path m_file;
  int m_fd = -1;
};

struct SweepPointResult {
  size_t index = 0;
  std::string status;  // skipped (finished earlier) | succeeded | failed | cancelled
  int64_t runId = 0;
  std::string name;
  bool decompositionFromCache = false;
  bool beforeFromEarlierJob = false;  // the dense model's evaluation came from an earlier point
  double seconds = 0.0;
  std::string metric;  // perplexity | accuracy | empty
  double metricAfter = 0.0;
  double keptFraction = 0.0;
  // api::comparisonGroup and api::groupLabel of the run; empty without a metric. Points of one
  // sweep compare only within one group (a grid may vary the evaluation options).
  std::string comparisonGroup, evaluatedOn;
  std::string error;
};

struct SweepReport {
  std::string id;
  std::string db;
  size_t points = 0;
  size_t skipped = 0, succeeded = 0, failed = 0;
  int64_t staleRunsRemoved = 0;
  int64_t decompositionsComputed =
      0;                          // points that computed their decomposition instead of reading the cache
  int64_t evaluationsShared = 0;  // points that reused an earlier point's "before" evaluation
  bool cancelled = false;
  double seconds = 0.0;
  std::vector<SweepPointResult> results;  // one per point, in order
};

struct SweepOptions {
  std::string db;  // overrides the points' database; empty: the grid's "db", else the default
  // Called after each point (skipped ones first, then as they finish), on the calling thread.
  std::function<void(const SweepPointResult&, const SweepReport&)> onPoint;
};

// Runs every pending point with JobRunner, one after another. A failed point does not stop the
// sweep; cancelling does (the running point's run is discarded as JobRunner does). Throws
// ranklab::Error when the database cannot be opened or the sweep is locked by another process.
SweepReport runSweep(const SweepGrid& grid, const SweepOptions& options, ProgressSink& progress,
                     CancelToken& cancel);

struct SlurmOptions {
  std::string partition;  // empty: the cluster's default
  int gpusPerTask = 0;    // 0: no GPU request
  int cpusPerTask = 0;    // 0: the cluster's default
  std::string time;       // e.g. "02:00:00"; empty: the partition's default
  std::string cli;        // the ranklab-cli the tasks run (absolute path)
};

// Writes DIR/task-<i>.json (one point each), DIR/sweep.sbatch (an array job whose task i runs
// `ranklab-cli run DIR/task-i.json --db DIR/shard-i.db --skip-finished`, logs in DIR/logs) and
// DIR/README.txt (how to submit and merge). Returns the number of tasks. Throws ranklab::Error when
// DIR cannot be written.
size_t emitSlurm(const SweepGrid& grid, const std::filesystem::path& dir, const SlurmOptions& options);

}  // namespace ranklab::jobs
