// Internal helpers shared by the format readers and writers in core/io (not part of the public API):
// overflow-checked size arithmetic, a bounded little-endian file reader that refuses to read past
// the end of the file (writers use common/atomic_file.h). All failures throw ranklab::Error
// prefixed with the given context.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/atomic_file.h"

namespace ranklab::io::detail {

// a * b, or nullopt on uint64 overflow. Headers are untrusted, so every size product goes through
// these before it is compared with the file size.
std::optional<uint64_t> checkedMul(uint64_t a, uint64_t b);
std::optional<uint64_t> checkedAdd(uint64_t a, uint64_t b);

// Reads a file front to back. Every read is checked against the file size first, so a corrupted
// length fails with a message instead of a huge allocation or a short read.
class BoundedReader {
 public:
  // `context` prefixes error messages, e.g. "reading model.gguf".
  BoundedReader(const std::filesystem::path& file, std::string context);

  uint64_t size() const { return m_size; }
  uint64_t position() const { return m_pos; }
  uint64_t remaining() const { return m_size - m_pos; }
  const std::string& context() const { return m_context; }

  // Throws unless `n` more bytes exist; `what` names the thing being read.
  void require(uint64_t n, const std::string& what) const;
  void read(void* dst, uint64_t n, const std::string& what);
  void seek(uint64_t pos, const std::string& what);

  template <typename T>
  T readLe(const std::string& what) {
    T v{};
    read(&v, sizeof(T), what);
    return v;  // the supported hosts are little-endian, as are all formats read here
  }

  [[noreturn]] void fail(const std::string& message) const;

 private:
  std::ifstream m_in;
  std::string m_context;
  uint64_t m_size = 0;
  uint64_t m_pos = 0;
};

}  // namespace ranklab::io::detail
