#include "tokenize/wordpiece.h"

#include <utf8proc.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "common/error.h"
#include "tokenize/tokenizer_util.h"

namespace ranklab::tokenize {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;
constexpr size_t kDefaultMaxCharsPerWord = 100;

utf8proc_category_t category(char32_t cp) { return utf8proc_category(static_cast<utf8proc_int32_t>(cp)); }

bool isWhitespace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  const auto cat = category(cp);
  // BERT tests Zs; line/paragraph separators are whitespace to Python's str.split() as well.
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

bool isControl(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  const auto cat = category(cp);
  return cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
         cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO;
}

bool isPunctuation(char32_t cp) {
  // BERT treats all non-alphanumeric ASCII as punctuation ("$", "^", "`" are not Unicode P*).
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    return true;
  }
  const auto cat = category(cp);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool isCjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool startsUpper(const std::string& token) {
  size_t pos = token.rfind("##", 0) == 0 ? 2 : 0;
  if (pos >= token.size()) return false;
  size_t len = 0;
  const char32_t cp = detail::decodeUtf8(token, pos, len);
  if (cp == kInvalid) return false;
  const auto cat = category(cp);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
}

struct WordPieceOptions {
  bool lowercase = true;
  bool stripAccents = true;
  std::string unkToken = "[UNK]";
  std::string prefix = "##";
  size_t maxCharsPerWord = kDefaultMaxCharsPerWord;
};

class WordPiece final : public Tokenizer {
 public:
  WordPiece(std::vector<std::string> idToToken, WordPieceOptions options, const std::string& source)
      : m_idToToken(std::move(idToToken)), m_options(std::move(options)) {
    for (size_t id = 0; id < m_idToToken.size(); ++id) {
      m_tokenToId.emplace(m_idToToken[id], static_cast<int64_t>(id));  // a repeated token keeps its first id
    }
    m_unkId = find(m_options.unkToken);
    if (m_unkId < 0) {
      throw Error(source + ": the vocabulary has no unknown token '" + m_options.unkToken + "'");
    }
    m_clsId = find("[CLS]");
    m_sepId = find("[SEP]");
    m_padId = find("[PAD]");
    m_maskId = find("[MASK]");
    for (int64_t id : {m_clsId, m_sepId, m_padId, m_unkId, m_maskId}) {
      if (id >= 0) m_specials.emplace_back(m_idToToken[id], id);
    }
  }

  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int64_t> ids;
    for (const auto& [segment, specialId] : detail::splitOnSpecials(text, m_specials)) {
      if (specialId >= 0) {
        ids.push_back(specialId);
        continue;
      }
      for (const std::u32string& word : basicTokenize(segment)) {
        wordPiece(word, ids);
      }
    }
    return ids;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string joined;
    bool first = true;
    for (int64_t id : ids) {
      detail::checkId("wordpiece", id, vocabSize());
      if (isDropped(id)) continue;
      if (!first) joined += ' ';
      joined += m_idToToken[id];
      first = false;
    }
    const std::string glue = " " + m_options.prefix;
    std::string out;
    for (size_t pos = 0; pos < joined.size();) {
      if (joined.compare(pos, glue.size(), glue) == 0) {
        pos += glue.size();
      } else {
        out += joined[pos++];
      }
    }
    return out;
  }

  // Matches decode() for streams that start with [CLS] or at the first token; [SEP]/[PAD] in the
  // middle of a stream still let the next word add its separating space.
  std::string decodeNext(int64_t previous, int64_t id) const override {
    detail::checkId("wordpiece", id, vocabSize());
    if (isDropped(id)) return {};
    const std::string& token = m_idToToken[id];
    if (previous < 0 || previous == m_clsId) return token;
    if (token.rfind(m_options.prefix, 0) == 0) return token.substr(m_options.prefix.size());
    return " " + token;
  }

  int64_t vocabSize() const override { return static_cast<int64_t>(m_idToToken.size()); }
  std::string kind() const override { return "wordpiece"; }
  int64_t padId() const override { return m_padId; }
  int64_t unkId() const override { return m_unkId; }
  int64_t clsId() const override { return m_clsId; }
  int64_t sepId() const override { return m_sepId; }
  int64_t maskId() const override { return m_maskId; }

