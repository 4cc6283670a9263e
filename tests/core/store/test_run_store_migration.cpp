// Upgrading a database written by the first schema (tests/data/store/schema_v1.sql, frozen): the old
// rows survive intact, the new features work on them, the upgraded schema equals a fresh one, and a
// failing upgrade leaves the file exactly at version 1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/protocol.h"
#include "common/error.h"
#include "store/run_store.h"
#include "store_test_support.h"
#include "test_paths.h"

using namespace ranklab;
using namespace ranklab::store;
using namespace ranklab::store::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// Replays the frozen fixture tests/data/store/schema_vVERSION.sql into `file`, then `extraSql`, and
// stamps the version (schema_v4.sql carries its own stamp too).
void writeFrozenDatabase(const fs::path& file, int version, const std::string& extraSql = "") {
  const std::string name = "schema_v" + std::to_string(version) + ".sql";
  const auto sql = readText(fs::path(RANKLAB_TEST_DATA_DIR) / "store" / name);
  ASSERT_FALSE(sql.empty()) << "fixture " << name << " missing";
  RawDb raw(file);
  raw.exec(sql);
  raw.exec(extraSql);
  raw.exec("PRAGMA user_version = " + std::to_string(version) + ";");
}

void writeV1Database(const fs::path& file, const std::string& extraSql = "") {
  writeFrozenDatabase(file, 1, extraSql);
}

// Columns, indexes and foreign keys of every table, independent of how the SQL text was spelled.
std::string schemaShape(const fs::path& file) {
  RawDb raw(file);
  std::string shape;
  const auto tables = raw.rows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  size_t start = 0;
  while (start < tables.size()) {
    const auto end = tables.find('\n', start);
    const auto table = tables.substr(start, end - start);
    start = end + 1;
    shape += "table " + table + "\n" + raw.rows("PRAGMA table_info('" + table + "')") +
             raw.rows("SELECT name, \"unique\", origin, partial FROM pragma_index_list('" + table +
                      "') ORDER BY name") +
             raw.rows("SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('" + table +
                      "')");
  }
  return shape;
}

