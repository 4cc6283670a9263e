// Helpers shared by the tokenizer implementations (internal to core/tokenize). Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace ranklab::tokenize::detail {

// Reads a whole file as bytes. Throws ranklab::Error naming the file when it cannot be read.
std::string readFile(const std::filesystem::path& path);

// Appends the UTF-8 encoding of `cp` to `out`.
void appendUtf8(std::string& out, char32_t cp);

// Decodes one code point starting at text[pos]; returns the code point and sets `len` to its byte
// length. Invalid or truncated sequences yield 0xFFFFFFFF with len 1.
char32_t decodeUtf8(const std::string& text, size_t pos, size_t& len);

// Splits `text` into pieces that are either ordinary text (second = -1) or an exact occurrence of
// one of `specials` (second = its id). Longer specials win when several match at one position.
std::vector<std::pair<std::string, int64_t>> splitOnSpecials(
    const std::string& text, const std::vector<std::pair<std::string, int64_t>>& specials);

// Throws ranklab::Error when `id` is outside [0, vocabSize): "<kind> decode: id 70000 is outside the
// vocabulary (50257 ids)".
void checkId(const char* kind, int64_t id, int64_t vocabSize);

}  // namespace ranklab::tokenize::detail
