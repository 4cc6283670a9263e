#include "store/run_store.h"

#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <system_error>
#include <utility>

#include "common/clock.h"
#include "common/error.h"
#include "common/json_field.h"
#include "common/process.h"

namespace fs = std::filesystem;

namespace ranklab::store {

namespace {

// Byte layouts of the BLOB columns (all integers and floats little-endian, whatever the host):
//   op_results.spectrum, op_results.plain_spectrum: float32 x n, descending singular values.
//   mask_frames.ranks:       int32 x ops, kept rank per op in op order.
//   mask_frames.bit_lengths: int32 x ops, byte count of each op's packed mask; NULL when the frame
//                            carries no bits (MaskFrame::bits empty), so "no bits" and "ops with
//                            zero-length bits" stay distinct.
//   mask_frames.bits:        every op's packed mask bytes concatenated in op order; the lengths
//                            must add up to its size.
// Every REAL column is nullable: SQLite cannot store NaN, so NULL stands for it and reads back NaN.

// Version 1 is frozen: databases written by the first release contain exactly this. Never edit it;
// add a new step instead (tests/data/store/schema_v1.sql keeps a copy the migration test replays).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  status TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  seconds REAL,
  model_path TEXT NOT NULL DEFAULT '',
  model_hash TEXT NOT NULL DEFAULT '',
  architecture TEXT NOT NULL DEFAULT '',
  decomposition TEXT NOT NULL DEFAULT '',
  selector TEXT NOT NULL DEFAULT '',
  keep_target REAL,
  kept_fraction REAL,
  compressible_before INTEGER NOT NULL DEFAULT 0,
  compressible_after INTEGER NOT NULL DEFAULT 0,
  total_before INTEGER NOT NULL DEFAULT 0,
  total_after INTEGER NOT NULL DEFAULT 0,
  calib_path TEXT NOT NULL DEFAULT '',
  calib_hash TEXT NOT NULL DEFAULT '',
  eval_path TEXT NOT NULL DEFAULT '',
  eval_hash TEXT NOT NULL DEFAULT '',
  seed INTEGER NOT NULL DEFAULT 0,
  config_json TEXT NOT NULL DEFAULT '',
  versions_json TEXT NOT NULL DEFAULT '',
  device TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  metric TEXT NOT NULL DEFAULT '',
  metric_before REAL,
  metric_after REAL
);
CREATE TABLE op_results (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  op_index INTEGER NOT NULL,
  name TEXT NOT NULL,
  layer INTEGER NOT NULL,
  kind TEXT NOT NULL,
  in_features INTEGER NOT NULL,
  out_features INTEGER NOT NULL,
  kept_rank INTEGER NOT NULL,
  full_rank INTEGER NOT NULL,
  factorised INTEGER NOT NULL,
  energy_kept REAL,
  spectrum BLOB NOT NULL,
  plain_spectrum BLOB NOT NULL,
  PRIMARY KEY (run_id, op_index)
);
CREATE TABLE series (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL
);
CREATE TABLE eval_points (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage TEXT NOT NULL,
  dataset TEXT NOT NULL,
  metric TEXT NOT NULL,
  kept_fraction REAL,
  value REAL,
  counted INTEGER NOT NULL
);
CREATE INDEX eval_points_run ON eval_points(run_id);
)sql";

// Version 2: sweeps, curation (tags, notes), mask evolution and cached sensitivity tables. The
// uuid index is unique because merging relies on uuids to recognise runs it already holds.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE runs ADD COLUMN sweep_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN spec_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX runs_uuid ON runs(uuid);
CREATE INDEX runs_spec_hash ON runs(spec_hash);
CREATE INDEX runs_sweep_id ON runs(sweep_id);
CREATE INDEX series_run_name_step ON series(run_id, name, step);
CREATE TABLE run_tags (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (run_id, position),
  UNIQUE (run_id, tag)
);
CREATE INDEX run_tags_tag ON run_tags(tag);
CREATE TABLE mask_frames (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  ranks BLOB NOT NULL,
  bit_lengths BLOB,
  bits BLOB,
  PRIMARY KEY (run_id, step)
);
CREATE TABLE sensitivity (
  table_key TEXT NOT NULL,
  position INTEGER NOT NULL,
  op_index INTEGER NOT NULL,
  ratio REAL,
  perplexity REAL,
  PRIMARY KEY (table_key, position)
);
)sql";

// Version 3: one spelling, "factorized", in code, JSON and the schema.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE op_results RENAME COLUMN factorised TO factorized;
)sql";

// Version 4: the process that runs a "running" run ("HOST:PID:START", common/process.h), so a run
// whose process was killed can be told from one still at work. Empty for runs written before.
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
)sql";

// Version 5: how every metric was measured (api::EvalProtocol as JSON, protocolToJson; '' when
// unknown). The runs' column is the protocol of their headline metric. reconstructProtocols()
// fills both for the rows written before, from the stored job spec.
constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE runs ADD COLUMN eval_protocol TEXT NOT NULL DEFAULT '';
ALTER TABLE eval_points ADD COLUMN protocol TEXT NOT NULL DEFAULT '';
)sql";

// kMigrations[v] takes a database from user_version v to v + 1.
constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4, kSchemaV5};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == RunStore::kSchemaVersion,
              "one migration per schema version");

// Never throws: a damaged cell reads as an unknown protocol (never pooled), not as a lost database.
api::EvalProtocol protocolFromJson(const std::string& text) {
  api::EvalProtocol p;
  if (text.empty()) return p;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return p;
  try {
    p.metric = j.at("metric").get<std::string>();
    p.file = j.at("file").get<std::string>();
    p.fileHash = j.at("sha256").get<std::string>();
    p.separator = j.at("separator").get<std::string>();
    p.context = j.at("context").get<int64_t>();
    p.stride = j.at("stride").get<int64_t>();
    p.truncate = j.at("truncate").get<bool>();
    p.maxDocuments = j.at("max_documents").get<int64_t>();
    p.counted = j.at("counted").get<int64_t>();
    p.documents = j.at("documents").get<int64_t>();
    p.tokenizerHash = j.at("tokenizer_sha256").get<std::string>();
    // Written since multiple-choice tasks (no schema change: absent in older cells means none).
    p.scoring = j.value("scoring", std::string());
    p.known = !p.metric.empty() && !p.fileHash.empty();
  } catch (const nlohmann::json::exception&) {
    p = {};
  }
  return p;
}