 private:
  int64_t find(const std::string& token) const {
    auto it = m_tokenToId.find(token);
    return it == m_tokenToId.end() ? -1 : it->second;
  }

  bool isDropped(int64_t id) const { return id == m_clsId || id == m_sepId || id == m_padId; }

  std::vector<std::u32string> basicTokenize(const std::string& text) const {
    std::u32string cleaned;
    cleaned.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      size_t len = 0;
      const char32_t cp = detail::decodeUtf8(text, pos, len);
      pos += len;
      if (cp == 0 || cp == 0xFFFD || cp == kInvalid || isControl(cp)) continue;
      if (isWhitespace(cp)) {
        cleaned += U' ';
      } else if (isCjk(cp)) {
        cleaned += U' ';
        cleaned += cp;
        cleaned += U' ';
      } else {
        cleaned += cp;
      }
    }
    std::vector<std::u32string> words;
    size_t pos = 0;
    while (pos < cleaned.size()) {
      while (pos < cleaned.size() && cleaned[pos] == U' ') ++pos;
      size_t end = pos;
      while (end < cleaned.size() && cleaned[end] != U' ') ++end;
      if (end > pos) {
        std::u32string word = normalize(cleaned.substr(pos, end - pos));
        std::u32string current;
        for (char32_t cp : word) {
          if (isPunctuation(cp)) {
            if (!current.empty()) words.push_back(std::move(current));
            current.clear();
            words.emplace_back(1, cp);
          } else {
            current += cp;
          }
        }
        if (!current.empty()) words.push_back(std::move(current));
      }
      pos = end;
    }
    return words;
  }

  std::u32string normalize(const std::u32string& word) const {
    std::u32string out;
    for (char32_t cp : word) {
      const char32_t c = m_options.lowercase
                             ? static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)))
                             : cp;
      if (!m_options.stripAccents) {
        out += c;
        continue;
      }
      utf8proc_int32_t decomposed[8];
      const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), decomposed, 8,
                                                         UTF8PROC_DECOMPOSE, nullptr);
      if (n <= 0 || n > 8) {
        out += c;
        continue;
      }
      for (utf8proc_ssize_t i = 0; i < n; ++i) {
        if (category(static_cast<char32_t>(decomposed[i])) != UTF8PROC_CATEGORY_MN) {
          out += static_cast<char32_t>(decomposed[i]);
        }
      }
    }
    return out;
  }

  void wordPiece(const std::u32string& word, std::vector<int64_t>& ids) const {
    if (word.size() > m_options.maxCharsPerWord) {
      ids.push_back(m_unkId);
      return;
    }
    std::vector<int64_t> pieces;
    size_t start = 0;
    std::string candidate;
    while (start < word.size()) {
      int64_t found = -1;
      size_t end = word.size();
      for (; end > start; --end) {
        candidate = start > 0 ? m_options.prefix : std::string();
        for (size_t i = start; i < end; ++i) detail::appendUtf8(candidate, word[i]);
        found = find(candidate);
        if (found >= 0) break;
      }
      if (found < 0) {
        ids.push_back(m_unkId);
        return;
      }
      pieces.push_back(found);
      start = end;
    }
    ids.insert(ids.end(), pieces.begin(), pieces.end());
  }

  std::vector<std::string> m_idToToken;
  std::unordered_map<std::string, int64_t> m_tokenToId;
  WordPieceOptions m_options;
  std::vector<std::pair<std::string, int64_t>> m_specials;
  int64_t m_unkId = -1;
  int64_t m_clsId = -1;
  int64_t m_sepId = -1;
  int64_t m_padId = -1;
  int64_t m_maskId = -1;
};

bool guessUncased(const std::vector<std::string>& idToToken) {
  for (const std::string& token : idToToken) {
    if (startsUpper(token)) return false;
  }
  return true;
}

nlohmann::json parseJson(const std::filesystem::path& path) {
  try {
    return nlohmann::json::parse(detail::readFile(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": malformed JSON: " + e.what());
  }
}

// HF's strip_accents: null means "follow lowercase".
bool stripAccentsSetting(const nlohmann::json& object, const char* key, bool lowercase) {
  if (object.contains(key) && object[key].is_boolean()) return object[key].get<bool>();
  return lowercase;
}

}  // namespace

