// GPT-2's pre-tokeniser and byte alphabet (internal to core/tokenize): shared by the BPE encoder
// (gpt2_bpe.cpp) and the BPE trainer (bpe_trainer.cpp), so both cut text exactly alike.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace ranklab::tokenize::detail {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order, so every byte has a visible, non-space symbol.
std::array<char32_t, 256> gpt2BytesToUnicode();

// The GPT-2 pattern ('s|'t|...| ?\p{L}+| ?\p{N}+|...) through PCRE2 (UTF + UCP, JIT when available).
// Thread-safe after construction (match data is per call). Throws ranklab::Error if PCRE2 fails.
class Gpt2PreTokenizer {
 public:
  Gpt2PreTokenizer();
  ~Gpt2PreTokenizer();
  Gpt2PreTokenizer(const Gpt2PreTokenizer&) = delete;
  Gpt2PreTokenizer& operator=(const Gpt2PreTokenizer&) = delete;
  // Calls `piece` for each pre-token of `text` (valid UTF-8, checked by the caller), in order.
  void split(std::string_view text, const std::function<void(std::string_view)>& piece) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ranklab::tokenize::detail
