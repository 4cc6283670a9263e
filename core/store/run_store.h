// RunStore: every compression run RankLab makes, in one SQLite file. The only place SQL appears.
//
// Schema (DESIGN.md "Run store"), versioned with PRAGMA user_version and upgraded on open by a
// ladder of migrations inside one transaction: runs (the reproducibility capsule and headline
// metrics), run_tags, op_results (per-op rank, spectra as float32 BLOBs), series (per-step
// scalars), mask_frames (per logged step: int32 ranks BLOB + packed mask bits BLOB),
// eval_points, sensitivity (cached sensitivity tables keyed by a caller-made string).
//
// Thread-safety: one RunStore (one connection) per thread; several connections, threads or
// processes may open the same file (WAL journal, busy timeout). A job's thread writes; the UI reads.
// Errors: every failure throws ranklab::Error naming the database file and what went wrong
// (not a database, newer schema than this build, disk full, unknown run id). Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/run.h"

struct sqlite3;

namespace ranklab::store {

struct RunFilter {
  std::string text;     // substring of name, model path, decomposition, selector, tags or notes
  std::string status;   // exact status, empty = any
  std::string sweepId;  // exact sweep id, empty = any
  std::string tag;      // runs carrying this tag, empty = any
};

struct MergeReport {
  int64_t runsAdded = 0;
  int64_t runsSkipped = 0;  // already present (same uuid)
  int64_t sensitivityAdded = 0;
};

class RunStore {
 public:
  static constexpr int kSchemaVersion = 5;

  // The default database: $RANKLAB_DB if set, else $XDG_DATA_HOME/ranklab/runs.db, else
  // ~/.local/share/ranklab/runs.db.
  static std::filesystem::path defaultPath();

  // Opens or creates `file` (its parent directories are created; ":memory:" for a private
  // in-memory database) and migrates it to kSchemaVersion.
  explicit RunStore(const std::filesystem::path& file);
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  const std::filesystem::path& file() const { return m_file; }
  int schemaVersion() const;
  // SQLite's PRAGMA data_version: changes whenever another connection (another thread's RunStore,
  // another process) commits to the file, never for this connection's own writes. A cheap poll for
  // "something else wrote": the GUI refreshes its views when it changes.
  int64_t dataVersion() const;

  // --- write side (the job) ---
  // Inserts a run with status "running", owned by this process (host, pid, start time). Fills uuid
  // (random v4) and createdAt when empty; returns the new id. `record.id` is ignored.
  int64_t beginRun(const api::RunRecord& record);
  // Marks "interrupted", with an error naming the process, every running run whose process has
  // certainly ended (this host, pid gone or reused; common/process.h). The run's rows stay. Runs of
  // other hosts, of live processes and from before schema 4 are left alone. Opening a database file
  // does this (errors ignored there). Returns the ids it marked.
  std::vector<int64_t> reapAbandonedRuns();
  // "pid N on HOST" when run `id` is running and its process may still be at work (alive, or on
  // another host where it cannot be checked); "" otherwise.
  std::string liveOwner(int64_t id) const;
  // Replaces the run's op results.
  void putOps(int64_t runId, const std::vector<api::OpResult>& ops);
  // Append rows in one transaction each call.
  void appendSeries(int64_t runId, const std::vector<api::SeriesPoint>& points);
  void appendFrames(int64_t runId, const std::vector<api::MaskFrame>& frames);
  void addEvals(int64_t runId, const std::vector<api::EvalPoint>& evals);
  // Rewrites the run row from `record` (looked up by record.id): status, metrics, finishedAt,
  // seconds, error, ledger fields... Tags and notes are left alone.
  void updateRun(const api::RunRecord& record);
  // Deletes the run and every row that belongs to it, in one transaction (a cancelled job).
  void discardRun(int64_t runId);

  // --- read side ---
  std::vector<api::RunRecord> listRuns(const RunFilter& filter = {}) const;  // newest first
  std::optional<api::RunRecord> findRun(int64_t id) const;
  // The newest run with this spec hash and status "succeeded", if any.
  std::optional<api::RunRecord> findSucceededBySpecHash(const std::string& specHash) const;
  // Whole run; throws ranklab::Error for an unknown id.
  api::RunData loadRun(int64_t id) const;
  std::vector<api::OpResult> ops(int64_t runId) const;
  // Points of `name` (all names when empty), ordered by step.
  std::vector<api::SeriesPoint> series(int64_t runId, const std::string& name = "") const;
  // Frames with step >= fromStep, ordered by step (the live view asks only for new ones).
  std::vector<api::MaskFrame> frames(int64_t runId, int64_t fromStep = 0) const;
  std::vector<api::EvalPoint> evals(int64_t runId) const;
  // Every run's evaluations, by run id, in one query (views that plot every metric of every run).
  std::map<int64_t, std::vector<api::EvalPoint>> evalsByRun() const;

  // --- curation ---
  void deleteRun(int64_t id);  // throws ranklab::Error for an unknown id
  void setTags(int64_t id, const std::vector<std::string>& tags);
  void setNotes(int64_t id, const std::string& notes);

  // --- sensitivity tables (ALGORITHMS.md section 4) ---
  void putSensitivity(const std::string& key, const std::vector<api::SensitivityEntry>& table);
  std::optional<std::vector<api::SensitivityEntry>> sensitivity(const std::string& key) const;

  // Copies every run of `other` (migrating a copy-free read of it) whose uuid is not here yet, with
  // all its rows, and sensitivity tables with new keys, in one transaction. Idempotent.
  MergeReport merge(const std::filesystem::path& other);

 private:
  std::filesystem::path m_file;
  sqlite3* m_db = nullptr;
};

// A protocol as the run store keeps it: a JSON object (metric, file, sha256, separator, context,
// stride, truncate, max_documents, counted, documents, tokenizer_sha256); "" for an unknown one.
std::string protocolToJson(const api::EvalProtocol& protocol);

// "3.40.1": the SQLite library version, for the reproducibility capsule.
std::string sqliteVersion();

}  // namespace ranklab::store
