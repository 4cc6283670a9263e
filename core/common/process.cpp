#include "common/process.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <sstream>

namespace ranklab {

namespace {

std::string hostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// Field 22 of /proc/PID/stat (starttime), and field 3 (state) into `state`. The command name
// (field 2) is in parentheses and may hold spaces or ')', so the fields are counted after its last
// ')'. 0 when it cannot be read.
uint64_t startTicks(int64_t pid, char* state = nullptr) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return 0;
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {  // the text after ')' starts with field 3 (state)
    if (!(fields >> field)) return 0;
    if (i == 3 && state) *state = field.empty() ? '?' : field[0];
  }
  try {
    return std::stoull(field);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::string currentProcessIdentity() {
  const int64_t pid = ::getpid();
  return hostName() + ":" + std::to_string(pid) + ":" + std::to_string(startTicks(pid));
}

std::optional<ProcessIdentity> parseProcessIdentity(const std::string& text) {
  const auto second = text.rfind(':');
  if (second == std::string::npos || second == 0) return std::nullopt;
  const auto first = text.rfind(':', second - 1);
  if (first == std::string::npos || first == 0) return std::nullopt;
  ProcessIdentity p;
  p.host = text.substr(0, first);
  try {
    size_t used = 0;
    const std::string pid = text.substr(first + 1, second - first - 1);
    p.pid = std::stoll(pid, &used);
    if (used != pid.size() || p.pid <= 0) return std::nullopt;
    const std::string start = text.substr(second + 1);
    p.start = std::stoull(start, &used);
    if (used != start.size()) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return p;
}

bool processHasEnded(const ProcessIdentity& process) {
  if (process.host != hostName() || process.pid <= 0 || process.pid > INT_MAX) return false;
  if (::kill(static_cast<pid_t>(process.pid), 0) != 0 && errno == ESRCH) return true;
  // A process has this pid (or we may not signal it): the same one only if it started when the
  // recorded one did.
  // A zombie (killed, not yet reaped by its parent) has ended too.
  char state = '?';
  const uint64_t now = startTicks(process.pid, &state);
  if (now == 0) return false;
  if (process.start != 0 && now != process.start) return true;
  return state == 'Z' || state == 'X';
}

}  // namespace ranklab
