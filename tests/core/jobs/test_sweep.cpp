// Sweeps in process: grid expansion (axes, ordering for sharing, de-duplication, ids, rejected
// grids), a real 2 decompositions x 2 selectors x 3 budgets sweep on the reference stories260K with
// its shared decompositions, resuming (finished points skipped, half-done and failed ones re-run
// once), the lock against a second process, and the Slurm files it emits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/error.h"
#include "jobs/job_spec.h"
#include "jobs/sweep.h"
#include "store/run_store.h"
#include "support/reference.h"

namespace fs = std::filesystem;
using namespace ranklab;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

using test::haveReference;
using test::referenceDir;

std::string errorOf(const json& grid) {
  try {
    jobs::expandSweep(grid, "grid.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class SweepDir : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("ranklab_sweep_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  // The grid on stories260K: 2 decompositions x 2 selectors x 3 budgets.
  json referenceGrid() const {
    json grid = test::referenceSweepBase(m_dir / "cache");
    grid["decomposition"] = {"svd", "fwsvd"};
    grid["selector"] = {"uniform", "energy"};
    grid["keep"] = {0.3, 0.5, 0.7};
    return grid;
  }
  size_t cacheFiles() const {
    size_t n = 0;
    if (fs::exists(m_dir / "cache"))
      for (const auto& e : fs::directory_iterator(m_dir / "cache"))
        n += e.path().extension() == ".safetensors";
    return n;
  }

  fs::path m_dir;
};

}  // namespace

TEST(SweepGrid, EveryCombinationOnceWithTheDecompositionAxesOutermost) {
  const json grid{{"model", "m"},
                  {"keep", {0.3, 0.5, 0.7}},
                  {"selector", {"uniform", "energy"}},
                  {"decomposition", {"svd", "fwsvd"}},
                  {"seed", {0, 1}}};
  const auto g = jobs::expandSweep(grid, "grid.json");
  ASSERT_EQ(g.points.size(), 24u);
  // decomposition and seed decide the decomposition cache key: they turn slowest.
  EXPECT_EQ(g.axes, (std::vector<std::string>{"decomposition", "seed", "keep", "selector"}));
  std::set<std::string> hashes;
  for (const auto& p : g.points) {
    hashes.insert(jobs::specHash(p));
    EXPECT_EQ(p.sweepId, g.id);
    EXPECT_EQ(p.model, "m");
  }
  EXPECT_EQ(hashes.size(), 24u);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(g.points[i].decomposition, "svd") << i;
  for (size_t i = 12; i < 24; ++i) EXPECT_EQ(g.points[i].decomposition, "fwsvd") << i;
  EXPECT_EQ(g.points[0].seed, 0u);
  EXPECT_EQ(g.points[6].seed, 1u);
  EXPECT_EQ(g.points[1].selector, "energy");
  EXPECT_DOUBLE_EQ(g.points[2].keep, 0.5);
}

TEST(SweepGrid, IdIsStableAndFollowsThePointsUnlessGiven) {
  const json a{{"model", "m"}, {"keep", {0.3, 0.5}}};
  const json reordered{{"keep", {0.3, 0.5}}, {"model", "m"}};
  const json other{{"model", "m"}, {"keep", {0.3, 0.6}}};
  const auto id = jobs::expandSweep(a, "a").id;
  EXPECT_THAT(id, ::testing::StartsWith("sweep-"));
  EXPECT_EQ(id.size(), 18u);
  EXPECT_EQ(jobs::expandSweep(reordered, "b").id, id);
  EXPECT_NE(jobs::expandSweep(other, "c").id, id);
  json named = a;
  named["sweep_id"] = "budget-study.v2";
  EXPECT_EQ(jobs::expandSweep(named, "d").id, "budget-study.v2");
}

TEST(SweepGrid, ListValuedKeysSweepOnlyAsListsOfLists) {
  const auto plain = jobs::expandSweep({{"model", "m"}, {"tags", {"a", "b"}}}, "g");
  ASSERT_EQ(plain.points.size(), 1u);
  EXPECT_EQ(plain.points[0].tags, (std::vector<std::string>{"a", "b"}));
  const auto swept = jobs::expandSweep({{"model", "m"}, {"sensitivity_ratios", {{0.2, 0.4}, {0.5}}}}, "g");
  ASSERT_EQ(swept.points.size(), 2u);
  EXPECT_EQ(swept.points[1].sensitivityRatios, (std::vector<double>{0.5}));
  const auto manual = jobs::expandSweep(
      {{"model", "m"}, {"selector", "manual"}, {"manual_ranks", {{{"*.q", 8}}, {{"*.q", 16}}}}}, "g");
  ASSERT_EQ(manual.points.size(), 2u);
  EXPECT_DOUBLE_EQ(manual.points[1].manualRanks.at("*.q"), 16.0);
}

TEST(SweepGrid, IdenticalPointsRunOnce) {
  // 0.5 twice: one point.
  EXPECT_EQ(jobs::expandSweep({{"model", "m"}, {"keep", {0.5, 0.3, 0.5}}}, "g").points.size(), 2u);
}

TEST(SweepGrid, RejectedGridsSayWhatIsWrong) {
  EXPECT_THAT(errorOf({{"model", "m"}, {"kepp", {0.3}}}),
              HasSubstr("grid.json: unknown job spec key 'kepp'"));
  EXPECT_THAT(errorOf({{"model", "m"}, {"keep", json::array()}}), HasSubstr("'keep' is an empty list"));
  EXPECT_THAT(errorOf({{"model", "m"}, {"db", {"a.db", "b.db"}}}),
              HasSubstr("'db' is one value for the whole sweep"));
  EXPECT_THAT(errorOf({{"model", "m"}, {"export", "out"}}), HasSubstr("'export'"));
  EXPECT_THAT(errorOf({{"model", "m"}, {"keep", {0.3, "half"}}}),
              HasSubstr("grid.json, point 1 (keep = \"half\")"));
  EXPECT_THAT(errorOf({{"model", "m"}, {"sweep_id", "a b/c"}}), HasSubstr("sweep_id 'a b/c'"));
  EXPECT_THAT(errorOf(json::array({1, 2})), HasSubstr("must be a JSON object"));
}

TEST(SweepGrid, TooManyPointsAreRefusedBeforeExpanding) {
  // Five lists of ten make 100,000 combinations, each one parsed and validated before the first runs:
  // refused at once, naming the count and each axis; a grid under the cap expands.
  json grid{{"model", "m"}};
  for (const char* key : {"seed", "ars_steps", "calib_samples", "finetune_steps", "max_eval_documents"}) {
    json values = json::array();
    for (int i = 1; i <= 10; ++i) values.push_back(i);
    grid[key] = values;
  }
  EXPECT_THAT(errorOf(grid), HasSubstr("grid.json: the grid has 100000 points (calib_samples 10 x seed 10 x "
                                       "ars_steps 10 x finetune_steps 10 x max_eval_documents 10)"));
  EXPECT_THAT(errorOf(grid), HasSubstr("at most " + std::to_string(jobs::kMaxSweepPoints)));
  grid.erase("max_eval_documents");
  grid["seed"] = json::array({1});
  EXPECT_EQ(jobs::expandSweep(grid, "grid.json").points.size(), 1000u);
}

TEST_F(SweepDir, LoadSweepNamesTheFile) {
  std::ofstream(m_dir / "bad.json") << "{\"model\": ";
  try {
    jobs::loadSweep(m_dir / "bad.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr((m_dir / "bad.json").string() + ": not valid JSON"));
  }
  EXPECT_THROW(jobs::loadSweep(m_dir / "missing.json"), Error);
}

TEST_F(SweepDir, SharesOneDecompositionPerMethodAndResumesWithoutDuplicates) {
  if (!haveReference())
    GTEST_SKIP() << "reference model, tokenizer or text not found under " << referenceDir();
  const auto grid = jobs::expandSweep(referenceGrid(), "grid");
  ASSERT_EQ(grid.points.size(), 12u);
  jobs::SweepOptions options;
  options.db = (m_dir / "runs.db").string();
  std::vector<size_t> order;
  options.onPoint = [&](const jobs::SweepPointResult& r, const jobs::SweepReport&) {
    order.push_back(r.index);
  };
  NullProgress progress;
  CancelToken cancel;
  const auto first = jobs::runSweep(grid, options, progress, cancel);
  EXPECT_EQ(first.succeeded, 12u);
  EXPECT_EQ(first.failed, 0u);
  // One decomposition per decomposition method, every other point served by the cache.
  EXPECT_EQ(first.decompositionsComputed, 2);
  EXPECT_EQ(cacheFiles(), 2u);
  EXPECT_EQ(order.size(), 12u);
  // The dense model is evaluated by the first point only; the other eleven reuse it.
  EXPECT_EQ(first.evaluationsShared, 11);
  EXPECT_FALSE(first.results[0].beforeFromEarlierJob);

  store::RunStore db(options.db);
  store::RunFilter f;
  f.sweepId = grid.id;
  auto runs = db.listRuns(f);
  ASSERT_EQ(runs.size(), 12u);
  for (const auto& r : runs)
    EXPECT_EQ(r.metricBefore, runs.front().metricBefore) << r.name;  // one evaluation, exact
  std::map<std::string, int> perPoint;
  for (const auto& r : runs) {
    EXPECT_EQ(r.status, "succeeded");
    ++perPoint[r.specHash];
  }
  for (const auto& p : grid.points) EXPECT_EQ(perPoint[jobs::specHash(p)], 1);
  // The budget is what the point asked for (metric: achieved p within 0.03 of the target).
  for (size_t i = 0; i < grid.points.size(); ++i)
    EXPECT_NEAR(first.results[i].keptFraction, grid.points[i].keep, 0.03) << i;

  // A half-done point (its process was killed: status "running") and a failed one are re-run once;
  // the other ten are skipped.
  auto half = *db.findRun(first.results[3].runId);
  half.status = "running";
  db.updateRun(half);
  auto failed = *db.findRun(first.results[8].runId);
  failed.status = "failed";
  failed.error = "disk full";
  db.updateRun(failed);
  const auto again = jobs::runSweep(grid, options, progress, cancel);
  EXPECT_EQ(again.skipped, 10u);
  EXPECT_EQ(again.succeeded, 2u);
  EXPECT_EQ(again.staleRunsRemoved, 2);
  EXPECT_EQ(again.decompositionsComputed, 0);
  EXPECT_EQ(again.results[3].status, "succeeded");
  EXPECT_EQ(again.results[0].status, "skipped");
  runs = db.listRuns(f);
  ASSERT_EQ(runs.size(), 12u);
  perPoint.clear();
  for (const auto& r : runs) {
    EXPECT_EQ(r.status, "succeeded");
    ++perPoint[r.specHash];
  }
  for (const auto& p : grid.points) EXPECT_EQ(perPoint[jobs::specHash(p)], 1);

  // The plan agrees: nothing left.
  const auto plan = jobs::planSweep(grid, db);
  EXPECT_EQ(plan.finished.size(), 12u);
  EXPECT_TRUE(plan.pending.empty());
}

TEST_F(SweepDir, ASecondProcessOnTheSameSweepIsRefused) {
  const auto grid = jobs::expandSweep({{"model", "m"}, {"keep", {0.3, 0.5}}}, "g");
  const fs::path db = m_dir / "runs.db";
  jobs::SweepLock held(db, grid.id);
  EXPECT_TRUE(fs::exists(held.file()));
  jobs::SweepOptions options;
  options.db = db.string();
  NullProgress progress;
  CancelToken cancel;
  try {
    jobs::runSweep(grid, options, progress, cancel);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("sweep " + grid.id + " is already running in another process"));
  }
}

TEST_F(SweepDir, CancelledSweepStopsAndStoresNothingHalfWritten) {
  const auto grid = jobs::expandSweep({{"model", "m"}, {"keep", {0.3, 0.5}}}, "g");
  jobs::SweepOptions options;
  options.db = (m_dir / "runs.db").string();
  NullProgress progress;
  CancelToken cancel;
  cancel.cancel();
  const auto report = jobs::runSweep(grid, options, progress, cancel);
  EXPECT_TRUE(report.cancelled);
  EXPECT_EQ(report.succeeded + report.failed, 0u);
  EXPECT_TRUE(store::RunStore(options.db).listRuns().empty());
}

TEST_F(SweepDir, EmitsOneTaskPerPointAndAnArrayScript) {
  const auto grid = jobs::expandSweep(
      {{"model", "relative/model"}, {"selector", {"uniform", "energy"}}, {"keep", {0.3, 0.5}}}, "g");
  jobs::SlurmOptions o;
  o.cli = "/opt/ranklab/bin/ranklab-cli";
  o.partition = "gpu";
  o.gpusPerTask = 1;
  o.time = "01:30:00";
  const fs::path dir = m_dir / "slurm";
  ASSERT_EQ(jobs::emitSlurm(grid, dir, o), 4u);
  for (int i = 0; i < 4; ++i) {
    std::ifstream in(dir / ("task-" + std::to_string(i) + ".json"));
    ASSERT_TRUE(in) << i;
    const json j = json::parse(in);
    const auto spec = jobs::jobSpecFromJson(j, "task");
    EXPECT_EQ(spec.sweepId, grid.id);
    EXPECT_TRUE(fs::path(spec.model).is_absolute()) << spec.model;
    EXPECT_EQ(spec.cacheDir, (fs::absolute(dir).lexically_normal() / "cache").string());
    EXPECT_TRUE(spec.db.empty());
    // The task is the point (paths aside): same selector and budget.
    EXPECT_EQ(spec.selector, grid.points[static_cast<size_t>(i)].selector);
    EXPECT_DOUBLE_EQ(spec.keep, grid.points[static_cast<size_t>(i)].keep);
  }
  std::ifstream sb(dir / "sweep.sbatch");
  const std::string script((std::istreambuf_iterator<char>(sb)), {});
  EXPECT_THAT(script, HasSubstr("#SBATCH --array=0-3\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --partition=gpu\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --gpus-per-task=1\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --time=01:30:00\n"));
  EXPECT_THAT(script, HasSubstr("'/opt/ranklab/bin/ranklab-cli' run \"$dir/task-$i.json\" --db "
                                "\"$dir/shard-$i.db\" --skip-finished"));
  EXPECT_TRUE((fs::status(dir / "sweep.sbatch").permissions() & fs::perms::owner_exec) != fs::perms::none);
  std::ifstream rd(dir / "README.txt");
  const std::string readme((std::istreambuf_iterator<char>(rd)), {});
  EXPECT_THAT(readme, HasSubstr("merge"));
  EXPECT_THAT(readme, HasSubstr("shard-*.db --db RUNS.db"));
}
