#include "tokenize/tokenizer_util.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace ranklab::tokenize::detail {

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("reading " + path.string() + ": cannot open file");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    throw Error("reading " + path.string() + ": read error");
  }
  return ss.str();
}

void appendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

char32_t decodeUtf8(const std::string& text, size_t pos, size_t& len) {
  constexpr char32_t kInvalid = 0xFFFFFFFF;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(pos);
  len = 1;
  if (b0 < 0x80) {
    return b0;
  }
  size_t n = 0;
  char32_t cp = 0;
  char32_t minimum = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, minimum = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, minimum = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, minimum = 0x10000;
  } else {
    return kInvalid;
  }
  if (pos + n > text.size()) {
    return kInvalid;
  }
  for (size_t i = 1; i < n; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) {
      return kInvalid;
    }
    cp = (cp << 6) | (byte(pos + i) & 0x3F);
  }
  if (cp < minimum || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return kInvalid;
  }
  len = n;
  return cp;
}

std::vector<std::pair<std::string, int64_t>> splitOnSpecials(
    const std::string& text, const std::vector<std::pair<std::string, int64_t>>& specials) {
  std::vector<std::pair<std::string, int64_t>> out;
  if (specials.empty()) {
    out.emplace_back(text, -1);
    return out;
  }
  size_t start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const std::pair<std::string, int64_t>* best = nullptr;
    for (const auto& special : specials) {
      if (!special.first.empty() && text.compare(pos, special.first.size(), special.first) == 0 &&
          (best == nullptr || special.first.size() > best->first.size())) {
        best = &special;
      }
    }
    if (best == nullptr) {
      ++pos;
      continue;
    }
    if (pos > start) {
      out.emplace_back(text.substr(start, pos - start), -1);
    }
    out.emplace_back(best->first, best->second);
    pos += best->first.size();
    start = pos;
  }
  if (start < text.size()) {
    out.emplace_back(text.substr(start), -1);
  }
  return out;
}

void checkId(const char* kind, int64_t id, int64_t vocabSize) {
  if (id < 0 || id >= vocabSize) {
    throw Error(std::string(kind) + " decode: id " + std::to_string(id) + " is outside the vocabulary (" +
                std::to_string(vocabSize) + " ids)");
  }
}

}  // namespace ranklab::tokenize::detail