std::unique_ptr<Tokenizer> loadWordPieceVocab(const std::filesystem::path& vocabTxt) {
  const std::string text = detail::readFile(vocabTxt);
  std::vector<std::string> idToToken;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    idToToken.push_back(std::move(line));
    start = end + 1;
  }
  if (idToToken.empty()) {
    throw Error(vocabTxt.string() + ": the vocabulary is empty");
  }
  WordPieceOptions options;
  const std::filesystem::path configPath = vocabTxt.parent_path() / "tokenizer_config.json";
  std::error_code ec;
  std::optional<bool> lower;
  nlohmann::json config;
  if (std::filesystem::is_regular_file(configPath, ec)) {
    config = parseJson(configPath);
    if (config.is_object() && config.contains("do_lower_case") && config["do_lower_case"].is_boolean()) {
      lower = config["do_lower_case"].get<bool>();
    }
  }
  options.lowercase = lower ? *lower : guessUncased(idToToken);
  options.stripAccents = config.is_object() ? stripAccentsSetting(config, "strip_accents", options.lowercase)
                                            : options.lowercase;
  return std::make_unique<WordPiece>(std::move(idToToken), std::move(options), vocabTxt.string());
}

std::unique_ptr<Tokenizer> loadWordPieceTokenizerJson(const nlohmann::json& root,
                                                      const std::filesystem::path& source) {
  const std::string name = source.string();
  std::vector<std::string> idToToken;
  WordPieceOptions options;
  // Fields of the wrong type (read with value()/get<>) throw nlohmann exceptions; name the file.
  try {
    if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
      throw Error(name + ": no \"model\" object");
    }
    const nlohmann::json& model = root["model"];
    if (!model.contains("vocab") || !model["vocab"].is_object()) {
      throw Error(name + ": model.vocab is not a JSON object of token -> id");
    }
    const nlohmann::json& vocab = model["vocab"];
    // Ids are dense: every id lies below the number of tokens the file defines (vocab entries plus
    // added_tokens). Checked before resizing, so a corrupt id (2^31, 2^62) cannot allocate gigabytes.
    const size_t addedCount =
        root.contains("added_tokens") && root["added_tokens"].is_array() ? root["added_tokens"].size() : 0;
    const size_t limit = vocab.size() + addedCount;
    std::vector<bool> seen;
    for (const auto& [token, value] : vocab.items()) {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        throw Error(name + ": token '" + token + "' has id " + value.dump() +
                    ", expected a non-negative integer");
      }
      if (value.get<uint64_t>() >= limit) {
        throw Error(name + ": token '" + token + "' has id " + value.dump() + ", but the file defines only " +
                    std::to_string(limit) + " tokens (ids must be below " + std::to_string(limit) + ")");
      }
      const auto id = static_cast<size_t>(value.get<int64_t>());
      if (id >= idToToken.size()) {
        idToToken.resize(id + 1);
        seen.resize(id + 1);
      }
      if (seen[id]) {
        throw Error(name + ": id " + std::to_string(id) + " is used by both '" + idToToken[id] + "' and '" +
                    token + "'");
      }
      seen[id] = true;
      idToToken[id] = token;
    }
    if (idToToken.empty()) {
      throw Error(name + ": model.vocab is empty");
    }
    if (model.contains("unk_token") && model["unk_token"].is_string()) options.unkToken = model["unk_token"];
    if (model.contains("continuing_subword_prefix") && model["continuing_subword_prefix"].is_string()) {
      options.prefix = model["continuing_subword_prefix"];
    }
    if (model.contains("max_input_chars_per_word") &&
        model["max_input_chars_per_word"].is_number_unsigned()) {
      options.maxCharsPerWord = model["max_input_chars_per_word"].get<size_t>();
    }
    const nlohmann::json normalizer = root.value("normalizer", nlohmann::json());
    if (normalizer.is_object() && normalizer.value("type", std::string()) == "BertNormalizer") {
      options.lowercase = normalizer.value("lowercase", true);
      options.stripAccents = stripAccentsSetting(normalizer, "strip_accents", options.lowercase);
    } else {
      options.lowercase = guessUncased(idToToken);
      options.stripAccents = options.lowercase;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": " + e.what());
  }
  return std::make_unique<WordPiece>(std::move(idToToken), std::move(options), name);
}

}  // namespace ranklab::tokenize
