// Content hashes for the reproducibility capsule and cache keys: SHA-256 through OpenSSL's
// libcrypto, as lowercase hex. Torch-free. Throws ranklab::Error naming the file on read errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace ranklab {

// Incremental SHA-256. Not thread-safe (one object per thread).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(const void* data, size_t size);
  Sha256& update(const std::string& text) { return update(text.data(), text.size()); }
  // Adds the bytes of a file (streamed in 1 MiB blocks).
  Sha256& updateFile(const std::filesystem::path& file);
  std::string hexDigest();  // finishes the hash; the object cannot be updated afterwards

 private:
  struct State;
  std::unique_ptr<State> m_state;
};

std::string sha256Hex(const std::string& text);

// SplitMix64's output function: a well-mixed 64-bit value from any input (seeds derived from a seed
// and a step, so each step draws independently and reproducibly).
uint64_t splitmix(uint64_t x);
// A file's bytes; for a directory, every regular file directly inside it, in name order, each
// preceded by its name (so renaming a file changes the hash).
std::string sha256OfPath(const std::filesystem::path& path);

}  // namespace ranklab