bool isMemory(const fs::path& file) { return file.native() == ":memory:"; }

std::string label(const fs::path& file) { return "run database " + file.string(); }

// A connection and the file it belongs to, for error messages.
struct Db {
  sqlite3* handle;
  const fs::path& file;
};

[[noreturn]] void fail(const Db& db, const std::string& what, int rc) {
  std::string message = label(db.file) + ": " + what;
  switch (rc & 0xff) {
    case SQLITE_FULL:
      message += ": the disk is full; nothing was written";
      break;
    case SQLITE_NOTADB:
      message += ": the file is not an SQLite database";
      break;
    case SQLITE_BUSY:
      message += ": another connection kept the database locked for 5 s";
      break;
    case SQLITE_READONLY:
      message += ": the database is read-only";
      break;
    default:
      break;
  }
  const char* detail = db.handle ? sqlite3_errmsg(db.handle) : sqlite3_errstr(rc);
  throw Error(message + " (" + detail + ")");
}

[[noreturn]] void failUnknownRun(const Db& db, int64_t id) {
  throw Error(label(db.file) + ": no run with id " + std::to_string(id));
}

void execScript(const Db& db, const std::string& sql, const std::string& what) {
  const int rc = sqlite3_exec(db.handle, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, what, rc);
}

class Statement {
 public:
  Statement(const Db& db, std::string what, const std::string& sql) : m_db(db), m_what(std::move(what)) {
    const int rc =
        sqlite3_prepare_v2(m_db.handle, sql.c_str(), static_cast<int>(sql.size()), &m_stmt, nullptr);
    if (rc != SQLITE_OK) fail(m_db, m_what, rc);
  }
  ~Statement() { sqlite3_finalize(m_stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int index, int64_t value) { check(sqlite3_bind_int64(m_stmt, index, value)); }
  void bind(int index, double value) {
    check(std::isnan(value) ? sqlite3_bind_null(m_stmt, index) : sqlite3_bind_double(m_stmt, index, value));
  }
  void bind(int index, const std::string& value) {
    check(sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void bindBlob(int index, const std::vector<uint8_t>& bytes) {
    // A null data pointer would bind NULL; an empty BLOB must stay an empty BLOB.
    check(bytes.empty() ? sqlite3_bind_zeroblob(m_stmt, index, 0)
                        : sqlite3_bind_blob64(m_stmt, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
  }
  void bindNull(int index) { check(sqlite3_bind_null(m_stmt, index)); }

  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(m_db, m_what, rc);
  }
  // Runs a statement that returns no rows, ready to be bound again.
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }

  bool isNull(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
  int64_t int64(int col) const { return sqlite3_column_int64(m_stmt, col); }
  double real(int col) const {
    return isNull(col) ? std::numeric_limits<double>::quiet_NaN() : sqlite3_column_double(m_stmt, col);
  }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(m_stmt, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(m_stmt, col)))
             : std::string();
  }
  // Valid until the next step or reset.
  std::pair<const uint8_t*, size_t> blob(int col) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(m_stmt, col));
    return {p, p ? static_cast<size_t>(sqlite3_column_bytes(m_stmt, col)) : 0};
  }

  void read(int col, std::string& out) const { out = text(col); }
  void read(int col, double& out) const { out = real(col); }
  void read(int col, int64_t& out) const { out = int64(col); }
  void read(int col, api::EvalProtocol& out) const { out = protocolFromJson(text(col)); }
  void bind(int index, const api::EvalProtocol& p) { bind(index, protocolToJson(p)); }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail(m_db, m_what, rc);
  }

  Db m_db;
  std::string m_what;
  sqlite3_stmt* m_stmt = nullptr;
};

// Rolls back unless committed. SQLite may already have rolled back on its own (disk full, I/O
// error), so the destructor asks before issuing ROLLBACK and ignores its outcome: it must not throw.
class Transaction {
 public:
  enum class Mode { Read, Write };
  Transaction(const Db& db, std::string what, Mode mode = Mode::Write) : m_db(db), m_what(std::move(what)) {
    // A writer takes the write lock up front: upgrading a read transaction later can fail with
    // SQLITE_BUSY immediately, bypassing the busy timeout.
    execScript(m_db, mode == Mode::Write ? "BEGIN IMMEDIATE" : "BEGIN", m_what);
  }
  ~Transaction() {
    if (!m_committed && !sqlite3_get_autocommit(m_db.handle))
      sqlite3_exec(m_db.handle, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit() {
    execScript(m_db, "COMMIT", m_what);
    m_committed = true;
  }

 private:
  Db m_db;
  std::string m_what;
  bool m_committed = false;
};

// Closes a connection that a constructor opened but did not finish setting up.
struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

// --- little-endian BLOB codecs ---

void putU32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 24));
}

uint32_t getU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

std::vector<uint8_t> encodeFloats(const std::vector<float>& values) {
  std::vector<uint8_t> out;
  out.reserve(values.size() * 4);
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    putU32(out, bits);
  }
  return out;
}

std::vector<uint8_t> encodeInts(const std::vector<int32_t>& values) {
  std::vector<uint8_t> out;
  out.reserve(values.size() * 4);
  for (int32_t v : values) putU32(out, static_cast<uint32_t>(v));
  return out;
}

