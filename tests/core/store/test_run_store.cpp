// RunStore on private in-memory databases: every field round-trips, filters select what they say,
// deletes remove every row of a run and nothing else, and bad ids and bad frames are refused without
// writing anything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <optional>
#include <regex>
#include <set>

#include "common/error.h"
#include "store/run_store.h"
#include "store_test_support.h"

using namespace ranklab;
using namespace ranklab::store;
using namespace ranklab::store::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string> names(const std::vector<api::RunRecord>& runs) {
  std::vector<std::string> out;
  for (const auto& r : runs) out.push_back(r.name);
  return out;
}

// A run with a few rows in every child table.
api::RunData fullRun(RunStore& store, const std::string& name) {
  api::RunData d;
  d.run = sampleRecord(name);
  d.run.uuid.clear();
  d.run.createdAt.clear();
  d.run.id = store.beginRun(d.run);
  const auto begun = store.findRun(d.run.id);
  d.run.uuid = begun->uuid;
  d.run.createdAt = begun->createdAt;
  d.run.status = "running";
  d.ops = {sampleOp(0, "q"), sampleOp(1, "up")};
  d.series = {{0, "loss", 4.5}, {0, "R", 0.25}, {1, "loss", 4.0}};
  d.frames = {sampleFrame(0, 2, 4), sampleFrame(10, 2, 4)};
  d.evals = {{"after", "/data/eval.txt", "perplexity", 0.5, 41.5, 4096, sampleProtocol(4096)}};
  store.putOps(d.run.id, d.ops);
  store.appendSeries(d.run.id, d.series);
  store.appendFrames(d.run.id, d.frames);
  store.addEvals(d.run.id, d.evals);
  return d;
}

api::RunRecord recordAt(const std::string& name, const std::string& createdAt) {
  api::RunRecord r;
  r.name = name;
  r.createdAt = createdAt;
  return r;
}

void setStatus(RunStore& store, int64_t id, const std::string& status) {
  auto r = store.findRun(id).value();
  r.status = status;
  store.updateRun(r);
}

TEST(RunStore, FreshDatabaseIsAtTheCurrentSchemaVersion) {
  RunStore store(":memory:");
  EXPECT_EQ(store.schemaVersion(), RunStore::kSchemaVersion);
  EXPECT_EQ(store.file(), ":memory:");
  EXPECT_TRUE(store.listRuns().empty());
}

