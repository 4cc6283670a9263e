#include "tokenize/gpt2_pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/error.h"

namespace ranklab::tokenize::detail {

namespace {
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Pcre2CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct Pcre2MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
}  // namespace

std::array<char32_t, 256> gpt2BytesToUnicode() {
  std::array<char32_t, 256> table{};
  std::array<bool, 256> direct{};
  for (int b = '!'; b <= '~'; ++b) direct[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) table[b] = direct[b] ? static_cast<char32_t>(b) : next++;
  return table;
}

struct Gpt2PreTokenizer::Impl {
  std::unique_ptr<pcre2_code, Pcre2CodeDeleter> pattern;
};

Gpt2PreTokenizer::Gpt2PreTokenizer() : m_impl(std::make_unique<Impl>()) {
  int errorCode = 0;
  PCRE2_SIZE errorOffset = 0;
  m_impl->pattern.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                                      PCRE2_UTF | PCRE2_UCP, &errorCode, &errorOffset, nullptr));
  if (!m_impl->pattern) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(errorCode, message, sizeof(message));
    throw Error(std::string("GPT-2 pre-tokeniser: PCRE2 cannot compile the pattern: ") +
                reinterpret_cast<const char*>(message));
  }
  // JIT is an optimisation only; the interpreter gives the same matches when it is unavailable.
  pcre2_jit_compile(m_impl->pattern.get(), PCRE2_JIT_COMPLETE);
}

Gpt2PreTokenizer::~Gpt2PreTokenizer() = default;

void Gpt2PreTokenizer::split(std::string_view text,
                             const std::function<void(std::string_view)>& piece) const {
  std::unique_ptr<pcre2_match_data, Pcre2MatchDataDeleter> match(
      pcre2_match_data_create_from_pattern(m_impl->pattern.get(), nullptr));
  if (!match) throw Error("GPT-2 pre-tokeniser: out of memory for PCRE2 match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE offset = 0;
  while (offset < text.size()) {
    const int rc = pcre2_match(m_impl->pattern.get(), subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                               match.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error("GPT-2 pre-tokeniser: PCRE2 match failed at byte " + std::to_string(offset) + ": " +
                  reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    if (ovector[1] <= ovector[0]) {  // the pattern cannot match empty; guard against looping anyway
      offset = ovector[0] + 1;
      continue;
    }
    piece(text.substr(ovector[0], ovector[1] - ovector[0]));
    offset = ovector[1];
  }
}

}  // namespace ranklab::tokenize::detail
