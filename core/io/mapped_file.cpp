#include "io/mapped_file.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace ranklab::io {

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("reading " + file.string() + ": cannot open file (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error("reading " + file.string() + ": cannot read the file size (" + std::strerror(err) + ")");
  }
  std::shared_ptr<MappedFile> m(new MappedFile);
  m->m_path = file;
  m->m_size = static_cast<uint64_t>(st.st_size);
  if (m->m_size > 0) {
    void* p = ::mmap(nullptr, m->m_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error("reading " + file.string() + ": cannot map the file into memory (" + std::strerror(err) +
                  ")");
    }
    m->m_data = static_cast<uint8_t*>(p);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return m;
}

MappedFile::~MappedFile() {
  if (m_data) ::munmap(m_data, m_size);
}

void MappedFile::release(uint64_t offset, uint64_t bytes) const {
  // Only whole pages inside the range: a neighbouring tensor may share the boundary pages.
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = (offset + page - 1) / page * page;
  const uint64_t end = (offset + bytes) / page * page;
  if (end > begin) ::madvise(m_data + begin, end - begin, MADV_DONTNEED);
}

at::Tensor MappedFile::tensorAt(uint64_t offset, const std::vector<int64_t>& shape, c10::ScalarType dtype) {
  uint64_t bytes = c10::elementSize(dtype);
  for (int64_t d : shape) bytes *= static_cast<uint64_t>(d);
  if (offset + bytes > m_size)
    throw Error("reading " + m_path.string() + ": a tensor at byte " + std::to_string(offset) +
                " does not fit the file");
  if (offset % c10::elementSize(dtype) != 0) {
    // The format does not promise aligned tensors: an unaligned one is copied out.
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (bytes) std::memcpy(t.data_ptr(), m_data + offset, bytes);
    return t;
  }
  auto self = shared_from_this();
  return at::from_blob(
      m_data + offset, shape, [self, offset, bytes](void*) { self->release(offset, bytes); },
      at::TensorOptions().dtype(dtype).device(at::kCPU));
}

}  // namespace ranklab::io