TEST(RunStoreMigration, UpgradesAVersion1DatabaseKeepingItsRows) {
  TempDir dir;
  const auto file = dir / "v1.db";
  writeV1Database(file);

  RunStore store(file);
  EXPECT_EQ(store.schemaVersion(), RunStore::kSchemaVersion);
  const auto runs = store.listRuns();
  ASSERT_EQ(runs.size(), 2u);
  const auto& failed = runs[0];  // newest first
  const auto& ok = runs[1];
  EXPECT_EQ(failed.id, 2);
  EXPECT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.error, "calibration file is empty");
  EXPECT_TRUE(std::isnan(failed.metricBefore));
  EXPECT_TRUE(std::isnan(failed.metricAfter));
  EXPECT_EQ(failed.finishedAt, "");

  EXPECT_EQ(ok.id, 1);
  EXPECT_EQ(ok.uuid, "0b7f4c1e-3a52-4d8e-9f10-2c6a8b4d5e01");
  EXPECT_EQ(ok.name, "svd+uniform p=0.50");
  EXPECT_EQ(ok.createdAt, "2026-03-01T10:00:00Z");
  EXPECT_EQ(ok.finishedAt, "2026-03-01T10:01:30Z");
  EXPECT_DOUBLE_EQ(ok.seconds, 90.5);
  EXPECT_EQ(ok.modelPath, "models/tiny-gpt2");
  EXPECT_EQ(ok.architecture, "gpt2");
  EXPECT_DOUBLE_EQ(ok.keptFraction, 0.4975);
  EXPECT_EQ(ok.compressibleAfter, 2038);
  EXPECT_EQ(ok.totalAfter, 7942);
  EXPECT_EQ(ok.seed, 7);
  EXPECT_EQ(ok.configJson, R"({"steps":0})");
  EXPECT_DOUBLE_EQ(ok.metricBefore, 31.25);
  EXPECT_DOUBLE_EQ(ok.metricAfter, 48.5);
  EXPECT_EQ(ok.sweepId, "");  // columns added by version 2
  EXPECT_EQ(ok.specHash, "");
  EXPECT_EQ(ok.notes, "");
  EXPECT_TRUE(ok.tags.empty());

  const auto ops = store.ops(1);
  ASSERT_EQ(ops.size(), 2u);
  {
    RawDb raw(file);  // version 3 renamed the column to the one spelling used everywhere
    EXPECT_EQ(raw.integer("SELECT count(*) FROM pragma_table_info('op_results') WHERE name = 'factorized'"),
              1);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM pragma_table_info('op_results') WHERE name = 'factorised'"),
              0);
  }
  EXPECT_EQ(ops[0].name, "h.0.attn.q");
  EXPECT_EQ(ops[0].rank, 16);
  EXPECT_TRUE(ops[0].factorized);
  EXPECT_THAT(ops[0].spectrum, ElementsAre(3.0f, 1.0f, 0.5f));  // float32 LE written by hand
  EXPECT_THAT(ops[0].plainSpectrum, ElementsAre(3.0f, 2.0f));
  EXPECT_FALSE(ops[1].factorized);
  EXPECT_TRUE(ops[1].spectrum.empty());
  const auto series = store.series(1);
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[1].name, "budget");
  EXPECT_DOUBLE_EQ(store.series(1, "loss")[1].value, 4.25);
  const auto evals = store.evals(1);
  ASSERT_EQ(evals.size(), 2u);
  EXPECT_EQ(evals[1].stage, "after");
  EXPECT_EQ(evals[1].count, 2048);

  // Version 2 features on the old rows.
  store.setTags(1, {"baseline"});
  store.setNotes(1, "from the first release");
  store.appendFrames(1, {sampleFrame(0, 2, 4)});
  auto record = store.findRun(1).value();
  record.specHash = "spec-1";
  store.updateRun(record);
  EXPECT_EQ(store.findSucceededBySpecHash("spec-1")->id, 1);
  EXPECT_EQ(store.listRuns(filter("", "", "", "baseline")).at(0).notes, "from the first release");
  store.putSensitivity("k", {{0, 0.5, 1.0}});
  EXPECT_GT(store.beginRun({}), 2);
  store.deleteRun(1);
  EXPECT_TRUE(store.ops(1).empty());
  EXPECT_TRUE(store.frames(1).empty());
}

// tests/data/store/schema_v4.sql: three real gpt-mini runs written before protocols were stored.
void writeV4Database(const fs::path& file, const std::string& extraSql = "") {
  writeFrozenDatabase(file, 4, extraSql);
}

