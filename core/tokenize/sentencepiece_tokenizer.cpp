#include "tokenize/sentencepiece_tokenizer.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <unistd.h>

#include <mutex>

#include "common/error.h"
#include "common/resources.h"
#include "tokenize/spm_bridge.h"
#include "tokenize/tokenizer_util.h"

// AddressSanitizer cannot follow a second link namespace (dlmopen): its builds load the bridge into
// this one. That is safe only in a process without LibTorch, as the SentencePiece fuzz target
// (fuzz/torch_free_targets.h) and test_tokenize are; no sanitized test that links LibTorch loads one.
#if defined(__SANITIZE_ADDRESS__)
#define RANKLAB_SPM_SAME_NAMESPACE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RANKLAB_SPM_SAME_NAMESPACE 1
#endif
#endif

namespace ranklab::tokenize {
namespace {

namespace fs = std::filesystem;

// The dlopen()ed bridge (see spm_bridge.h). Loaded once, on first use, and kept for the process.
class Bridge {
 public:
  static const Bridge& get() {
    static std::once_flag once;
    static Bridge* bridge = nullptr;
    static std::string failure;
    std::call_once(once, [] {
      try {
        bridge = new Bridge();
      } catch (const Error& e) {
        failure = e.what();
      }
    });
    if (!bridge) throw Error(failure);
    return *bridge;
  }

  decltype(&rl_spm_load) load = nullptr;
  decltype(&rl_spm_free) release = nullptr;
  decltype(&rl_spm_encode) encode = nullptr;
  decltype(&rl_spm_decode) decode = nullptr;
  decltype(&rl_spm_info) info = nullptr;
  decltype(&rl_spm_train) train = nullptr;

 private:
  Bridge() {
    const std::vector<fs::path> candidates = searchPath();
    std::string tried;
    for (const auto& c : candidates) {
      std::error_code ec;
      if (!fs::is_regular_file(c, ec)) {
        tried += (tried.empty() ? "" : ", ") + c.string();
        continue;
      }
      // A link namespace of its own: sentencepiece binds to its embedded protobuf, not LibTorch's.
#ifdef RANKLAB_SPM_SAME_NAMESPACE
      m_handle = ::dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
#else
      m_handle = ::dlmopen(LM_ID_NEWLM, c.c_str(), RTLD_NOW | RTLD_LOCAL);
#endif
      if (!m_handle) throw Error("SentencePiece support: cannot load " + c.string() + ": " + ::dlerror());
      resolve(load, "rl_spm_load");
      resolve(release, "rl_spm_free");
      resolve(encode, "rl_spm_encode");
      resolve(decode, "rl_spm_decode");
      resolve(info, "rl_spm_info");
      resolve(train, "rl_spm_train");
      return;
    }
    throw Error("SentencePiece support is not installed: libranklab_spm_bridge.so not found (looked in " +
                tried + "; set RANKLAB_SPM_BRIDGE to its path)");
  }

  template <typename F>
  void resolve(F& fn, const char* name) {
    fn = reinterpret_cast<F>(::dlsym(m_handle, name));
    if (!fn) throw Error(std::string("SentencePiece support: the bridge lacks ") + name);
  }

  static std::vector<fs::path> searchPath() {
    std::vector<fs::path> out;
    if (const char* env = std::getenv("RANKLAB_SPM_BRIDGE")) out.emplace_back(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      const auto dir = exe.parent_path();
      out.push_back(dir / "libranklab_spm_bridge.so");
      out.push_back(dir / ".." / "lib" / "ranklab" / "libranklab_spm_bridge.so");
      out.push_back(dir / ".." / "lib" / "libranklab_spm_bridge.so");
    }
#ifdef RANKLAB_SPM_BRIDGE_PATH
    if (runsFromBuildTree()) out.emplace_back(RANKLAB_SPM_BRIDGE_PATH);
#endif
    return out;
  }