// `where` names the row for the message when the BLOB is not a whole number of 4-byte values.
std::vector<float> decodeFloats(const Db& db, std::pair<const uint8_t*, size_t> blob,
                                const std::string& where) {
  if (blob.second % 4 != 0)
    throw Error(label(db.file) + ": " + where + " is damaged (" + std::to_string(blob.second) +
                " bytes, not a whole number of float32 values)");
  std::vector<float> out(blob.second / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint32_t bits = getU32(blob.first + 4 * i);
    std::memcpy(&out[i], &bits, 4);
  }
  return out;
}

std::vector<int32_t> decodeInts(const Db& db, std::pair<const uint8_t*, size_t> blob,
                                const std::string& where) {
  if (blob.second % 4 != 0)
    throw Error(label(db.file) + ": " + where + " is damaged (" + std::to_string(blob.second) +
                " bytes, not a whole number of int32 values)");
  std::vector<int32_t> out(blob.second / 4);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int32_t>(getU32(blob.first + 4 * i));
  return out;
}

// --- runs: one list of columns drives INSERT, UPDATE and SELECT so they cannot drift apart ---

// Set when the run is created and left alone by updateRun.
template <typename Record, typename F>
void forEachFixedColumn(Record& r, F&& f) {
  f("uuid", r.uuid);
  f("created_at", r.createdAt);
  f("notes", r.notes);
}

// Rewritten by updateRun.
template <typename Record, typename F>
void forEachBodyColumn(Record& r, F&& f) {
  f("status", r.status);
  f("name", r.name);
  f("finished_at", r.finishedAt);
  f("seconds", r.seconds);
  f("model_path", r.modelPath);
  f("model_hash", r.modelHash);
  f("architecture", r.architecture);
  f("decomposition", r.decomposition);
  f("selector", r.selector);
  f("keep_target", r.keepTarget);
  f("kept_fraction", r.keptFraction);
  f("compressible_before", r.compressibleBefore);
  f("compressible_after", r.compressibleAfter);
  f("total_before", r.totalBefore);
  f("total_after", r.totalAfter);
  f("calib_path", r.calibPath);
  f("calib_hash", r.calibHash);
  f("eval_path", r.evalPath);
  f("eval_hash", r.evalHash);
  f("seed", r.seed);
  f("config_json", r.configJson);
  f("versions_json", r.versionsJson);
  f("device", r.device);
  f("error", r.error);
  f("sweep_id", r.sweepId);
  f("spec_hash", r.specHash);
  f("metric", r.metric);
  f("metric_before", r.metricBefore);
  f("metric_after", r.metricAfter);
  f("eval_protocol", r.protocol);
}

const std::string& runSelect() {
  static const std::string sql = [] {
    std::string s = "SELECT id";
    api::RunRecord r;
    auto add = [&](const char* name, auto&) { s += std::string(", ") + name; };
    forEachFixedColumn(r, add);
    forEachBodyColumn(r, add);
    return s + " FROM runs ";
  }();
  return sql;
}

const std::string& runInsert() {
  static const std::string sql = [] {
    std::string names, params;
    api::RunRecord r;
    auto add = [&](const char* name, auto&) {
      names += (names.empty() ? "" : ", ") + std::string(name);
      params += params.empty() ? "?" : ", ?";
    };
    forEachFixedColumn(r, add);
    forEachBodyColumn(r, add);
    return "INSERT INTO runs (" + names + ") VALUES (" + params + ")";
  }();
  return sql;
}

const std::string& runUpdate() {
  static const std::string sql = [] {
    std::string sets;
    api::RunRecord r;
    forEachBodyColumn(
        r, [&](const char* name, auto&) { sets += (sets.empty() ? "" : ", ") + std::string(name) + " = ?"; });
    return "UPDATE runs SET " + sets + " WHERE id = ?";
  }();
  return sql;
}

int bindBody(Statement& s, int first, const api::RunRecord& r) {
  forEachBodyColumn(r, [&](const char*, const auto& value) { s.bind(first++, value); });
  return first;
}

std::vector<std::string> readTags(const Db& db, int64_t runId, Statement* reuse = nullptr) {
  std::optional<Statement> own;
  if (!reuse) own.emplace(db, "reading tags", "SELECT tag FROM run_tags WHERE run_id = ? ORDER BY position");
  Statement& s = reuse ? *reuse : *own;
  s.bind(1, runId);
  std::vector<std::string> tags;
  while (s.step()) tags.push_back(s.text(0));
  s.reset();
  return tags;
}

// Reads the run row the statement (made from runSelect()) is on; tags are read separately.
api::RunRecord readRunRow(const Statement& s) {
  api::RunRecord r;
  r.id = s.int64(0);
  int col = 1;
  forEachFixedColumn(r, [&](const char*, auto& value) { s.read(col++, value); });
  forEachBodyColumn(r, [&](const char*, auto& value) { s.read(col++, value); });
  return r;
}

std::vector<api::RunRecord> queryRuns(const Db& db, Statement& s) {
  Statement tags(db, "reading tags", "SELECT tag FROM run_tags WHERE run_id = ? ORDER BY position");
  std::vector<api::RunRecord> runs;
  while (s.step()) runs.push_back(readRunRow(s));
  s.reset();
  for (auto& r : runs) r.tags = readTags(db, r.id, &tags);
  return runs;
}

std::optional<api::RunRecord> readRun(const Db& db, int64_t id) {
  Statement s(db, "reading run " + std::to_string(id), runSelect() + "WHERE id = ?");
  s.bind(1, id);
  auto runs = queryRuns(db, s);
  if (runs.empty()) return std::nullopt;
  return std::move(runs.front());
}