TEST(RunStore, RoundTripsEveryFieldOfARun) {
  RunStore store(":memory:");
  api::RunRecord record = sampleRecord("svd+ars p=0.50");
  record.uuid.clear();
  record.createdAt.clear();
  record.status = "succeeded";  // beginRun always starts a run as "running"
  record.id = 77;               // ignored
  const int64_t id = store.beginRun(record);

  const auto begun = store.findRun(id);
  ASSERT_TRUE(begun.has_value());
  EXPECT_EQ(begun->id, id);
  EXPECT_EQ(begun->status, "running");
  EXPECT_TRUE(std::regex_match(
      begun->uuid, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << begun->uuid;
  EXPECT_TRUE(
      std::regex_match(begun->createdAt, std::regex("20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:"
                                                    "[0-6][0-9]Z")))
      << begun->createdAt;
  EXPECT_EQ(begun->tags, record.tags);
  EXPECT_EQ(begun->notes, record.notes);

  api::RunData want;
  want.run = record;
  want.run.id = id;
  want.run.uuid = begun->uuid;
  want.run.createdAt = begun->createdAt;
  want.run.status = "succeeded";
  want.run.finishedAt = "2026-11-27T21:05:00Z";
  want.run.seconds = 61.75;
  want.run.keptFraction = 0.49871;
  want.run.metricBefore = kNaN;  // not measured: stored as NULL
  want.run.metricAfter = 40.125;
  want.run.error = "";
  auto emptyOp = sampleOp(2, "down");
  emptyOp.spectrum.clear();
  emptyOp.plainSpectrum.clear();
  want.ops = {sampleOp(0, "q"), sampleOp(1, "up"), emptyOp};
  want.series = {
      {0, "loss", 5.5}, {0, "R", 0.125}, {0, "budget", 1.0}, {1, "loss", kNaN}, {2, "loss", -1e300}};
  api::MaskFrame noBits = sampleFrame(5, 3, 0);
  noBits.bits.clear();                              // bits not recorded
  api::MaskFrame emptyBits = sampleFrame(6, 3, 0);  // recorded, zero bytes per op
  api::MaskFrame ragged = sampleFrame(7, 3, 2);
  ragged.bits[1].assign(17, 0xA5);
  ragged.bits[2].clear();
  want.frames = {sampleFrame(0, 3, 96), noBits, emptyBits, ragged, sampleFrame(8, 3, 1)};
  api::EvalProtocol accuracy;  // an unknown protocol (a run from before schema 5) stays unknown
  want.evals = {{"before", "/data/eval.txt", "perplexity", 1.0, 29.94, 8192, sampleProtocol(8192)},
                {"after", "/data/eval.txt", "perplexity", 0.49871, kNaN, 8192, sampleProtocol(8192)},
                {"after", "/data/sst2.tsv", "accuracy", 0.49871, 0.875, 872, accuracy}};

  store.putOps(id, want.ops);
  store.appendSeries(id, {want.series.begin(), want.series.begin() + 2});
  store.appendSeries(id, {want.series.begin() + 2, want.series.end()});
  store.appendFrames(id, {want.frames.begin(), want.frames.begin() + 2});
  store.appendFrames(id, {want.frames.begin() + 2, want.frames.end()});
  store.addEvals(id, want.evals);

  // updateRun keeps identity, creation time, tags and notes whatever the record says.
  auto update = want.run;
  update.uuid.clear();
  update.createdAt = "1999-01-01T00:00:00Z";
  update.tags = {"ignored"};
  update.notes = "ignored";
  store.updateRun(update);

  const auto got = store.loadRun(id);
  expectSameData(got, want);
  EXPECT_TRUE(std::isnan(got.run.metricBefore));
  EXPECT_TRUE(got.frames[1].bits.empty());
  ASSERT_EQ(got.frames[2].bits.size(), 3u);
  EXPECT_TRUE(got.frames[2].bits[0].empty());

  expectSameOps(store.ops(id), want.ops);
  expectSameEvals(store.evals(id), want.evals);
}

TEST(RunStore, KeepsAGivenUuidAndCreationTime) {
  RunStore store(":memory:");
  api::RunRecord r = sampleRecord("given");
  r.uuid = "0b7f4c1e-3a52-4d8e-9f10-2c6a8b4d5e01";
  r.createdAt = "2026-03-01T10:00:00Z";
  const int64_t id = store.beginRun(r);
  const auto got = store.findRun(id).value();
  EXPECT_EQ(got.uuid, r.uuid);
  EXPECT_EQ(got.createdAt, r.createdAt);
  // The uuid names the run across databases, so a second run cannot take it.
  EXPECT_THROW(store.beginRun(r), Error);
  EXPECT_EQ(store.listRuns().size(), 1u);
}

TEST(RunStore, GeneratedUuidsDiffer) {
  RunStore store(":memory:");
  std::set<std::string> uuids;
  for (int i = 0; i < 50; ++i) uuids.insert(store.findRun(store.beginRun({})).value().uuid);
  EXPECT_EQ(uuids.size(), 50u);
}

TEST(RunStore, MissingMetricsReadBackAsNaN) {
  RunStore store(":memory:");
  api::RunRecord r = sampleRecord("nan");
  r.metricBefore = kNaN;
  r.metricAfter = kNaN;
  const int64_t id = store.beginRun(r);
  const auto got = store.findRun(id).value();
  EXPECT_TRUE(std::isnan(got.metricBefore));
  EXPECT_TRUE(std::isnan(got.metricAfter));
  EXPECT_DOUBLE_EQ(got.keepTarget, 0.5);
}

TEST(RunStore, SeriesByNameAndFramesFromAStep) {
  RunStore store(":memory:");
  const int64_t id = store.beginRun({});
  store.appendSeries(id, {{0, "loss", 3.0}, {0, "R", 0.5}, {1, "loss", 2.5}});
  store.appendSeries(id, {{2, "R", 0.25}, {2, "loss", 2.0}});
  std::vector<double> loss;
  for (const auto& p : store.series(id, "loss")) loss.push_back(p.value);
  EXPECT_THAT(loss, ElementsAre(3.0, 2.5, 2.0));
  const auto all = store.series(id);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[1].name, "R");  // same step: in the order appended
  EXPECT_EQ(all[3].name, "R");
  EXPECT_TRUE(store.series(id, "nothing").empty());

  store.appendFrames(id, {sampleFrame(0, 4, 2), sampleFrame(50, 4, 2)});
  store.appendFrames(id, {sampleFrame(100, 4, 2)});
  std::vector<int64_t> steps;
  for (const auto& f : store.frames(id, 50)) steps.push_back(f.step);
  EXPECT_THAT(steps, ElementsAre(50, 100));
  EXPECT_EQ(store.frames(id).size(), 3u);
  EXPECT_TRUE(store.frames(id, 101).empty());
}

TEST(RunStore, PutOpsReplacesTheRunsOps) {
  RunStore store(":memory:");
  const int64_t id = store.beginRun({});
  store.putOps(id, {sampleOp(0, "q"), sampleOp(1, "k"), sampleOp(2, "v")});
  const std::vector<api::OpResult> second = {sampleOp(0, "gate"), sampleOp(1, "up")};
  store.putOps(id, second);
  expectSameOps(store.ops(id), second);
}

TEST(RunStore, ListsNewestFirstAndFilters) {
  RunStore store(":memory:");
  api::RunRecord a = recordAt("first", "2026-01-01T00:00:00Z");
  a.modelPath = "/m/gpt2-small";
  a.decomposition = "svd";
  a.selector = "uniform";
  a.tags = {"baseline"};
  a.sweepId = "s1";
  api::RunRecord b = recordAt("second", "2026-01-03T00:00:00Z");
  b.modelPath = "/m/Llama-Tiny";
  b.decomposition = "asvd";
  b.selector = "energy";
  b.tags = {"paper-fig3"};
  b.notes = "Looks promising: 100% of layers";
  b.sweepId = "s1";
  api::RunRecord c = recordAt("third", "2026-01-02T00:00:00Z");
  c.modelPath = "/m/bert";
  c.decomposition = "whiten";
  c.selector = "manual";
  c.tags = {"baseline-old"};
  setStatus(store, store.beginRun(a), "succeeded");
  setStatus(store, store.beginRun(b), "failed");
  store.beginRun(c);

  auto find = [&](const RunFilter& f) { return names(store.listRuns(f)); };
  EXPECT_THAT(find({}), ElementsAre("second", "third", "first"));
  EXPECT_THAT(find(filter("llama")), ElementsAre("second"));   // model path, any case
  EXPECT_THAT(find(filter("ENERGY")), ElementsAre("second"));  // selector
  EXPECT_THAT(find(filter("whiten")), ElementsAre("third"));   // decomposition
  EXPECT_THAT(find(filter("svd")), ElementsAre("second", "first"));
  EXPECT_THAT(find(filter("fig3")), ElementsAre("second"));       // tag
  EXPECT_THAT(find(filter("promising")), ElementsAre("second"));  // notes
  EXPECT_THAT(find(filter("irst")), ElementsAre("first"));        // name
  EXPECT_THAT(find(filter("%")), ElementsAre("second"));          // LIKE wildcards are literal
  EXPECT_TRUE(find(filter("_")).empty());
  EXPECT_THAT(find(filter("baseline")), ElementsAre("third", "first"));
  EXPECT_THAT(find(filter("", "", "", "baseline")), ElementsAre("first"));  // tags match exactly
  EXPECT_THAT(find(filter("", "failed")), ElementsAre("second"));
  EXPECT_THAT(find(filter("", "running")), ElementsAre("third"));
  EXPECT_THAT(find(filter("", "", "s1")), ElementsAre("second", "first"));
  EXPECT_THAT(find(filter("baseline", "", "s1")), ElementsAre("first"));
  EXPECT_TRUE(find(filter("", "succeeded", "s1", "paper-fig3")).empty());
  EXPECT_TRUE(find(filter("", "", "", "nope")).empty());

  const auto listed = store.listRuns(filter("", "", "", "paper-fig3"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_THAT(listed[0].tags, ElementsAre("paper-fig3"));
  EXPECT_EQ(listed[0].notes, b.notes);
}

TEST(RunStore, RunsMadeInTheSameSecondListLatestFirst) {
  RunStore store(":memory:");
  store.beginRun(recordAt("a", "2026-01-01T00:00:00Z"));
  store.beginRun(recordAt("b", "2026-01-01T00:00:00Z"));
  EXPECT_THAT(names(store.listRuns()), ElementsAre("b", "a"));
}

TEST(RunStore, FindsTheNewestSucceededRunBySpecHash) {
  RunStore store(":memory:");
  auto add = [&](const std::string& name, const std::string& at, const std::string& hash,
                 const std::string& status) {
    api::RunRecord r = recordAt(name, at);
    r.specHash = hash;
    const int64_t id = store.beginRun(r);
    if (status != "running") setStatus(store, id, status);
  };
  add("old", "2026-01-01T00:00:00Z", "h", "succeeded");
  add("new", "2026-01-03T00:00:00Z", "h", "succeeded");
  add("failed", "2026-01-04T00:00:00Z", "h", "failed");
  add("killed", "2026-01-05T00:00:00Z", "h", "running");
  add("other", "2026-01-06T00:00:00Z", "g", "succeeded");
  add("unhashed", "2026-01-07T00:00:00Z", "", "succeeded");
  const auto found = store.findSucceededBySpecHash("h");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "new");
  EXPECT_FALSE(store.findSucceededBySpecHash("missing").has_value());
  EXPECT_FALSE(store.findSucceededBySpecHash("").has_value());
}

TEST(RunStore, DeleteRunRemovesEveryRowOfThatRunOnly) {
  RunStore store(":memory:");
  const auto gone = fullRun(store, "gone");
  const auto kept = fullRun(store, "kept");
  store.putSensitivity("asvd/gpt2", {{0, 0.5, 31.0}});
  store.deleteRun(gone.run.id);

  EXPECT_FALSE(store.findRun(gone.run.id).has_value());
  EXPECT_THROW(store.loadRun(gone.run.id), Error);
  EXPECT_TRUE(store.ops(gone.run.id).empty());
  EXPECT_TRUE(store.series(gone.run.id).empty());
  EXPECT_TRUE(store.frames(gone.run.id).empty());
  EXPECT_TRUE(store.evals(gone.run.id).empty());
  EXPECT_EQ(store.listRuns(filter("", "", "", "baseline")).size(), 1u);
  EXPECT_THAT(names(store.listRuns()), ElementsAre("kept"));
  expectSameData(store.loadRun(kept.run.id), kept);
  EXPECT_TRUE(store.sensitivity("asvd/gpt2").has_value());  // not a run's row
  EXPECT_THROW(store.deleteRun(gone.run.id), Error);

  // Ids are never reused: a stale id held by a view cannot open a different run.
  EXPECT_GT(store.beginRun({}), kept.run.id);
}

TEST(RunStore, DiscardRunRemovesACancelledRun) {
  RunStore store(":memory:");
  const auto kept = fullRun(store, "kept");
  const auto cancelled = fullRun(store, "cancelled");
  store.discardRun(cancelled.run.id);
  EXPECT_FALSE(store.findRun(cancelled.run.id).has_value());
  EXPECT_TRUE(store.frames(cancelled.run.id).empty());
  EXPECT_TRUE(store.series(cancelled.run.id).empty());
  EXPECT_THAT(names(store.listRuns()), ElementsAre("kept"));
  expectSameData(store.loadRun(kept.run.id), kept);
  EXPECT_THROW(store.discardRun(cancelled.run.id), Error);
}

TEST(RunStore, UnknownRunIdsAreRefusedWithTheirId) {
  RunStore store(":memory:");
  fullRun(store, "only");
  const int64_t bad = 999;
  try {
    store.loadRun(bad);
    FAIL() << "loadRun accepted an unknown id";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("run database :memory:"));
    EXPECT_THAT(e.what(), HasSubstr("no run with id 999"));
  }
  EXPECT_FALSE(store.findRun(bad).has_value());
  EXPECT_THROW(store.deleteRun(bad), Error);
  EXPECT_THROW(store.discardRun(bad), Error);
  EXPECT_THROW(store.putOps(bad, {sampleOp(0, "q")}), Error);
  EXPECT_THROW(store.appendSeries(bad, {{0, "loss", 1.0}}), Error);
  EXPECT_THROW(store.appendFrames(bad, {sampleFrame(0, 2, 2)}), Error);
  EXPECT_THROW(store.addEvals(bad, {{"after", "x", "perplexity", 0.5, 1.0, 1, {}}}), Error);
  EXPECT_THROW(store.setTags(bad, {"x"}), Error);
  EXPECT_THROW(store.setNotes(bad, "x"), Error);
  api::RunRecord r = sampleRecord("ghost");
  r.id = bad;
  EXPECT_THROW(store.updateRun(r), Error);
  EXPECT_TRUE(store.series(bad).empty());
  EXPECT_TRUE(store.frames(bad).empty());
  EXPECT_EQ(store.listRuns().size(), 1u);
}

TEST(RunStore, ABadFrameRejectsItsWholeBatch) {
  RunStore store(":memory:");
  const int64_t id = store.beginRun({});
  store.appendFrames(id, {sampleFrame(0, 3, 4)});

  auto mismatched = sampleFrame(2, 3, 4);
  mismatched.bits.pop_back();  // bits for 2 of 3 ops
  try {
    store.appendFrames(id, {sampleFrame(1, 3, 4), mismatched});
    FAIL() << "a frame with bits for 2 of 3 ops was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("step 2"));
  }
  // A step logged twice.
  EXPECT_THROW(store.appendFrames(id, {sampleFrame(3, 3, 4), sampleFrame(0, 3, 4)}), Error);

  std::vector<int64_t> steps;
  for (const auto& f : store.frames(id)) steps.push_back(f.step);
  EXPECT_THAT(steps, ElementsAre(0));
  store.appendFrames(id, {sampleFrame(1, 3, 4)});  // the store is still usable
  EXPECT_EQ(store.frames(id).size(), 2u);
}

TEST(RunStore, TagsKeepTheirOrderWithoutDuplicatesAndNotesChange) {
  RunStore store(":memory:");
  const int64_t id = store.beginRun(sampleRecord("t"));
  store.setTags(id, {"zeta", "alpha", "", "zeta", "mid"});
  EXPECT_THAT(store.findRun(id)->tags, ElementsAre("zeta", "alpha", "mid"));
  store.setNotes(id, "revisit with more calibration data");
  EXPECT_EQ(store.findRun(id)->notes, "revisit with more calibration data");
  EXPECT_THAT(names(store.listRuns(filter("", "", "", "alpha"))), ElementsAre("t"));
  store.setTags(id, {});
  EXPECT_TRUE(store.findRun(id)->tags.empty());
  EXPECT_TRUE(store.listRuns(filter("", "", "", "alpha")).empty());
}

TEST(RunStore, SensitivityTablesRoundTripAndReplace) {
  RunStore store(":memory:");
  EXPECT_FALSE(store.sensitivity("gpt2/asvd").has_value());
  const std::vector<api::SensitivityEntry> table = {{3, 0.9, 30.5}, {0, 0.1, 912.25}, {3, 0.5, kNaN}};
  store.putSensitivity("gpt2/asvd", table);
  store.putSensitivity("llama/asvd", {{1, 0.5, 12.0}});
  auto got = store.sensitivity("gpt2/asvd");
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), 3u);
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ((*got)[i].opIndex, table[i].opIndex);
    EXPECT_DOUBLE_EQ((*got)[i].ratio, table[i].ratio);
    EXPECT_PRED2(sameDouble, (*got)[i].perplexity, table[i].perplexity);
  }
  store.putSensitivity("gpt2/asvd", {{7, 0.25, 40.0}});
  got = store.sensitivity("gpt2/asvd");
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].opIndex, 7);
  EXPECT_EQ(store.sensitivity("llama/asvd")->size(), 1u);
  store.putSensitivity("gpt2/asvd", {});  // an empty table is no table
  EXPECT_FALSE(store.sensitivity("gpt2/asvd").has_value());
}

