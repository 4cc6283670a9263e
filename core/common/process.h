// Who is running: an identity for this process that another process can check later, so a record
// left behind by a process that was killed (kill -9, a crash, the OOM killer, a power cut) can be
// told apart from one whose process is still at work. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ranklab {

struct ProcessIdentity {
  std::string host;  // gethostname()
  int64_t pid = 0;
  uint64_t start = 0;  // start time in clock ticks since boot (/proc/PID/stat field 22); 0 if unknown
};

// This process, as "HOST:PID:START" (the host name may itself hold ':'; the last two fields are
// numbers).
std::string currentProcessIdentity();

// Parses what currentProcessIdentity() wrote; nullopt for anything else (an empty string included).
std::optional<ProcessIdentity> parseProcessIdentity(const std::string& text);

// True only when it is certain that the process has ended: it ran on this host, and no process has
// its pid, or the one that has it started at another time (the pid was reused). A process on another
// host, or one whose state cannot be read, is assumed to be alive.
bool processHasEnded(const ProcessIdentity& process);

}  // namespace ranklab