void requireRun(const Db& db, int64_t id) {
  Statement s(db, "looking up run " + std::to_string(id), "SELECT 1 FROM runs WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) failUnknownRun(db, id);
}

int64_t insertRun(const Db& db, const api::RunRecord& r) {
  Statement s(db, "adding run " + r.uuid, runInsert());
  int col = 1;
  forEachFixedColumn(r, [&](const char*, const auto& value) { s.bind(col++, value); });
  bindBody(s, col, r);
  s.run();
  return sqlite3_last_insert_rowid(db.handle);
}

// Duplicates and empty tags carry no meaning, and the (run_id, tag) uniqueness would reject them.
void writeTags(const Db& db, int64_t runId, const std::vector<std::string>& tags) {
  Statement del(db, "writing tags", "DELETE FROM run_tags WHERE run_id = ?");
  del.bind(1, runId);
  del.run();
  Statement ins(db, "writing tags", "INSERT INTO run_tags (run_id, position, tag) VALUES (?, ?, ?)");
  std::set<std::string> seen;
  int64_t position = 0;
  for (const auto& tag : tags) {
    if (tag.empty() || !seen.insert(tag).second) continue;
    ins.bind(1, runId);
    ins.bind(2, position++);
    ins.bind(3, tag);
    ins.run();
  }
}

void insertOps(const Db& db, int64_t runId, const std::vector<api::OpResult>& ops) {
  Statement s(
      db, "writing op results",
      "INSERT INTO op_results (run_id, op_index, name, layer, kind, in_features, out_features, kept_rank, "
      "full_rank, factorized, energy_kept, spectrum, plain_spectrum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, "
      "?, ?)");
  for (const auto& op : ops) {
    s.bind(1, runId);
    s.bind(2, op.index);
    s.bind(3, op.name);
    s.bind(4, static_cast<int64_t>(op.layer));
    s.bind(5, op.kind);
    s.bind(6, op.inFeatures);
    s.bind(7, op.outFeatures);
    s.bind(8, op.rank);
    s.bind(9, op.fullRank);
    s.bind(10, static_cast<int64_t>(op.factorized ? 1 : 0));
    s.bind(11, op.energyKept);
    s.bindBlob(12, encodeFloats(op.spectrum));
    s.bindBlob(13, encodeFloats(op.plainSpectrum));
    s.run();
  }
}

void insertSeries(const Db& db, int64_t runId, const std::vector<api::SeriesPoint>& points) {
  Statement s(db, "appending series", "INSERT INTO series (run_id, step, name, value) VALUES (?, ?, ?, ?)");
  for (const auto& p : points) {
    s.bind(1, runId);
    s.bind(2, p.step);
    s.bind(3, p.name);
    s.bind(4, p.value);
    s.run();
  }
}

void insertFrames(const Db& db, int64_t runId, const std::vector<api::MaskFrame>& frames) {
  Statement s(db, "appending mask frames",
              "INSERT INTO mask_frames (run_id, step, ranks, bit_lengths, bits) VALUES (?, ?, ?, ?, ?)");
  std::vector<uint8_t> lengths, bits;
  for (const auto& f : frames) {
    s.bind(1, runId);
    s.bind(2, f.step);
    s.bindBlob(3, encodeInts(f.ranks));
    if (f.bits.empty()) {
      s.bindNull(4);
      s.bindNull(5);
    } else {
      if (f.bits.size() != f.ranks.size())
        throw Error(label(db.file) + ": appending mask frames: the frame at step " + std::to_string(f.step) +
                    " has ranks for " + std::to_string(f.ranks.size()) + " ops but bits for " +
                    std::to_string(f.bits.size()));
      lengths.clear();
      bits.clear();
      for (const auto& op : f.bits) {
        putU32(lengths, static_cast<uint32_t>(op.size()));
        bits.insert(bits.end(), op.begin(), op.end());
      }
      s.bindBlob(4, lengths);
      s.bindBlob(5, bits);
    }
    s.run();
  }
}

void insertEvals(const Db& db, int64_t runId, const std::vector<api::EvalPoint>& evals) {
  Statement s(
      db, "adding evaluations",
      "INSERT INTO eval_points (run_id, stage, dataset, metric, kept_fraction, value, counted, protocol) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  for (const auto& e : evals) {
    s.bind(1, runId);
    s.bind(2, e.stage);
    s.bind(3, e.dataset);
    s.bind(4, e.metric);
    s.bind(5, e.keptFraction);
    s.bind(6, e.value);
    s.bind(7, e.count);
    s.bind(8, e.protocol);
    s.run();
  }
}

void insertSensitivity(const Db& db, const std::string& key,
                       const std::vector<api::SensitivityEntry>& table) {
  Statement s(
      db, "writing sensitivity table '" + key + "'",
      "INSERT INTO sensitivity (table_key, position, op_index, ratio, perplexity) VALUES (?, ?, ?, ?, ?)");
  int64_t position = 0;
  for (const auto& e : table) {
    s.bind(1, key);
    s.bind(2, position++);
    s.bind(3, e.opIndex);
    s.bind(4, e.ratio);
    s.bind(5, e.perplexity);
    s.run();
  }
}

std::vector<api::SensitivityEntry> readSensitivity(const Db& db, const std::string& key) {
  Statement s(db, "reading sensitivity table '" + key + "'",
              "SELECT op_index, ratio, perplexity FROM sensitivity WHERE table_key = ? ORDER BY position");
  s.bind(1, key);
  std::vector<api::SensitivityEntry> table;
  while (s.step()) table.push_back({s.int64(0), s.real(1), s.real(2)});
  return table;
}

std::vector<api::OpResult> readOps(const Db& db, int64_t runId) {
  Statement s(
      db, "reading op results of run " + std::to_string(runId),
      "SELECT op_index, name, layer, kind, in_features, out_features, kept_rank, full_rank, factorized, "
      "energy_kept, spectrum, plain_spectrum FROM op_results WHERE run_id = ? ORDER BY op_index");
  s.bind(1, runId);
  std::vector<api::OpResult> ops;
  while (s.step()) {
    api::OpResult op;
    op.index = s.int64(0);
    op.name = s.text(1);
    op.layer = static_cast<int>(s.int64(2));
    op.kind = s.text(3);
    op.inFeatures = s.int64(4);
    op.outFeatures = s.int64(5);
    op.rank = s.int64(6);
    op.fullRank = s.int64(7);
    op.factorized = s.int64(8) != 0;
    op.energyKept = s.real(9);
    const std::string where = "run " + std::to_string(runId) + ", op " + std::to_string(op.index);
    op.spectrum = decodeFloats(db, s.blob(10), where + " spectrum");
    op.plainSpectrum = decodeFloats(db, s.blob(11), where + " plain spectrum");
    ops.push_back(std::move(op));
  }
  return ops;
}

std::vector<api::SeriesPoint> readSeries(const Db& db, int64_t runId, const std::string& name) {
  // rowid keeps the order in which points of one step were appended.
  Statement s(
      db, "reading series of run " + std::to_string(runId),
      name.empty()
          ? "SELECT step, name, value FROM series WHERE run_id = ? ORDER BY step, rowid"
          : "SELECT step, name, value FROM series WHERE run_id = ? AND name = ? ORDER BY step, rowid");
  s.bind(1, runId);
  if (!name.empty()) s.bind(2, name);
  std::vector<api::SeriesPoint> points;
  while (s.step()) points.push_back({s.int64(0), s.text(1), s.real(2)});
  return points;
}

std::vector<api::MaskFrame> readFrames(const Db& db, int64_t runId, int64_t fromStep) {
  Statement s(
      db, "reading mask frames of run " + std::to_string(runId),
      "SELECT step, ranks, bit_lengths, bits FROM mask_frames WHERE run_id = ? AND step >= ? ORDER BY step");
  s.bind(1, runId);
  s.bind(2, fromStep);
  std::vector<api::MaskFrame> frames;
  while (s.step()) {
    api::MaskFrame f;
    f.step = s.int64(0);
    const std::string where =
        "run " + std::to_string(runId) + ", mask frame at step " + std::to_string(f.step);
    f.ranks = decodeInts(db, s.blob(1), where + " ranks");
    if (!s.isNull(2)) {
      const auto lengths = decodeInts(db, s.blob(2), where + " bit lengths");
      const auto bits = s.blob(3);
      f.bits.resize(lengths.size());
      size_t offset = 0;
      for (size_t i = 0; i < lengths.size(); ++i) {
        const auto n = static_cast<size_t>(static_cast<uint32_t>(lengths[i]));
        if (n > bits.second - offset)
          throw Error(label(db.file) + ": " + where + " is damaged (op " + std::to_string(i) +
                      " bits end at byte " + std::to_string(offset + n) + ", the BLOB has " +
                      std::to_string(bits.second) + ")");
        f.bits[i].assign(bits.first + offset, bits.first + offset + n);
        offset += n;
      }
      if (offset != bits.second)
        throw Error(label(db.file) + ": " + where + " is damaged (op lengths add up to " +
                    std::to_string(offset) + " bytes, the BLOB has " + std::to_string(bits.second) + ")");
    }
    frames.push_back(std::move(f));
  }
  return frames;
}

std::vector<api::EvalPoint> readEvals(const Db& db, int64_t runId) {
  Statement s(db, "reading evaluations of run " + std::to_string(runId),
              "SELECT stage, dataset, metric, kept_fraction, value, counted, protocol FROM eval_points WHERE "
              "run_id = ? "
              "ORDER BY id");
  s.bind(1, runId);
  std::vector<api::EvalPoint> evals;
  while (s.step())
    evals.push_back(
        {s.text(0), s.text(1), s.text(2), s.real(3), s.real(4), s.int64(5), protocolFromJson(s.text(6))});
  return evals;
}

void deleteRunRow(const Db& db, int64_t id, const std::string& what) {
  Transaction txn(db, what);
  Statement s(db, what, "DELETE FROM runs WHERE id = ?");
  s.bind(1, id);
  s.run();
  if (sqlite3_changes(db.handle) == 0) failUnknownRun(db, id);
  txn.commit();
}

int userVersion(const Db& db) {
  Statement s(db, "reading the schema version", "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.int64(0));
}

// Schema 5's protocols for the rows written before it, from what the run stored: its job spec
// (separator, context, stride, truncation, max documents, tokenizer file), the evaluation file's
// hash and the tokens counted. The tokenizer file was not hashed then: its path stands in
// ("path:FILE"), so these runs pool only with each other. A run whose spec cannot be read, or an
// evaluation whose file hash was not stored, keeps an unknown protocol.
void reconstructProtocols(const Db& db) {
  const std::string what = "upgrading the schema from version 4 to 5 (evaluation protocols)";
  struct Run {
    int64_t id;
    std::string metric, evalPath, evalHash, config;
  };
  std::vector<Run> runs;
  {
    Statement s(db, what, "SELECT id, metric, eval_path, eval_hash, config_json FROM runs");
    while (s.step()) runs.push_back({s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4)});
  }
  Statement points(db, what,
                   "SELECT id, dataset, metric, counted FROM eval_points WHERE run_id = ? ORDER BY id");
  Statement setPoint(db, what, "UPDATE eval_points SET protocol = ? WHERE id = ?");
  Statement setRun(db, what, "UPDATE runs SET eval_protocol = ? WHERE id = ?");
  for (const auto& run : runs) {
    const auto spec = nlohmann::json::parse(run.config, nullptr, false);
    std::vector<std::pair<int64_t, api::EvalProtocol>> found;
    points.bind(1, run.id);
    while (points.step()) {
      api::EvalProtocol p;
      const std::string dataset = points.text(1);
      p.metric = points.text(2);
      p.counted = points.int64(3);
      p.file = fs::path(dataset).filename().string();
      p.fileHash = dataset == run.evalPath ? run.evalHash : "";
      try {
        const char* fileKey = p.metric == "perplexity" ? "eval" : "labelled";
        if (spec.is_object() && spec.contains(fileKey) && !p.fileHash.empty()) {
          if (p.metric == "perplexity") {
            p.separator = spec.value("separator", std::string("<|endoftext|>"));
            p.context = spec.value("eval_context", int64_t{0});
            p.stride = spec.value("eval_stride", int64_t{0});
            p.truncate = spec.value("truncate", false);
            p.maxDocuments = spec.value("max_eval_documents", int64_t{0});
          }
          const auto tokenizer = spec.value("tokenizer", std::string());
          p.tokenizerHash = tokenizer.empty() ? "" : "path:" + tokenizer;
          p.known = true;
        }
      } catch (const nlohmann::json::exception&) {
        p = {};
      }
      found.emplace_back(points.int64(0), p);
    }
    points.reset();
    const api::EvalProtocol* headline = nullptr;
    for (const auto& [id, p] : found) {
      setPoint.bind(1, p);
      setPoint.bind(2, id);
      setPoint.run();
      if (!headline && p.metric == run.metric) headline = &p;
    }
    if (headline) {
      setRun.bind(1, *headline);
      setRun.bind(2, run.id);
      setRun.run();
    }
  }
}

void migrate(const Db& db) {
  if (userVersion(db) == RunStore::kSchemaVersion) return;
  Transaction txn(db, "upgrading the schema");
  // Another process may have upgraded the file while this one waited for the write lock.
  const int from = userVersion(db);
  for (int v = from; v < RunStore::kSchemaVersion; ++v) {
    execScript(db, kMigrations[v],
               "upgrading the schema from version " + std::to_string(v) + " to " + std::to_string(v + 1));
    if (v + 1 == 5) reconstructProtocols(db);
  }
  execScript(db, "PRAGMA user_version = " + std::to_string(RunStore::kSchemaVersion), "upgrading the schema");
  txn.commit();
}

std::string newUuid() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  uint64_t hi = engine(), lo = engine();
  hi = (hi & ~uint64_t{0xF000}) | uint64_t{0x4000};              // version 4
  lo = (lo & ~(uint64_t{0xC0} << 56)) | (uint64_t{0x80} << 56);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof(text), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return text;
}