  void* m_handle = nullptr;
};

}  // namespace

namespace detail {

void spmIdSink(void* ctx, const int* ids, size_t count) noexcept {
  auto* out = static_cast<SpmIdSinkContext*>(ctx);
  out->requested = count;
  try {
    out->ids.reserve(count);  // throws for an impossible count before ids + count is formed
    out->ids.assign(ids, ids + count);
  } catch (...) {
    out->failed = true;
  }
}

void spmTextSink(void* ctx, const char* text, size_t size) noexcept {
  auto* out = static_cast<SpmTextSinkContext*>(ctx);
  out->requested = size;
  try {
    out->text.reserve(size);
    out->text.assign(text, size);
  } catch (...) {
    out->failed = true;
  }
}

}  // namespace detail

namespace {

struct ErrorBuffer {
  char text[512] = {0};
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::filesystem::path& modelFile) : m_source(modelFile.string()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(modelFile, ec)) {
      throw Error("loading SentencePiece model " + modelFile.string() + ": no such file");
    }
    const auto& bridge = Bridge::get();
    ErrorBuffer err;
    if (bridge.load(modelFile.c_str(), &m_handle, err.text, sizeof err.text) != 0)
      throw Error("loading SentencePiece model " + modelFile.string() + ": " + err.text);
    int vocab = 0, bos = -1, eos = -1, unk = -1, pad = -1;
    bridge.info(m_handle, &vocab, &bos, &eos, &unk, &pad);
    m_vocab = vocab;
    m_bos = bos;
    m_eos = eos;
    m_unk = unk;
    m_pad = pad;
  }

  ~SentencePieceTokenizer() override { Bridge::get().release(m_handle); }
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  // SentencePieceProcessor's const Encode/Decode are safe to call concurrently.
  std::vector<int64_t> encode(const std::string& text) const override {
    detail::SpmIdSinkContext out;
    ErrorBuffer err;
    if (Bridge::get().encode(m_handle, text.data(), text.size(), detail::spmIdSink, &out, err.text,
                             sizeof err.text) != 0)
      throw Error("sentencepiece encode (" + m_source + "): " + err.text);
    if (out.failed)
      throw Error("sentencepiece encode (" + m_source + "): cannot store the " +
                  std::to_string(out.requested) + " ids the processor returned (out of memory)");
    return std::move(out.ids);
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::vector<int> narrow;
    narrow.reserve(ids.size());
    for (int64_t id : ids) {
      detail::checkId("sentencepiece", id, vocabSize());
      narrow.push_back(static_cast<int>(id));
    }
    detail::SpmTextSinkContext out;
    ErrorBuffer err;
    if (Bridge::get().decode(m_handle, narrow.data(), narrow.size(), detail::spmTextSink, &out, err.text,
                             sizeof err.text) != 0)
      throw Error("sentencepiece decode (" + m_source + "): " + err.text);
    if (out.failed)
      throw Error("sentencepiece decode (" + m_source + "): cannot store the " +
                  std::to_string(out.requested) + " bytes of text the processor returned (out of memory)");
    return std::move(out.text);
  }

  // What `id` adds after `previous`: decoding the pair minus decoding `previous` alone, so the
  // processor's own rules (dummy-prefix removal at the start, byte pieces) apply. Byte-fallback pieces
  // of one multi-byte character decode to U+FFFD when split, as DecodeIds does for a partial sequence.
  std::string decodeNext(int64_t previous, int64_t id) const override {
    if (previous < 0) {
      return decode({id});
    }
    const std::string both = decode({previous, id});
    const std::string before = decode({previous});
    return both.compare(0, before.size(), before) == 0 ? both.substr(before.size()) : both;
  }

  int64_t vocabSize() const override { return m_vocab; }
  std::string kind() const override { return "sentencepiece"; }
  int64_t bosId() const override { return m_bos; }
  int64_t eosId() const override { return m_eos; }
  int64_t padId() const override { return m_pad; }
  int64_t unkId() const override { return m_unk; }

 private:
  std::string m_source;  // the .model file, for error messages
  void* m_handle = nullptr;
  int64_t m_vocab = 0, m_bos = -1, m_eos = -1, m_unk = -1, m_pad = -1;
};

}  // namespace

std::unique_ptr<Tokenizer> loadSentencePieceModel(const std::filesystem::path& modelFile) {
  return std::make_unique<SentencePieceTokenizer>(modelFile);
}

void trainSentencePiece(const std::string& flags) {
  ErrorBuffer err;
  if (Bridge::get().train(flags.c_str(), err.text, sizeof err.text) != 0)
    throw Error(std::string("training a SentencePiece model: ") + err.text);
}

}  // namespace ranklab::tokenize
