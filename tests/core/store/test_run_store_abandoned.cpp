// Runs whose process was killed: a child process starts a run in a real database file and is killed
// with SIGKILL mid-run; the next process to open the file finds the run interrupted, with an error naming
// the process, and keeps what it had stored. Runs of live processes, of other hosts and from before
// schema 4 stay "running". (The process identity they rest on: tests/core/common/test_process.cpp.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "common/process.h"
#include "store/run_store.h"
#include "store_test_support.h"

using namespace ranklab;
using namespace ranklab::store;
using namespace ranklab::store::testing;
using ::testing::HasSubstr;

namespace {

// Forks a child that opens `file`, begins a run, stores two series points, reports the run's id
// through a pipe and then waits to be killed. Returns {pid, run id}; pid -1 on failure.
std::pair<pid_t, int64_t> childWithRunningRun(const fs::path& file) {
  int fds[2];
  if (::pipe(fds) != 0) return {-1, 0};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    int64_t id = 0;
    try {
      RunStore db(file);
      id = db.beginRun(sampleRecord("killed"));
      db.appendSeries(id, {{1, "loss", 2.5}, {2, "loss", 2.25}});
    } catch (...) {
      id = -1;
    }
    if (::write(fds[1], &id, sizeof id) != sizeof id) ::_exit(2);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  int64_t id = 0;
  const bool got = ::read(fds[0], &id, sizeof id) == sizeof id;
  ::close(fds[0]);
  if (pid < 0 || !got) return {-1, 0};
  return {pid, id};
}

// Kills and reaps the child if a failed assertion leaves the test early.
struct ChildGuard {
  pid_t pid;
  ~ChildGuard() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

TEST(RunStoreAbandoned, AKilledProcessRunIsMarkedInterruptedWhenTheFileIsNextOpened) {
  TempDir dir;
  const auto file = dir / "runs.db";
  const auto [pid, id] = childWithRunningRun(file);
  ChildGuard guard{pid};
  ASSERT_GT(pid, 0) << "could not start the child process";
  ASSERT_GT(id, 0) << "the child could not begin a run";
  {
    // While the child lives, its run is running, whoever opens the file.
    RunStore db(file);
    EXPECT_EQ(db.findRun(id)->status, "running");
    EXPECT_TRUE(db.reapAbandonedRuns().empty());
    EXPECT_EQ(db.liveOwner(id),
              "pid " + std::to_string(pid) + " on " + parseProcessIdentity(currentProcessIdentity())->host);
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  guard.pid = -1;
  ASSERT_TRUE(WIFSIGNALED(status));

  RunStore db(file);
  const auto run = db.findRun(id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->status, "interrupted");
  EXPECT_THAT(run->error, HasSubstr("ended before the run finished"));
  EXPECT_THAT(run->error, HasSubstr("pid " + std::to_string(pid)));
  EXPECT_FALSE(run->finishedAt.empty());
  EXPECT_EQ(db.series(id, "loss").size(), 2u) << "what the run stored before the kill is kept";
  EXPECT_TRUE(db.reapAbandonedRuns().empty()) << "a run is marked once";
  EXPECT_EQ(db.liveOwner(id), "");
}

TEST(RunStoreAbandoned, RunsOfThisProcessOtherHostsAndOlderFilesStayRunning) {
  TempDir dir;
  const auto file = dir / "runs.db";
  RunStore writer(file);
  const int64_t mine = writer.beginRun(sampleRecord("mine"));
  const int64_t remote = writer.beginRun(sampleRecord("remote"));
  const int64_t old = writer.beginRun(sampleRecord("old"));
  const int64_t garbled = writer.beginRun(sampleRecord("garbled"));
  {
    RawDb raw(file);
    raw.exec("UPDATE runs SET owner = 'another-host.example:1:1' WHERE id = " + std::to_string(remote));
    raw.exec("UPDATE runs SET owner = '' WHERE id = " + std::to_string(old));
    raw.exec("UPDATE runs SET owner = 'not an identity' WHERE id = " + std::to_string(garbled));
  }
  RunStore reader(file);
  EXPECT_TRUE(reader.reapAbandonedRuns().empty());
  for (int64_t id : {mine, remote, old, garbled}) EXPECT_EQ(reader.findRun(id)->status, "running") << id;
}

TEST(RunStoreAbandoned, ARunWhosePidWasReusedIsInterrupted) {
  TempDir dir;
  const auto file = dir / "runs.db";
  RunStore db(file);
  const int64_t id = db.beginRun(sampleRecord("reused"));
  // This process's pid, but another start time: the pid now belongs to a different process.
  auto me = parseProcessIdentity(currentProcessIdentity());
  ASSERT_TRUE(me);
  ASSERT_GT(me->start, 0u) << "/proc/self/stat was not readable";
  {
    RawDb raw(file);
    raw.exec("UPDATE runs SET owner = '" + me->host + ":" + std::to_string(me->pid) + ":" +
             std::to_string(me->start + 1) + "' WHERE id = " + std::to_string(id));
  }
  EXPECT_EQ(db.reapAbandonedRuns(), std::vector<int64_t>{id});
  EXPECT_EQ(db.findRun(id)->status, "interrupted");
}

}  // namespace
