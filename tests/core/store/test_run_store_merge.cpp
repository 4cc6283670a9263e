// Merging run databases (one per Slurm task into one the GUI opens): new runs come over with all
// their rows under new ids, known uuids and sensitivity keys are skipped, merging twice changes
// nothing, and a database is never merged into itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "store/run_store.h"
#include "store_test_support.h"
#include "test_paths.h"

using namespace ranklab;
using namespace ranklab::store;
using namespace ranklab::store::testing;
using ::testing::HasSubstr;

namespace {

api::RunData writeRun(RunStore& store, const std::string& name, const std::string& createdAt) {
  api::RunRecord r = sampleRecord(name);
  r.createdAt = createdAt;
  const int64_t id = store.beginRun(r);
  store.putOps(id, {sampleOp(0, "q"), sampleOp(1, "up")});
  store.appendSeries(id, {{0, "loss", 3.5}, {1, "loss", 3.25}});
  store.appendFrames(id, {sampleFrame(0, 2, 12), sampleFrame(5, 2, 12)});
  store.addEvals(id, {{"after", "/e", "perplexity", 0.5, 33.0, 100, sampleProtocol(100)}});
  auto done = store.findRun(id).value();
  done.status = "succeeded";
  store.updateRun(done);
  return store.loadRun(id);
}

TEST(RunStoreMerge, CopiesNewRunsWithAllTheirRowsOnce) {
  TempDir dir;
  const auto target = dir / "all.db", part = dir / "task-1.db";
  api::RunData here, copied[2];
  {
    RunStore source(part);
    copied[0] = writeRun(source, "task1-a", "2026-02-01T00:00:00Z");
    copied[1] = writeRun(source, "task1-b", "2026-02-02T00:00:00Z");
    source.putSensitivity("gpt2/asvd", {{0, 0.5, 30.0}, {1, 0.5, 31.0}});
    source.putSensitivity("shared", {{9, 0.9, 9.0}});
  }
  RunStore store(target);
  here = writeRun(store, "local", "2026-01-01T00:00:00Z");
  store.putSensitivity("shared", {{1, 0.1, 1.0}});

  const auto first = store.merge(part);
  EXPECT_EQ(first.runsAdded, 2);
  EXPECT_EQ(first.runsSkipped, 0);
  EXPECT_EQ(first.sensitivityAdded, 1);

  const auto runs = store.listRuns();
  ASSERT_EQ(runs.size(), 3u);
  std::set<int64_t> ids;
  for (const auto& r : runs) ids.insert(r.id);
  EXPECT_EQ(ids.size(), 3u);
  for (const auto& want : copied) {
    SCOPED_TRACE(want.run.name);
    const auto found = store.listRuns(filter(want.run.name));
    ASSERT_EQ(found.size(), 1u);
    EXPECT_NE(found[0].id, here.run.id);
    expectSameData(store.loadRun(found[0].id), want, /*compareId=*/false);
  }
  expectSameData(store.loadRun(here.run.id), here);
  EXPECT_EQ(store.sensitivity("gpt2/asvd")->size(), 2u);
  ASSERT_EQ(store.sensitivity("shared")->size(), 1u);
  EXPECT_EQ(store.sensitivity("shared")->at(0).opIndex, 1);  // the local table wins

  const auto second = store.merge(part);
  EXPECT_EQ(second.runsAdded, 0);
  EXPECT_EQ(second.runsSkipped, 2);
  EXPECT_EQ(second.sensitivityAdded, 0);
  EXPECT_EQ(store.listRuns().size(), 3u);
  EXPECT_EQ(store.frames(store.listRuns(filter("task1-a")).at(0).id).size(), 2u);

  // Merging back the other way brings only the local run.
  RunStore source(part);
  const auto back = source.merge(target);
  EXPECT_EQ(back.runsAdded, 1);
  EXPECT_EQ(back.runsSkipped, 2);
  EXPECT_EQ(source.listRuns().size(), 3u);
}

TEST(RunStoreMerge, RefusesToMergeADatabaseIntoItself) {
  TempDir dir;
  const auto file = dir / "runs.db";
  RunStore store(file);
  writeRun(store, "only", "2026-01-01T00:00:00Z");
  for (const auto& same : {file, dir.path() / "." / "runs.db", fs::absolute(file)}) {
    SCOPED_TRACE(same.string());
    try {
      store.merge(same);
      FAIL() << "merged a database into itself";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("into itself"));
    }
  }
  EXPECT_EQ(store.listRuns().size(), 1u);
}

TEST(RunStoreMerge, RefusesMissingAndForeignFilesWithoutCreatingThem) {
  TempDir dir;
  RunStore store(dir / "runs.db");
  try {
    store.merge(dir / "missing.db");
    FAIL() << "merged a missing file";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr((dir / "missing.db").string()));
  }
  EXPECT_FALSE(fs::exists(dir / "missing.db"));
  {
    RawDb raw(dir / "future.db");
    raw.exec("PRAGMA user_version = 7; CREATE TABLE t (x);");
  }
  EXPECT_THROW(store.merge(dir / "future.db"), Error);
  EXPECT_TRUE(store.listRuns().empty());
}

TEST(RunStoreMerge, MergesAVersion1DatabaseByUpgradingIt) {
  TempDir dir;
  const auto old = dir / "v1.db";
  {
    RawDb raw(old);
    raw.exec(readText(fs::path(RANKLAB_TEST_DATA_DIR) / "store" / "schema_v1.sql"));
    raw.exec("PRAGMA user_version = 1;");
  }
  RunStore store(":memory:");
  writeRun(store, "local", "2026-01-01T00:00:00Z");
  const auto report = store.merge(old);
  EXPECT_EQ(report.runsAdded, 2);
  const auto merged = store.listRuns(filter("svd+uniform"));
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].uuid, "0b7f4c1e-3a52-4d8e-9f10-2c6a8b4d5e01");
  EXPECT_EQ(store.ops(merged[0].id).size(), 2u);
  EXPECT_EQ(store.series(merged[0].id).size(), 3u);
  EXPECT_EQ(store.evals(merged[0].id).size(), 2u);
  RawDb raw(old);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), RunStore::kSchemaVersion);
}

}  // namespace
