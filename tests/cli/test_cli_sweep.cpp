// ranklab-cli sweep / run --skip-finished / merge on the reference stories260K, as separate
// processes: a sweep killed with SIGKILL mid-way resumes with every point stored exactly once and
// each decomposition computed once; emitted Slurm tasks run through their own sbatch script (task
// id from the environment, as Slurm sets it), skip themselves when finished, and their shards merge
// idempotently.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "jobs/job_spec.h"
#include "jobs/sweep.h"
#include "store/run_store.h"
#include "support/cli_runner.h"
#include "support/reference.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

std::string cli() { return std::string(RANKLAB_BINARY_DIR) + "/app/ranklab-cli"; }

std::vector<json> jsonLines(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) v.push_back(json::parse(line));
  return v;
}

class CliSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::haveReference())
      GTEST_SKIP() << "reference model, tokenizer or text not found under " << test::referenceDir();
    m_dir = fs::temp_directory_path() / ("ranklab_cli_sweep_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override {
    if (!m_dir.empty()) fs::remove_all(m_dir);
  }

  fs::path writeGrid(const json& axes) const {
    json grid = test::referenceSweepBase(m_dir / "cache");
    for (const auto& a : axes.items()) grid[a.key()] = a.value();
    const fs::path file = m_dir / "grid.json";
    std::ofstream(file) << grid.dump(2);
    return file;
  }
  std::map<fs::path, fs::file_time_type> cacheFiles() const {
    std::map<fs::path, fs::file_time_type> files;
    if (fs::exists(m_dir / "cache"))
      for (const auto& e : fs::directory_iterator(m_dir / "cache"))
        if (e.path().extension() == ".safetensors") files[e.path()] = fs::last_write_time(e.path());
    return files;
  }

  fs::path m_dir;
};

// Every point of `grid` has exactly one run in `db`, succeeded.
void expectEveryPointOnce(const jobs::SweepGrid& grid, const fs::path& db) {
  store::RunStore store(db);
  store::RunFilter f;
  f.sweepId = grid.id;
  const auto runs = store.listRuns(f);
  EXPECT_EQ(runs.size(), grid.points.size());
  std::map<std::string, int> perPoint;
  for (const auto& r : runs) {
    EXPECT_EQ(r.status, "succeeded") << r.name;
    ++perPoint[r.specHash];
  }
  for (const auto& p : grid.points)
    EXPECT_EQ(perPoint[jobs::specHash(p)], 1) << p.decomposition << "+" << p.selector << " " << p.keep;
}

}  // namespace