// LIKE pattern matching `text` literally anywhere (ASCII case-insensitive, SQLite's LIKE).
std::string containsPattern(const std::string& text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  return pattern + "%";
}

}  // namespace

fs::path RunStore::defaultPath() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value ? value : "";
  };
  if (auto db = env("RANKLAB_DB"); !db.empty()) return db;
  // XDG: an empty or relative XDG_DATA_HOME is invalid and must be ignored.
  if (auto xdg = env("XDG_DATA_HOME"); !xdg.empty() && fs::path(xdg).is_absolute())
    return fs::path(xdg) / "ranklab" / "runs.db";
  if (auto home = env("HOME"); !home.empty())
    return fs::path(home) / ".local" / "share" / "ranklab" / "runs.db";
  return fs::path("ranklab-runs.db");
}

RunStore::RunStore(const fs::path& file) : m_file(file) {
  const bool memory = isMemory(file);
  if (!memory) {
    if (file.empty()) throw Error("run database: no file name given");
    std::error_code ec;
    if (const auto parent = file.parent_path(); !parent.empty()) {
      fs::create_directories(parent, ec);
      if (ec)
        throw Error(label(file) + ": cannot create the folder " + parent.string() + " (" + ec.message() +
                    ")");
    }
    if (fs::is_directory(file, ec)) throw Error(label(file) + ": is a folder, not a database file");
  }

  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, ConnectionCloser> connection(raw);
  const Db db{raw, m_file};
  if (rc != SQLITE_OK) fail(db, "opening", rc);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);

  // Check what the file is before changing anything in it (journal mode, schema).
  const int version = userVersion(db);
  if (version > kSchemaVersion)
    throw Error(label(file) + ": was written by a newer RankLab (schema " + std::to_string(version) +
                ", this build reads up to " + std::to_string(kSchemaVersion) + ")");
  if (version == 0) {
    Statement s(db, "inspecting the file", "SELECT count(*) FROM sqlite_master");
    s.step();
    if (s.int64(0) != 0)
      throw Error(label(file) + ": is an SQLite database of some other program, not a RankLab run database");
  }

  if (!memory) {
    // WAL lets the UI read while a job writes; with WAL, synchronous=NORMAL still never corrupts the
    // file and saves an fsync per commit (a job commits at every logged step).
    Statement wal(db, "switching to write-ahead logging", "PRAGMA journal_mode=WAL");
    wal.step();
    execScript(db, "PRAGMA synchronous=NORMAL", "setting synchronous mode");
  }
  execScript(db, "PRAGMA foreign_keys=ON", "enabling foreign keys");
  migrate(db);
  m_db = connection.release();
  if (!memory) {
    // Best effort: a reader that may not write (a read-only file, a busy writer) still opens.
    try {
      reapAbandonedRuns();
    } catch (const Error&) {
    }
  }
}

