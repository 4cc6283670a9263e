// The process identity that tells a killed process's leftovers from a live one's (common/process.h),
// and the clean-up of temporary files that killed AtomicFileWriters left behind
// (removeAbandonedTemporaries): a child process is killed with SIGKILL while writing a real file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/process.h"

using namespace ranklab;
namespace fs = std::filesystem;

namespace {

TEST(ProcessIdentity, RoundTripsAndRejectsWhatItDidNotWrite) {
  const auto me = parseProcessIdentity(currentProcessIdentity());
  ASSERT_TRUE(me);
  EXPECT_EQ(me->pid, ::getpid());
  EXPECT_FALSE(processHasEnded(*me));
  const auto colons = parseProcessIdentity("host:with:colons:42:7");
  ASSERT_TRUE(colons);
  EXPECT_EQ(colons->host, "host:with:colons");
  EXPECT_EQ(colons->pid, 42);
  EXPECT_EQ(colons->start, 7u);
  for (const char* bad : {"", "host", "host:1", ":1:2", "host:x:2", "host:1:y", "host:-3:2", "host:0:2"})
    EXPECT_FALSE(parseProcessIdentity(bad)) << bad;
}

TEST(ProcessIdentity, APidWithAnotherStartTimeIsAnotherProcess) {
  auto me = parseProcessIdentity(currentProcessIdentity());
  ASSERT_TRUE(me);
  ASSERT_GT(me->start, 0u) << "/proc/self/stat was not readable";
  me->start += 1;
  EXPECT_TRUE(processHasEnded(*me));
  me->host = "another-host.example";
  EXPECT_FALSE(processHasEnded(*me)) << "another host's processes cannot be checked: assumed alive";
}

std::vector<std::string> namesIn(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AbandonedTemporaries, AKilledWritersFileGoesALiveWritersStays) {
  const fs::path dir = fs::temp_directory_path() / ("ranklab_tmp_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    AtomicFileWriter killed(dir / "factors.safetensors");
    killed.writeZeros(4096);
    const char ready = 1;
    if (::write(fds[1], &ready, 1) != 1) ::_exit(2);
    for (;;) ::pause();
  }
  ASSERT_GT(pid, 0);
  ::close(fds[1]);
  char ready = 0;
  const bool started = ::read(fds[0], &ready, 1) == 1;
  ::close(fds[0]);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_TRUE(started) << "the child did not start writing";
  {
    AtomicFileWriter live(dir / "config.json");  // this process, still writing
    live.writeZeros(16);
    std::ofstream(dir / "model.safetensors") << "kept";
    std::ofstream(dir / "x.tmp-another-host.example:1:1-0") << "another host's";
    std::ofstream(dir / "notes.tmp-draft") << "not ours";
    const auto before = namesIn(dir);
    ASSERT_EQ(before.size(), 5u);  // the two writers' temporaries and three other files
    EXPECT_EQ(removeAbandonedTemporaries(dir), 1);
    const auto after = namesIn(dir);
    ASSERT_EQ(after.size(), 4u);
    for (const auto& name : after)
      EXPECT_EQ(name.find("factors.safetensors.tmp-"), std::string::npos) << name;
    EXPECT_EQ(removeAbandonedTemporaries(dir), 0);
    live.commit();
  }
  EXPECT_TRUE(fs::exists(dir / "config.json"));
  EXPECT_EQ(removeAbandonedTemporaries(dir / "missing"), 0);
  fs::remove_all(dir);
}

}  // namespace