TEST(RunStoreMigration, Version4RunsGetTheProtocolTheirSpecRecorded) {
  TempDir dir;
  const auto file = dir / "v4.db";
  writeV4Database(file);
  RunStore store(file);
  EXPECT_EQ(store.schemaVersion(), RunStore::kSchemaVersion);
  const auto runs = store.listRuns();
  ASSERT_EQ(runs.size(), 3u);
  const auto& twoDocs = runs[2];  // oldest last: "uniform 2 docs"
  const auto& threeDocs = runs[1];
  const auto& energyTwoDocs = runs[0];
  ASSERT_EQ(twoDocs.name, "uniform 2 docs");
  ASSERT_EQ(threeDocs.name, "uniform 3 docs");
  ASSERT_EQ(energyTwoDocs.name, "energy 2 docs");

  const auto& p = twoDocs.protocol;
  EXPECT_TRUE(p.known);
  EXPECT_EQ(p.metric, "perplexity");
  EXPECT_EQ(p.file, "test.txt");
  EXPECT_EQ(p.fileHash, twoDocs.evalHash);
  EXPECT_EQ(p.separator, "<|endoftext|>");
  EXPECT_EQ(p.maxDocuments, 2);
  EXPECT_EQ(p.counted, 43290);     // the tokens the run counted, as ranklab-cli printed them
  EXPECT_EQ(p.tokenizerHash, "");  // gpt-mini carries its tokenizer: the model hash covers it
  EXPECT_EQ(threeDocs.protocol.maxDocuments, 3);
  EXPECT_EQ(threeDocs.protocol.counted, 45299);

  // Same model, same text, same documents: comparable; another document count: not.
  EXPECT_TRUE(api::comparable(twoDocs, energyTwoDocs));
  EXPECT_FALSE(api::comparable(twoDocs, threeDocs));
  EXPECT_EQ(api::protocolLabel(p), "test.txt \u00b7 first 2 docs \u00b7 43,290 tokens");

  // Every evaluation point got the protocol of its run's measurement.
  for (const auto& run : runs) {
    const auto evals = store.evals(run.id);
    ASSERT_EQ(evals.size(), 2u);
    for (const auto& e : evals) {
      SCOPED_TRACE(run.name + " " + e.stage);
      EXPECT_TRUE(e.protocol.known);
      EXPECT_EQ(api::protocolKey(e.protocol), api::protocolKey(run.protocol));
    }
  }
}

TEST(RunStoreMigration, AVersion4RunWithoutAReadableSpecGetsAnUnknownProtocol) {
  TempDir dir;
  const auto file = dir / "v4.db";
  writeV4Database(file,
                  "UPDATE runs SET config_json = '{not json' WHERE name = 'uniform 2 docs';"
                  "UPDATE runs SET config_json = '{\"eval\": 7, \"separator\": 3}' "
                  "WHERE name = 'energy 2 docs';");
  RunStore store(file);
  const auto runs = store.listRuns();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_FALSE(runs[2].protocol.known);  // unparseable spec
  EXPECT_FALSE(runs[0].protocol.known);  // a field of the wrong type
  EXPECT_TRUE(runs[1].protocol.known);
  // Unknown protocols are comparable with nothing, not even with each other.
  EXPECT_FALSE(api::comparable(runs[0], runs[2]));
  EXPECT_TRUE(api::comparable(runs[0], runs[0]));
  EXPECT_EQ(api::protocolLabel(runs[0].protocol), "unknown protocol");
}

TEST(RunStoreMigration, UpgradedSchemaEqualsAFreshOne) {
  TempDir dir;
  writeV1Database(dir / "old.db");
  { RunStore upgraded(dir / "old.db"); }
  { RunStore fresh(dir / "new.db"); }
  const auto upgraded = schemaShape(dir / "old.db");
  EXPECT_THAT(upgraded, HasSubstr("table mask_frames"));
  EXPECT_THAT(upgraded, HasSubstr("runs_uuid|1|c|0"));
  EXPECT_EQ(upgraded, schemaShape(dir / "new.db"));
}

TEST(RunStoreMigration, AFailedUpgradeLeavesVersion1Untouched) {
  TempDir dir;
  const auto file = dir / "dupes.db";
  // Version 1 did not enforce unique uuids; version 2's unique index cannot be built on this file.
  writeV1Database(file,
                  "INSERT INTO runs (uuid, status, created_at) "
                  "VALUES ('0b7f4c1e-3a52-4d8e-9f10-2c6a8b4d5e01', 'failed', '2026-03-03T00:00:00Z');");
  try {
    RunStore store(file);
    FAIL() << "upgraded a file with duplicate uuids";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("run database " + file.string()));
    EXPECT_THAT(e.what(), HasSubstr("upgrading the schema from version 1 to 2"));
  }
  RawDb raw(file);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 1);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'notes'"), 0);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM sqlite_master WHERE name = 'mask_frames'"), 0);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM runs"), 3);
}

}  // namespace