RunStore::~RunStore() { sqlite3_close_v2(m_db); }

int RunStore::schemaVersion() const { return userVersion({m_db, m_file}); }

int64_t RunStore::dataVersion() const {
  Statement s({m_db, m_file}, "reading the data version", "PRAGMA data_version");
  s.step();
  return s.int64(0);
}

int64_t RunStore::beginRun(const api::RunRecord& record) {
  const Db db{m_db, m_file};
  api::RunRecord r = record;
  r.status = "running";
  if (r.uuid.empty()) r.uuid = newUuid();
  if (r.createdAt.empty()) r.createdAt = utcNow();
  Transaction txn(db, "starting run " + r.uuid);
  const int64_t id = insertRun(db, r);
  writeTags(db, id, r.tags);
  Statement owner(db, "starting run " + r.uuid, "UPDATE runs SET owner = ? WHERE id = ?");
  owner.bind(1, currentProcessIdentity());
  owner.bind(2, id);
  owner.run();
  txn.commit();
  return id;
}

std::vector<int64_t> RunStore::reapAbandonedRuns() {
  const Db db{m_db, m_file};
  std::vector<std::pair<int64_t, ProcessIdentity>> gone;
  {
    Statement s(db, "looking for abandoned runs",
                "SELECT id, owner FROM runs WHERE status = 'running' AND owner != ''");
    while (s.step()) {
      const auto owner = parseProcessIdentity(s.text(1));
      if (owner && processHasEnded(*owner)) gone.emplace_back(s.int64(0), *owner);
    }
  }
  std::vector<int64_t> reaped;
  for (const auto& [id, owner] : gone) {
    const std::string what = "marking abandoned run " + std::to_string(id) + " interrupted";
    Transaction txn(db, what);
    Statement s(db, what,
                "UPDATE runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ? AND status "
                "= 'running'");
    s.bind(1, utcNow());
    s.bind(2,
           "the process that ran it (pid " + std::to_string(owner.pid) + " on " + owner.host +
               ") ended before the run finished (killed, crashed or out of memory); what it stored so far is "
               "kept");
    s.bind(3, id);
    s.run();
    if (sqlite3_changes(m_db) > 0) reaped.push_back(id);
    txn.commit();
  }
  return reaped;
}

