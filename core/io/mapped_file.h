// A weights file mapped into memory, and tensors that view it without copying.
//
// The mapping is private and writable (MAP_PRIVATE): a tensor that is written in place gets private
// copies of the pages it touches, and the file on disk never changes. A tensor made by tensorAt()
// keeps the mapping alive; when the last tensor viewing a range is freed, the range's whole pages are
// handed back to the kernel (madvise MADV_DONTNEED), so a weight the job has replaced (a factorized
// op's dense matrix) stops counting in the resident set. Thread-safety: tensors may be created and
// freed from any thread; the bytes are only read.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ranklab::io {

class MappedFile : public std::enable_shared_from_this<MappedFile> {
 public:
  // Maps the whole file. Throws ranklab::Error naming the file when it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& file);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  uint64_t size() const { return m_size; }
  const uint8_t* data() const { return m_data; }

  // A CPU tensor of `shape` and `dtype` over bytes [offset, offset + numel * itemsize) of the file,
  // which the caller has checked lie inside it (the format readers validate their headers first).
  // No copy is made, unless `offset` is not a multiple of the dtype's size (the tensor is then
  // copied out). Throws ranklab::Error when the range is not inside the file.
  at::Tensor tensorAt(uint64_t offset, const std::vector<int64_t>& shape, c10::ScalarType dtype);

 private:
  MappedFile() = default;
  void release(uint64_t offset, uint64_t bytes) const;

  std::filesystem::path m_path;
  uint8_t* m_data = nullptr;
  uint64_t m_size = 0;
};

}  // namespace ranklab::io
