// AtomicFileWriter: writes a file so that readers only ever see the old file or the complete new one.
// Used by every writer in RankLab (safetensors, GGUF, config.json, tokenizer files). Torch-free. Not
// thread-safe; one writer per file. Throws ranklab::Error naming the file (e.g. on a full disk).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ranklab {

// Writes `file` atomically: bytes go to a temporary file beside it, which is flushed to disk and
// renamed over `file` by commit(). Destroying an uncommitted writer removes the temporary file, so
// a failure (full disk, exception while serialising) never leaves a truncated `file`.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::filesystem::path& file);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, uint64_t n);
  void writeZeros(uint64_t n);
  template <typename T>
  void writeLe(T v) {
    write(&v, sizeof(T));
  }
  uint64_t bytesWritten() const { return m_written; }
  void commit();

 private:
  void flushBuffer();
  [[noreturn]] void fail(const std::string& message);

  std::filesystem::path m_file;
  std::filesystem::path m_tmp;
  int m_fd = -1;
  bool m_committed = false;
  uint64_t m_written = 0;
  std::vector<char> m_buffer;
};

// Writes `text` to `file` through an AtomicFileWriter.
void writeFileAtomically(const std::filesystem::path& file, const std::string& text);

// Removes the temporary files and folders in `dir` (not below it) that an AtomicFileWriter or a
// staged directory (temporaryPathFor) left behind when its process was killed before it could clean
// up: only those made on this host by a process that has certainly ended (common/process.h), never
// one another process is still writing. Returns how many it removed; errors (an unreadable folder, a
// file already gone) are ignored.
int removeAbandonedTemporaries(const std::filesystem::path& dir) noexcept;

// A fresh path beside `target` (same folder, so a rename stays on one file system) named like
// AtomicFileWriter's temporaries: TARGET.tmp-HOST:PID:START-N. removeAbandonedTemporaries() removes
// it, whole, once its process has ended.
std::filesystem::path temporaryPathFor(const std::filesystem::path& target);

// Puts the complete directory `staged` in the place of `target` in one step where the file system
// allows it (renameat2 RENAME_EXCHANGE: a reader sees the old directory or the new one, never a mix),
// then removes the old one. Without an old `target` it is a rename. Throws ranklab::Error naming
// `target`; `staged` is left as it was when the exchange itself fails.
void replaceDirectory(const std::filesystem::path& staged, const std::filesystem::path& target);

}  // namespace ranklab