TEST_F(CliSweep, KilledMidwayResumesWithEveryPointOnceAndEachDecompositionComputedOnce) {
  const auto gridFile = writeGrid(
      {{"decomposition", {"svd", "fwsvd"}}, {"selector", {"uniform", "energy"}}, {"keep", {0.3, 0.5, 0.7}}});
  const auto grid = jobs::loadSweep(gridFile);
  ASSERT_EQ(grid.points.size(), 12u);
  const fs::path db = m_dir / "runs.db";
  const fs::path firstOut = m_dir / "first.out";

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int out = ::open(firstOut.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(out, 1);
    ::dup2(null, 2);
    const std::string exe = cli(), g = gridFile.string(), d = db.string();
    ::execl(exe.c_str(), exe.c_str(), "sweep", g.c_str(), "--db", d.c_str(), "--json",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Kill it while a point is half-done: at least three points stored and one run still "running".
  int succeeded = 0, running = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!fs::exists(db)) continue;
    succeeded = running = 0;
    try {
      for (const auto& r : store::RunStore(db).listRuns()) {
        succeeded += r.status == "succeeded";
        running += r.status == "running";
      }
    } catch (const std::exception&) {
      continue;  // the child is creating the schema
    }
    if (succeeded >= 3 && running == 1) break;
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep ended by itself before it could be killed";
  ASSERT_GE(succeeded, 3);

  // What the killed process left: its stored runs, the half-done point's run (marked
  // "interrupted" by the next open of the database), and the cache files.
  int leftRunning = 0, leftSucceeded = 0, leftInterrupted = 0;
  for (const auto& r : store::RunStore(db).listRuns()) {
    leftRunning += r.status == "running";
    leftSucceeded += r.status == "succeeded";
    leftInterrupted += r.status == "interrupted";
  }
  EXPECT_EQ(leftRunning, 0) << "the killed process's run is still marked running";
  EXPECT_EQ(leftInterrupted, 1) << "killed while a point was half-done";
  const auto cachedBefore = cacheFiles();
  EXPECT_GE(cachedBefore.size(), 1u);
  // The killed process printed one whole JSON line per finished point (flushed as each finished).
  std::ifstream in(firstOut);
  const std::string printed((std::istreambuf_iterator<char>(in)), {});
  int decomposedFirst = 0;
  for (const auto& j : jsonLines(printed))
    decomposedFirst += j["status"] == "succeeded" && !j["decomposition_from_cache"].get<bool>();

  const auto r = test::runCli("sweep " + gridFile.string() + " --db " + db.string() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = jsonLines(r.out);
  ASSERT_EQ(lines.size(), 13u) << r.out;
  const json& report = lines.back();
  EXPECT_EQ(report["sweep_id"], grid.id);
  EXPECT_EQ(report["skipped"].get<int>(), leftSucceeded);
  EXPECT_EQ(report["succeeded"].get<int>(), 12 - leftSucceeded);
  EXPECT_EQ(report["stale_runs_removed"].get<int>(), leftInterrupted);
  // Each decomposition computed once over both processes: what the first one made is reused.
  EXPECT_EQ(decomposedFirst + report["decompositions_computed"].get<int>(), 2) << printed;
  const auto cachedAfter = cacheFiles();
  EXPECT_EQ(cachedAfter.size(), 2u);
  for (const auto& [file, time] : cachedBefore)
    EXPECT_EQ(cachedAfter.at(file), time) << file << " was rewritten";
  expectEveryPointOnce(grid, db);

  // A third run finds nothing to do.
  const auto third =
      jsonLines(test::runCli("sweep " + gridFile.string() + " --db " + db.string() + " --json").out);
  ASSERT_FALSE(third.empty());
  EXPECT_EQ(third.back()["skipped"].get<int>(), 12);
  EXPECT_EQ(third.back()["decompositions_computed"].get<int>(), 0);
}

TEST_F(CliSweep, SlurmTasksRunThroughTheirScriptSkipWhenFinishedAndMergeIdempotently) {
  const auto gridFile = writeGrid({{"selector", {"uniform", "energy"}}, {"keep", {0.3, 0.5}}});
  const auto grid = jobs::loadSweep(gridFile);
  const fs::path dir = m_dir / "slurm";
  auto emitted = test::runCli("sweep " + gridFile.string() + " --emit-slurm " + dir.string() +
                              " --time 00:10:00 --json");
  ASSERT_EQ(emitted.code, 0) << emitted.err;
  EXPECT_EQ(json::parse(emitted.out)["tasks"], 4);

  // Each array task as Slurm runs it: the script with SLURM_ARRAY_TASK_ID set.
  for (int i = 0; i < 4; ++i) {
    const std::string cmd = "SLURM_ARRAY_TASK_ID=" + std::to_string(i) + " bash " +
                            (dir / "sweep.sbatch").string() + " > " + (m_dir / "task.out").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << i;
    EXPECT_TRUE(fs::exists(dir / ("shard-" + std::to_string(i) + ".db"))) << i;
  }
  // Resubmitted, a finished task does nothing.
  const auto again = test::runCli("run " + (dir / "task-2.json").string() + " --db " +
                                  (dir / "shard-2.db").string() + " --skip-finished");
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("already finished"));
  EXPECT_EQ(store::RunStore(dir / "shard-2.db").listRuns().size(), 1u);

  const fs::path merged = m_dir / "merged.db";
  std::string shards;
  for (int i = 0; i < 4; ++i) shards += " " + (dir / ("shard-" + std::to_string(i) + ".db")).string();
  const auto m1 = test::runCli("merge" + shards + " --db " + merged.string() + " --json");
  ASSERT_EQ(m1.code, 0) << m1.err;
  EXPECT_EQ(json::parse(m1.out)["runs_added"], 4);
  // Again, and with an overlapping shard (a copy of shard 0): nothing new.
  fs::copy_file(dir / "shard-0.db", m_dir / "overlap.db");
  const auto m2 = test::runCli("merge" + shards + " " + (m_dir / "overlap.db").string() + " --db " +
                               merged.string() + " --json");
  ASSERT_EQ(m2.code, 0) << m2.err;
  EXPECT_EQ(json::parse(m2.out)["runs_added"], 0);
  EXPECT_EQ(json::parse(m2.out)["runs_skipped"], 5);

  // The merged database holds each point once, with the sweep id and unique run ids.
  expectEveryPointOnce(grid, merged);
  std::set<int64_t> ids;
  for (const auto& r : store::RunStore(merged).listRuns()) ids.insert(r.id);
  EXPECT_EQ(ids.size(), 4u);
  // Its points are the sweep's: a local sweep into the merged database has nothing left to run.
  const auto dry =
      test::runCli("sweep " + gridFile.string() + " --db " + merged.string() + " --dry-run --json");
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_EQ(json::parse(dry.out)["finished"], 4);
}

TEST_F(CliSweep, BadGridsAreClearErrors) {
  std::ofstream(m_dir / "bad.json") << R"({"model": "m", "keep": []})";
  const auto r =
      test::runCli("sweep " + (m_dir / "bad.json").string() + " --db " + (m_dir / "x.db").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.err, HasSubstr((m_dir / "bad.json").string() + ": 'keep' is an empty list"));
  std::ofstream(m_dir / "missing-model.json") << R"({"model": "/nonexistent/model", "keep": [0.3, 0.5]})";
  const auto f =
      test::runCli("sweep " + (m_dir / "missing-model.json").string() + " --db " + (m_dir / "x.db").string());
  EXPECT_EQ(f.code, 2) << "a sweep with failed points exits 2";
  EXPECT_THAT(f.out, HasSubstr("/nonexistent/model"));
  EXPECT_THAT(f.out, HasSubstr("0 succeeded, 2 failed"));
}
