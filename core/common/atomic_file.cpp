#include "common/atomic_file.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_EXCHANGE (glibc 2.28)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <system_error>

#include "common/error.h"
#include "common/process.h"

namespace ranklab {

namespace {
constexpr size_t kWriteBufferBytes = 1 << 20;
constexpr const char* kTemporaryTag = ".tmp-";
std::atomic<uint64_t> g_tmpCounter{0};
}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::filesystem::path& file) : m_file(file) {
  // Same directory as the target so that rename() stays within one file system and is atomic.
  m_tmp = temporaryPathFor(file);
  m_fd = ::open(m_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (m_fd < 0) {
    const int err = errno;
    throw Error(errorIn("writing " + m_file.string(), std::string("cannot create temporary file: ") +
                                                          std::generic_category().message(err)));
  }
  m_buffer.reserve(kWriteBufferBytes);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (m_fd >= 0) ::close(m_fd);
  if (!m_committed) {
    std::error_code ec;
    std::filesystem::remove(m_tmp, ec);
  }
}

void AtomicFileWriter::fail(const std::string& message) {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
  std::error_code ec;
  std::filesystem::remove(m_tmp, ec);
  throw Error(errorIn("writing " + m_file.string(), message));
}

void AtomicFileWriter::flushBuffer() {
  const char* p = m_buffer.data();
  size_t left = m_buffer.size();
  while (left > 0) {
    const ssize_t n = ::write(m_fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      fail("write failed after " + std::to_string(m_written) +
           " bytes: " + std::generic_category().message(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  m_buffer.clear();
}

void AtomicFileWriter::write(const void* data, uint64_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, kWriteBufferBytes - m_buffer.size()));
    m_buffer.insert(m_buffer.end(), p, p + chunk);
    p += chunk;
    n -= chunk;
    m_written += chunk;
    if (m_buffer.size() == kWriteBufferBytes) flushBuffer();
  }
}

void AtomicFileWriter::writeZeros(uint64_t n) {
  static const char zeros[64] = {};
  while (n > 0) {
    const uint64_t chunk = std::min<uint64_t>(n, sizeof(zeros));
    write(zeros, chunk);
    n -= chunk;
  }
}

void AtomicFileWriter::commit() {
  flushBuffer();
  // fsync before rename: otherwise a crash can leave the new name pointing at unwritten blocks.
  if (::fsync(m_fd) != 0) {
    const int err = errno;
    fail("fsync failed: " + std::generic_category().message(err));
  }
  if (::close(m_fd) != 0) {
    m_fd = -1;
    const int err = errno;
    fail("close failed: " + std::generic_category().message(err));
  }
  m_fd = -1;
  std::error_code ec;
  std::filesystem::rename(m_tmp, m_file, ec);
  if (ec) fail("cannot rename temporary file into place: " + ec.message());
  m_committed = true;
}

void writeFileAtomically(const std::filesystem::path& file, const std::string& text) {
  AtomicFileWriter w(file);
  w.write(text.data(), text.size());
  w.commit();
}

std::filesystem::path temporaryPathFor(const std::filesystem::path& target) {
  // Named after the writing process, so that removeAbandonedTemporaries() can tell a killed
  // writer's leftover from one another process is still writing.
  std::filesystem::path tmp = target;
  tmp += kTemporaryTag + currentProcessIdentity() + "-" + std::to_string(g_tmpCounter++);
  return tmp;
}

void replaceDirectory(const std::filesystem::path& staged, const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto failWith = [&](const std::string& what, int err) {
    throw Error(target.string() + ": " + what + " (" + std::generic_category().message(err) + ")");
  };
  if (!fs::exists(fs::symlink_status(target, ec))) {
    if (::rename(staged.c_str(), target.c_str()) != 0)
      failWith("cannot move the new folder into place", errno);
    return;
  }
  fs::path old;
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    old = staged;  // the exchange left the previous directory under the staged name
  } else if (errno == EINVAL || errno == ENOSYS || errno == EPERM) {
    // A file system without RENAME_EXCHANGE: move the old one aside first. A kill between the two
    // renames leaves the old directory under its temporary name, not a mix of two.
    old = temporaryPathFor(target);
    if (::rename(target.c_str(), old.c_str()) != 0) failWith("cannot move the previous folder aside", errno);
    if (::rename(staged.c_str(), target.c_str()) != 0) {
      const int err = errno;
      ::rename(old.c_str(), target.c_str());
      failWith("cannot move the new folder into place", err);
    }
  } else {
    failWith("cannot replace the folder", errno);
  }
  fs::remove_all(old, ec);  // best effort: removeAbandonedTemporaries() takes what is left
}

int removeAbandonedTemporaries(const std::filesystem::path& dir) noexcept {
  int removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto tag = name.rfind(kTemporaryTag);
    if (tag == std::string::npos) continue;
    // NAME.tmp-HOST:PID:START-COUNTER
    const std::string rest = name.substr(tag + std::char_traits<char>::length(kTemporaryTag));
    const auto dash = rest.rfind('-');
    if (dash == std::string::npos || dash + 1 == rest.size() ||
        rest.find_first_not_of("0123456789", dash + 1) != std::string::npos)
      continue;
    const auto writer = parseProcessIdentity(rest.substr(0, dash));
    if (!writer || !processHasEnded(*writer)) continue;
    std::error_code removeError;
    if (std::filesystem::remove_all(it->path(), removeError) > 0 && !removeError) ++removed;
  }
  return removed;
}

}  // namespace ranklab