TEST(RunStore, DefaultPathFollowsTheEnvironment) {
  auto saved = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto db = saved("RANKLAB_DB"), xdg = saved("XDG_DATA_HOME"), home = saved("HOME");
  ::setenv("RANKLAB_DB", "/tmp/x/runs.db", 1);
  ::setenv("XDG_DATA_HOME", "/xdg", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(RunStore::defaultPath(), "/tmp/x/runs.db");
  ::unsetenv("RANKLAB_DB");
  EXPECT_EQ(RunStore::defaultPath(), "/xdg/ranklab/runs.db");
  ::setenv("XDG_DATA_HOME", "", 1);
  EXPECT_EQ(RunStore::defaultPath(), "/home/u/.local/share/ranklab/runs.db");
  auto restore = [](const char* name, const std::optional<std::string>& v) {
    if (v)
      ::setenv(name, v->c_str(), 1);
    else
      ::unsetenv(name);
  };
  restore("RANKLAB_DB", db);
  restore("XDG_DATA_HOME", xdg);
  restore("HOME", home);
}

TEST(RunStore, ReportsTheSqliteLibraryVersion) {
  EXPECT_EQ(sqliteVersion(), sqlite3_libversion());
  EXPECT_TRUE(std::regex_match(sqliteVersion(), std::regex("3\\.[0-9]+\\.[0-9]+")));
}

}  // namespace
