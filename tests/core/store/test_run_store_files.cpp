// RunStore on real files: what it creates, what it refuses to open (and leaves untouched), WAL,
// several connections on one file, and cascading deletes checked behind the store's back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "common/error.h"
#include "store/run_store.h"
#include "store_test_support.h"

using namespace ranklab;
using namespace ranklab::store;
using namespace ranklab::store::testing;
using ::testing::HasSubstr;

namespace {

std::string messageOf(const fs::path& file) {
  try {
    RunStore store(file);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "opened " << file;
  return "";
}

TEST(RunStoreFiles, CreatesParentFoldersAndUsesWal) {
  TempDir dir;
  const auto file = dir / "deep/er/runs.db";
  {
    RunStore store(file);
    EXPECT_EQ(store.file(), file);
    store.beginRun(sampleRecord("a"));
    RawDb raw(file);
    EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
    EXPECT_TRUE(fs::exists(file.string() + "-wal"));
    EXPECT_EQ(raw.integer("PRAGMA user_version"), RunStore::kSchemaVersion);
  }
  RunStore reopened(file);
  EXPECT_EQ(reopened.listRuns().size(), 1u);
}

TEST(RunStoreFiles, TwoConnectionsSeeEachOthersWrites) {
  TempDir dir;
  const auto file = dir / "runs.db";
  RunStore job(file);
  RunStore ui(file);
  const int64_t id = job.beginRun(sampleRecord("live"));
  ASSERT_TRUE(ui.findRun(id).has_value());
  EXPECT_EQ(ui.findRun(id)->name, "live");
  job.appendFrames(id, {sampleFrame(0, 3, 8)});
  job.appendFrames(id, {sampleFrame(10, 3, 8)});
  EXPECT_EQ(ui.frames(id, 5).size(), 1u);
  ui.setNotes(id, "watched from the UI");
  EXPECT_EQ(job.findRun(id)->notes, "watched from the UI");
}

TEST(RunStoreFiles, RefusesANonDatabaseFileAndLeavesItAlone) {
  TempDir dir;
  const auto file = dir / "notes.db";
  std::string bytes(8192, '\0');
  std::mt19937 rng(7);
  for (auto& b : bytes) b = static_cast<char>(rng());
  std::ofstream(file, std::ios::binary) << bytes;

  const auto message = messageOf(file);
  EXPECT_THAT(message, HasSubstr("run database " + file.string()));
  EXPECT_THAT(message, HasSubstr("not an SQLite database"));
  EXPECT_EQ(readText(file), bytes);
  EXPECT_FALSE(fs::exists(file.string() + "-wal"));
}

TEST(RunStoreFiles, RefusesADatabaseFromANewerRankLab) {
  TempDir dir;
  const auto file = dir / "future.db";
  {
    RawDb raw(file);
    raw.exec("CREATE TABLE runs (id INTEGER PRIMARY KEY, hologram BLOB); PRAGMA user_version = 99;");
  }
  const auto message = messageOf(file);
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("was written by a newer RankLab (schema 99, this build reads up to " +
                                 std::to_string(RunStore::kSchemaVersion) + ")"));
  RawDb raw(file);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 99);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "delete");  // not switched to WAL either
}

TEST(RunStoreFiles, RefusesAnotherProgramsSqliteDatabase) {
  TempDir dir;
  const auto file = dir / "places.sqlite";
  {
    RawDb raw(file);
    raw.exec("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT);");
  }
  EXPECT_THAT(messageOf(file), HasSubstr("not a RankLab run database"));
  RawDb raw(file);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM sqlite_master"), 1);
}

TEST(RunStoreFiles, RefusesAFolder) {
  TempDir dir;
  fs::create_directories(dir / "runs.db");
  EXPECT_THAT(messageOf(dir / "runs.db"), HasSubstr("folder"));
}

TEST(RunStoreFiles, DeleteCascadesToEveryChildTable) {
  TempDir dir;
  const auto file = dir / "runs.db";
  RunStore store(file);
  int64_t ids[2];
  for (int i = 0; i < 2; ++i) {
    ids[i] = store.beginRun(sampleRecord("r" + std::to_string(i)));
    store.putOps(ids[i], {sampleOp(0, "q"), sampleOp(1, "k")});
    store.appendSeries(ids[i], {{0, "loss", 1.0}, {1, "loss", 0.5}});
    store.appendFrames(ids[i], {sampleFrame(0, 2, 3)});
    store.addEvals(ids[i], {{"after", "e", "perplexity", 0.5, 9.0, 10, {}}});
  }
  store.deleteRun(ids[0]);
  RawDb raw(file);
  for (const char* table : {"op_results", "series", "mask_frames", "eval_points", "run_tags"}) {
    SCOPED_TRACE(table);
    const std::string count = std::string("SELECT count(*) FROM ") + table + " WHERE run_id = ";
    EXPECT_EQ(raw.integer(count + std::to_string(ids[0])), 0);
    EXPECT_GT(raw.integer(count + std::to_string(ids[1])), 0);
  }
  EXPECT_EQ(raw.integer("SELECT count(*) FROM runs"), 1);
}

}  // namespace
