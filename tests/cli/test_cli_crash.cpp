// Crash safety through the real binary (issue 22): a compression job killed with SIGKILL at a random
// point of each phase, and an export that runs out of space, leave the run database intact (SQLite's
// integrity check "ok", no run left "running" once the store is opened again) and the export folder
// either the old export or the new one, complete, never a mix.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/run_store.h"
#include "support/cli_runner.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using ::testing::HasSubstr;

namespace {

const std::string kSource = RANKLAB_SOURCE_DIR;

class CliCrash : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("ranklab_crash_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  // The job: whitening (calibration, decomposition), energy ranks, fine-tuning, evaluation before and
  // after, a factorized export; small enough to take seconds on gpt-mini.
  std::vector<std::string> job(double keep) const {
    return {"compress",
            kSource + "/resources/models/gpt-mini",
            "--decomp",
            "whiten",
            "--select",
            "energy",
            "--energy",
            keep == 0.5 ? "0.9" : "0.8",
            "--calib",
            kSource + "/resources/data/lm/valid.txt",
            "--calib-samples",
            "4",
            "--eval",
            kSource + "/resources/data/lm/test.txt",
            "--max-docs",
            "1",
            "--finetune-steps",
            "10",
            "--no-cache",
            "--export",
            exportDir().string(),
            "--db",
            db().string()};
  }
  fs::path db() const { return m_dir / "runs.db"; }
  fs::path exportDir() const { return m_dir / "export"; }

  static std::string joined(const std::vector<std::string>& args) {
    std::string s;
    for (const auto& a : args) s += " '" + a + "'";
    return s;
  }

  // Starts ranklab-cli with `args`; its stderr (the progress lines) comes back through a pipe.
  // `fileSizeLimit` > 0 caps every file it writes (RLIMIT_FSIZE): a disk that fills up.
  pid_t spawn(const std::vector<std::string>& args, int& errFd, rlim_t fileSizeLimit = 0) const {
    int fds[2];
    if (::pipe(fds) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      ::dup2(fds[1], 2);
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      if (fileSizeLimit > 0) {
        const rlimit limit{fileSizeLimit, fileSizeLimit};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        std::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG, as on a full disk
      }
      const std::string exe = std::string(RANKLAB_BINARY_DIR) + "/app/ranklab-cli";
      std::vector<char*> argv{const_cast<char*>(exe.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(exe.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    errFd = fds[0];
    return pid;
  }

  // SQLite's own verdict on the database file.
  static std::string integrity(const fs::path& file) {
    sqlite3* h = nullptr;
    std::string verdict = "cannot open";
    if (sqlite3_open_v2(file.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK &&
          sqlite3_step(s) == SQLITE_ROW)
        verdict = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      sqlite3_finalize(s);
    }
    sqlite3_close(h);
    return verdict;
  }

  static std::string manifestUuid(const fs::path& dir) {
    nlohmann::json m;
    std::ifstream in(dir / "ranklab.json");
    if (!in) return "";
    in >> m;
    return m.value("run_uuid", "");
  }

  fs::path m_dir;
};

TEST_F(CliCrash, KillNineInEveryPhaseLeavesTheStoreAndTheExportWhole) {
  // The old export, complete.
  auto first = test::runCli(joined(job(0.5)));
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string oldUuid = manifestUuid(exportDir());
  ASSERT_FALSE(oldUuid.empty());

  std::mt19937 rng(2026);
  int killed = 0;
  std::string before = oldUuid;  // the export in place when a job starts
  for (const std::string phase : {"calibrate", "decompose", "finetune", "perplexity", "export"}) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      SCOPED_TRACE(phase + " #" + std::to_string(attempt));
      int errFd = -1;
      const pid_t child = spawn(job(0.3), errFd);
      ASSERT_GT(child, 0);
      // Wait for the phase to start, then a random moment into it (up to 40 ms).
      std::string seen;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      char buf[4096];
      while (seen.find(phase) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        const ssize_t n = ::read(errFd, buf, sizeof buf);
        if (n > 0) seen.append(buf, static_cast<size_t>(n));
        if (n == 0) break;  // the child ended
        if (n < 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      ASSERT_NE(seen.find(phase), std::string::npos) << "the job never reached " << phase << ":\n" << seen;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 40)(rng)));
      ::kill(child, SIGKILL);
      int status = 0;
      ASSERT_EQ(::waitpid(child, &status, 0), child);
      ::close(errFd);
      killed += WIFSIGNALED(status);

      // The database: intact, and no run left "running" once a store opens it.
      EXPECT_EQ(integrity(db()), "ok");
      store::RunStore reopened(db());
      const auto runs = reopened.listRuns();  // newest first: the killed job's run
      ASSERT_FALSE(runs.empty());
      for (const auto& r : runs) EXPECT_NE(r.status, "running") << "run " << r.id;
      // The export: the one before this job or the killed job's, whole (info loads it and checks
      // the manifest against the factors), never a mix and never missing.
      const std::string uuid = manifestUuid(exportDir());
      EXPECT_TRUE(uuid == before || uuid == runs.front().uuid) << "export manifest of run " << uuid;
      before = uuid;
      const auto info = test::runCli("info " + exportDir().string());
      EXPECT_EQ(info.code, 0) << info.err;
    }
  }
  EXPECT_GE(killed, 8) << "most kills must land while the job runs";

  // A run after the kills finishes, and the killed processes' temporaries are gone.
  auto last = test::runCli(joined(job(0.3)));
  ASSERT_EQ(last.code, 0) << last.err;
  for (const auto& e : fs::directory_iterator(m_dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST_F(CliCrash, AnExportThatRunsOutOfSpaceKeepsTheOldOneAndSaysWhy) {
  auto first = test::runCli(joined(job(0.5)));
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string oldUuid = manifestUuid(exportDir());
  // Files may not grow past 1 MB: the database (a few hundred kB) still can, the new factors
  // (several MB) cannot.
  ASSERT_LT(fs::file_size(db()), 600u * 1024);
  int errFd = -1;
  const pid_t child = spawn(job(0.3), errFd, 1 << 20);
  ASSERT_GT(child, 0);
  std::string err;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(errFd, buf, sizeof buf);
    if (n > 0) err.append(buf, static_cast<size_t>(n));
    if (n == 0) break;
    if (n < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::close(errFd);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2) << err;
  EXPECT_THAT(err, HasSubstr("factors.safetensors"));
  EXPECT_THAT(err, HasSubstr("File too large"));
  EXPECT_EQ(manifestUuid(exportDir()), oldUuid) << "the old export was replaced by a partial one";
  EXPECT_EQ(test::runCli("info " + exportDir().string()).code, 0);
  EXPECT_EQ(integrity(db()), "ok");
  store::RunStore reopened(db());
  const auto runs = reopened.listRuns();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, "failed");  // newest first
  EXPECT_THAT(runs[0].error, HasSubstr("factors.safetensors"));
  EXPECT_EQ(runs[1].status, "succeeded");
  for (const auto& e : fs::directory_iterator(m_dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "left behind: " << e.path();
}

}  // namespace