std::string RunStore::liveOwner(int64_t id) const {
  const Db db{m_db, m_file};
  Statement s(db, "reading run " + std::to_string(id), "SELECT status, owner FROM runs WHERE id = ?");
  s.bind(1, id);
  if (!s.step() || s.text(0) != "running") return "";
  const auto owner = parseProcessIdentity(s.text(1));
  if (!owner) return "";
  if (processHasEnded(*owner)) return "";
  return "pid " + std::to_string(owner->pid) + " on " + owner->host;
}

void RunStore::putOps(int64_t runId, const std::vector<api::OpResult>& ops) {
  const Db db{m_db, m_file};
  Transaction txn(db, "writing op results");
  requireRun(db, runId);
  Statement del(db, "writing op results", "DELETE FROM op_results WHERE run_id = ?");
  del.bind(1, runId);
  del.run();
  insertOps(db, runId, ops);
  txn.commit();
}

void RunStore::appendSeries(int64_t runId, const std::vector<api::SeriesPoint>& points) {
  const Db db{m_db, m_file};
  Transaction txn(db, "appending series");
  requireRun(db, runId);
  insertSeries(db, runId, points);
  txn.commit();
}

void RunStore::appendFrames(int64_t runId, const std::vector<api::MaskFrame>& frames) {
  const Db db{m_db, m_file};
  Transaction txn(db, "appending mask frames");
  requireRun(db, runId);
  insertFrames(db, runId, frames);
  txn.commit();
}

void RunStore::addEvals(int64_t runId, const std::vector<api::EvalPoint>& evals) {
  const Db db{m_db, m_file};
  Transaction txn(db, "adding evaluations");
  requireRun(db, runId);
  insertEvals(db, runId, evals);
  txn.commit();
}

void RunStore::updateRun(const api::RunRecord& record) {
  const Db db{m_db, m_file};
  const std::string what = "updating run " + std::to_string(record.id);
  Transaction txn(db, what);
  Statement s(db, what, runUpdate());
  const int idIndex = bindBody(s, 1, record);
  s.bind(idIndex, record.id);
  s.run();
  if (sqlite3_changes(m_db) == 0) failUnknownRun(db, record.id);
  txn.commit();
}

void RunStore::discardRun(int64_t runId) {
  deleteRunRow({m_db, m_file}, runId, "discarding run " + std::to_string(runId));
}

std::vector<api::RunRecord> RunStore::listRuns(const RunFilter& filter) const {
  const Db db{m_db, m_file};
  Transaction txn(db, "listing runs", Transaction::Mode::Read);
  Statement s(
      db, "listing runs",
      runSelect() +
          "WHERE (?1 = '' OR name LIKE ?2 ESCAPE '\\' OR model_path LIKE ?2 ESCAPE '\\'"
          " OR decomposition LIKE ?2 ESCAPE '\\' OR selector LIKE ?2 ESCAPE '\\' OR notes LIKE ?2 ESCAPE '\\'"
          " OR EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = runs.id AND t.tag LIKE ?2 ESCAPE '\\'))"
          " AND (?3 = '' OR status = ?3) AND (?4 = '' OR sweep_id = ?4)"
          " AND (?5 = '' OR EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = runs.id AND t.tag = ?5))"
          " ORDER BY created_at DESC, id DESC");
  s.bind(1, filter.text);
  s.bind(2, containsPattern(filter.text));
  s.bind(3, filter.status);
  s.bind(4, filter.sweepId);
  s.bind(5, filter.tag);
  return queryRuns(db, s);
}

std::optional<api::RunRecord> RunStore::findRun(int64_t id) const {
  const Db db{m_db, m_file};
  Transaction txn(db, "reading run " + std::to_string(id), Transaction::Mode::Read);
  return readRun(db, id);
}

std::optional<api::RunRecord> RunStore::findSucceededBySpecHash(const std::string& specHash) const {
  // Runs made without a spec hash store '' and must not all match an empty query.
  if (specHash.empty()) return std::nullopt;
  const Db db{m_db, m_file};
  Transaction txn(db, "looking up spec hash " + specHash, Transaction::Mode::Read);
  Statement s(
      db, "looking up spec hash " + specHash,
      runSelect() + "WHERE spec_hash = ? AND status = 'succeeded' ORDER BY created_at DESC, id DESC LIMIT 1");
  s.bind(1, specHash);
  auto runs = queryRuns(db, s);
  if (runs.empty()) return std::nullopt;
  return std::move(runs.front());
}

api::RunData RunStore::loadRun(int64_t id) const {
  const Db db{m_db, m_file};
  // One read transaction: a job writing meanwhile cannot leave the parts mutually inconsistent.
  Transaction txn(db, "loading run " + std::to_string(id), Transaction::Mode::Read);
  auto record = readRun(db, id);
  if (!record) failUnknownRun(db, id);
  api::RunData data;
  data.run = std::move(*record);
  data.ops = readOps(db, id);
  data.series = readSeries(db, id, "");
  data.frames = readFrames(db, id, std::numeric_limits<int64_t>::min());
  data.evals = readEvals(db, id);
  return data;
}

