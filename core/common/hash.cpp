#include "common/hash.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include "common/error.h"

namespace ranklab {

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
  bool finished = false;
};

Sha256::Sha256() : m_state(std::make_unique<State>()) {
  m_state->ctx = EVP_MD_CTX_new();
  if (!m_state->ctx || EVP_DigestInit_ex(m_state->ctx, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256: OpenSSL could not initialise a digest");
}

Sha256::~Sha256() { EVP_MD_CTX_free(m_state->ctx); }

Sha256& Sha256::update(const void* data, size_t size) {
  if (m_state->finished) throw Error("SHA-256: update after the digest was taken");
  if (size > 0) EVP_DigestUpdate(m_state->ctx, data, size);
  return *this;
}

Sha256& Sha256::updateFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open for hashing");
  std::vector<char> block(1 << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    update(block.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(file.string() + ": read error while hashing");
  return *this;
}

std::string Sha256::hexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(m_state->ctx, digest, &length);
  m_state->finished = true;
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string sha256Hex(const std::string& text) { return Sha256().update(text).hexDigest(); }

std::string sha256OfPath(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  Sha256 h;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path, ec))
      if (entry.is_regular_file()) files.push_back(entry.path());
    if (ec) throw Error(path.string() + ": cannot list for hashing: " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      h.update(f.filename().string());
      h.update("\0", 1);
      h.updateFile(f);
    }
  } else {
    h.updateFile(path);
  }
  return h.hexDigest();
}

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace ranklab
