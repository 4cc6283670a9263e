#include "io/binary_io.h"

#include <algorithm>
#include <system_error>

#include "common/error.h"

namespace ranklab::io::detail {

std::optional<uint64_t> checkedMul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<uint64_t> checkedAdd(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

BoundedReader::BoundedReader(const std::filesystem::path& file, std::string context)
    : m_context(std::move(context)) {
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (ec || !std::filesystem::exists(status)) fail("file not found");
  if (!std::filesystem::is_regular_file(status)) fail("not a regular file");
  m_size = std::filesystem::file_size(file, ec);
  if (ec) fail("cannot get file size: " + ec.message());
  m_in.open(file, std::ios::binary);
  if (!m_in) fail("cannot open file");
}

void BoundedReader::fail(const std::string& message) const { throw Error(errorIn(m_context, message)); }

void BoundedReader::require(uint64_t n, const std::string& what) const {
  if (n > remaining())
    fail(what + " needs " + std::to_string(n) + " bytes at offset " + std::to_string(m_pos) + ", file has " +
         std::to_string(m_size) + " (truncated or corrupt)");
}

void BoundedReader::read(void* dst, uint64_t n, const std::string& what) {
  require(n, what);
  if (n == 0) return;
  m_in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
  if (static_cast<uint64_t>(m_in.gcount()) != n) fail("read error in " + what);
  m_pos += n;
}

void BoundedReader::seek(uint64_t pos, const std::string& what) {
  if (pos > m_size)
    fail(what + " starts at byte " + std::to_string(pos) + ", file has " + std::to_string(m_size));
  m_in.clear();
  m_in.seekg(static_cast<std::streamoff>(pos));
  if (!m_in) fail("cannot seek to " + what);
  m_pos = pos;
}

}  // namespace ranklab::io::detail