std::vector<api::OpResult> RunStore::ops(int64_t runId) const { return readOps({m_db, m_file}, runId); }

std::vector<api::SeriesPoint> RunStore::series(int64_t runId, const std::string& name) const {
  return readSeries({m_db, m_file}, runId, name);
}

std::vector<api::MaskFrame> RunStore::frames(int64_t runId, int64_t fromStep) const {
  return readFrames({m_db, m_file}, runId, fromStep);
}

std::vector<api::EvalPoint> RunStore::evals(int64_t runId) const { return readEvals({m_db, m_file}, runId); }

std::map<int64_t, std::vector<api::EvalPoint>> RunStore::evalsByRun() const {
  Statement s(
      {m_db, m_file}, "reading evaluations",
      "SELECT run_id, stage, dataset, metric, kept_fraction, value, counted, protocol FROM eval_points "
      "ORDER BY run_id, id");
  std::map<int64_t, std::vector<api::EvalPoint>> out;
  while (s.step())
    out[s.int64(0)].push_back(
        {s.text(1), s.text(2), s.text(3), s.real(4), s.real(5), s.int64(6), protocolFromJson(s.text(7))});
  return out;
}

void RunStore::deleteRun(int64_t id) {
  deleteRunRow({m_db, m_file}, id, "deleting run " + std::to_string(id));
}

void RunStore::setTags(int64_t id, const std::vector<std::string>& tags) {
  const Db db{m_db, m_file};
  Transaction txn(db, "tagging run " + std::to_string(id));
  requireRun(db, id);
  writeTags(db, id, tags);
  txn.commit();
}

void RunStore::setNotes(int64_t id, const std::string& notes) {
  const Db db{m_db, m_file};
  const std::string what = "writing notes of run " + std::to_string(id);
  Transaction txn(db, what);
  Statement s(db, what, "UPDATE runs SET notes = ? WHERE id = ?");
  s.bind(1, notes);
  s.bind(2, id);
  s.run();
  if (sqlite3_changes(m_db) == 0) failUnknownRun(db, id);
  txn.commit();
}

// An empty table is stored as no rows, which reads back as "no table": a cache entry that holds
// nothing is the same as none.
void RunStore::putSensitivity(const std::string& key, const std::vector<api::SensitivityEntry>& table) {
  const Db db{m_db, m_file};
  const std::string what = "writing sensitivity table '" + key + "'";
  Transaction txn(db, what);
  Statement del(db, what, "DELETE FROM sensitivity WHERE table_key = ?");
  del.bind(1, key);
  del.run();
  insertSensitivity(db, key, table);
  txn.commit();
}

std::optional<std::vector<api::SensitivityEntry>> RunStore::sensitivity(const std::string& key) const {
  auto table = readSensitivity({m_db, m_file}, key);
  if (table.empty()) return std::nullopt;
  return table;
}

MergeReport RunStore::merge(const fs::path& other) {
  const Db db{m_db, m_file};
  const std::string what = "merging " + other.string();
  if (isMemory(other))
    throw Error(label(m_file) + ": " + what + ": an in-memory database has nothing to merge");
  std::error_code ec;
  if (!fs::is_regular_file(other, ec)) throw Error(label(m_file) + ": " + what + ": no such database file");
  if (!isMemory(m_file) && fs::equivalent(other, m_file, ec))
    throw Error(label(m_file) + ": " + what + ": cannot merge a database into itself");

  // Its own connection: opening it also upgrades an older file in place.
  RunStore source(other);
  const Db src{source.m_db, source.m_file};
  Transaction sourceRead(src, "reading runs to merge", Transaction::Mode::Read);
  Transaction txn(db, what);

  MergeReport report;
  Statement known(db, what, "SELECT 1 FROM runs WHERE uuid = ?");
  // Oldest first, so the new ids here follow the order the runs were made in.
  Statement list(src, "listing runs to merge", runSelect() + "ORDER BY created_at, id");
  auto runs = queryRuns(src, list);
  for (auto it = runs.begin(); it != runs.end(); ++it) {
    known.bind(1, it->uuid);
    const bool present = known.step();
    known.reset();
    if (present) {
      ++report.runsSkipped;
      continue;
    }
    const int64_t sourceId = it->id;
    const int64_t id = insertRun(db, *it);
    writeTags(db, id, it->tags);
    insertOps(db, id, readOps(src, sourceId));
    insertSeries(db, id, readSeries(src, sourceId, ""));
    insertFrames(db, id, readFrames(src, sourceId, std::numeric_limits<int64_t>::min()));
    insertEvals(db, id, readEvals(src, sourceId));
    ++report.runsAdded;
  }

  Statement keys(src, "listing sensitivity tables",
                 "SELECT DISTINCT table_key FROM sensitivity ORDER BY table_key");
  Statement knownKey(db, what, "SELECT 1 FROM sensitivity WHERE table_key = ? LIMIT 1");
  while (keys.step()) {
    const std::string key = keys.text(0);
    knownKey.bind(1, key);
    const bool present = knownKey.step();
    knownKey.reset();
    if (present) continue;
    insertSensitivity(db, key, readSensitivity(src, key));
    ++report.sensitivityAdded;
  }
  txn.commit();
  return report;
}

std::string sqliteVersion() { return sqlite3_libversion(); }

std::string protocolToJson(const api::EvalProtocol& p) {
  if (!p.known) return {};
  return jsonText(nlohmann::json{{"metric", p.metric},
                                 {"file", p.file},
                                 {"sha256", p.fileHash},
                                 {"separator", p.separator},
                                 {"context", p.context},
                                 {"stride", p.stride},
                                 {"truncate", p.truncate},
                                 {"max_documents", p.maxDocuments},
                                 {"counted", p.counted},
                                 {"documents", p.documents},
                                 {"tokenizer_sha256", p.tokenizerHash},
                                 {"scoring", p.scoring}});
}

}  // namespace ranklab::store
