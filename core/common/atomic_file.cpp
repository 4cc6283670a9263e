#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <system_error>

#include "common/error.h"

namespace ranklab {

namespace {
constexpr size_t kWriteBufferBytes = 1 << 20;
std::atomic<uint64_t> g_tmpCounter{0};
}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::filesystem::path& file) : m_file(file) {
  // Same directory as the target so that rename() stays within one file system and is atomic.
  m_tmp = file;
  m_tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(g_tmpCounter++);
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

}  // namespace ranklab
