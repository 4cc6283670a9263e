#include "tokenize/gpt2_bpe.h"

#include <algorithm>
#include <array>
#include <climits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "tokenize/gpt2_pretokenizer.h"
#include "tokenize/tokenizer_util.h"

namespace ranklab::tokenize {
namespace {

constexpr const char* kEndOfText = "<|endoftext|>";
// The per-word cache only saves time; clearing it when it grows this large bounds its memory.
constexpr size_t kMaxCacheEntries = 200000;

class Gpt2Bpe final : public Tokenizer {
 public:
  Gpt2Bpe(std::vector<std::string> idToToken, std::vector<std::string> merges, int64_t bosId, int64_t eosId,
          std::vector<std::pair<std::string, int64_t>> specials,
          const std::vector<std::pair<std::string, int64_t>>& plainAdded, const std::string& source,
          const Gpt2Roles& roles)
      : m_idToToken(std::move(idToToken)),
        m_bosId(bosId),
        m_eosId(eosId),
        m_roles(roles),
        m_specials(std::move(specials)) {
    const int64_t size = static_cast<int64_t>(m_idToToken.size());
    for (int64_t id = 0; id < size; ++id) {
      if (!m_idToToken[id].empty()) {
        m_tokenToId.emplace(m_idToToken[id], id);
      }
    }
    for (int64_t id : {bosId, eosId}) {
      if (id >= size) {
        throw Error(source + ": special id " + std::to_string(id) + " is outside the vocabulary (" +
                    std::to_string(size) + " ids)");
      }
    }
    for (const auto& [text, id] : m_specials) {
      if (id < 0 || id >= size) {
        throw Error(source + ": special token '" + text + "' has id " + std::to_string(id) +
                    " outside the vocabulary (" + std::to_string(size) + " ids)");
      }
      m_specialIds.insert(id);
    }
    // Plain added tokens are matched literally like specials but keep their text on decode.
    for (const auto& [text, id] : plainAdded) {
      if (id < 0 || id >= size) {
        throw Error(source + ": added token '" + text + "' has id " + std::to_string(id) +
                    " outside the vocabulary (" + std::to_string(size) + " ids)");
      }
      m_specials.emplace_back(text, id);
    }
    for (int64_t id : {bosId, eosId, roles.pad, roles.mask, roles.unk, roles.cls, roles.sep}) {
      if (id >= size) {
        throw Error(source + ": special id " + std::to_string(id) + " is outside the vocabulary (" +
                    std::to_string(size) + " ids)");
      }
      if (id >= 0) {
        if (m_specialIds.insert(id).second && !m_idToToken[id].empty()) {
          m_specials.emplace_back(m_idToToken[id], id);
        }
      }
    }

    const std::array<char32_t, 256> table = detail::gpt2BytesToUnicode();
    m_unicodeToByte.fill(-1);
    for (int b = 0; b < 256; ++b) {
      detail::appendUtf8(m_byteSymbol[b], table[b]);
      m_unicodeToByte[table[b]] = b;
      if (m_tokenToId.count(m_byteSymbol[b]) == 0) {
        throw Error(source + ": the vocabulary lacks the byte-level symbol for byte " + std::to_string(b) +
                    " ('" + m_byteSymbol[b] + "'); not a GPT-2 byte-level BPE vocabulary");
      }
    }

    m_ranks.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const std::string& merge = merges[i];
      const size_t space = merge.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= merge.size() ||
          merge.find(' ', space + 1) != std::string::npos) {
        throw Error(source + ": merge " + std::to_string(i + 1) + " '" + merge +
                    "' is not two tokens separated by one space");
      }
      const std::string left = merge.substr(0, space);
      const std::string right = merge.substr(space + 1);
      for (const std::string& part : {left, right, left + right}) {
        if (m_tokenToId.count(part) == 0) {
          throw Error(source + ": merge " + std::to_string(i + 1) + " '" + merge + "' refers to token '" +
                      part + "', which is not in the vocabulary");
        }
      }
      // A repeated merge keeps its first (better) rank, as Python's dict(zip(merges, range)) would not;
      // HF tokenizers also keep the first. GPT-2's table has no repeats.
      m_ranks.emplace(merge, static_cast<int>(i));
    }
  }

  std::vector<int64_t> encode(const std::string& text) const override {
    for (size_t pos = 0; pos < text.size();) {
      size_t len = 0;
      if (detail::decodeUtf8(text, pos, len) == 0xFFFFFFFF) {
        throw Error("gpt2-bpe encode: the text is not valid UTF-8 at byte " + std::to_string(pos));
      }
      pos += len;
    }
    std::vector<int64_t> ids;
    for (const auto& [segment, specialId] : detail::splitOnSpecials(text, m_specials)) {
      if (specialId >= 0) {
        ids.push_back(specialId);
        continue;
      }
      m_preTokenizer.split(segment, [&](std::string_view piece) { encodeWord(std::string(piece), ids); });
    }
    return ids;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string out;
    for (int64_t id : ids) {
      appendToken(id, out);
    }
    return out;
  }

  std::string decodeNext(int64_t previous, int64_t id) const override {
    std::string out;
    appendToken(id, out);
    return out;
  }

  int64_t vocabSize() const override { return static_cast<int64_t>(m_idToToken.size()); }
  std::string kind() const override { return "gpt2-bpe"; }
  int64_t bosId() const override { return m_bosId; }
  int64_t eosId() const override { return m_eosId; }
  int64_t padId() const override { return m_roles.pad; }
  int64_t maskId() const override { return m_roles.mask; }
  int64_t unkId() const override { return m_roles.unk; }
  int64_t clsId() const override { return m_roles.cls; }
  int64_t sepId() const override { return m_roles.sep; }

 private:
  void appendToken(int64_t id, std::string& out) const {
    detail::checkId("gpt2-bpe", id, vocabSize());
    if (m_specialIds.count(id) != 0) {
      return;
    }
    const std::string& token = m_idToToken[id];
    for (size_t pos = 0; pos < token.size();) {
      size_t len = 0;
      const char32_t cp = detail::decodeUtf8(token, pos, len);
      if (cp < m_unicodeToByte.size() && m_unicodeToByte[cp] >= 0) {
        out += static_cast<char>(m_unicodeToByte[cp]);
      } else {
        out.append(token, pos, len);  // not a byte-level symbol (e.g. an added token): keep its text
      }
      pos += len;
    }
  }

  void encodeWord(const std::string& word, std::vector<int64_t>& ids) const {
    {
      std::lock_guard<std::mutex> lock(m_cacheMutex);
      auto it = m_cache.find(word);
      if (it != m_cache.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<std::string> symbols;
    symbols.reserve(word.size());
    for (unsigned char byte : word) {
      symbols.push_back(m_byteSymbol[byte]);
    }
    std::string key;
    while (symbols.size() > 1) {
      int bestRank = INT_MAX;
      size_t bestIndex = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        key.assign(symbols[i]).append(1, ' ').append(symbols[i + 1]);
        auto it = m_ranks.find(key);
        if (it != m_ranks.end() && it->second < bestRank) {
          bestRank = it->second;
          bestIndex = i;
        }
      }
      if (bestRank == INT_MAX) {
        break;
      }
      // Merge every occurrence of the best pair, scanning left to right as encoder.py does.
      const std::string first = symbols[bestIndex];
      const std::string second = symbols[bestIndex + 1];
      std::vector<std::string> merged;
      merged.reserve(symbols.size());
      for (size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == first && symbols[i + 1] == second) {
          merged.push_back(first + second);
          i += 2;
        } else {
          merged.push_back(std::move(symbols[i]));
          i += 1;
        }
      }
      symbols = std::move(merged);
    }
    std::vector<int64_t> wordIds;
    wordIds.reserve(symbols.size());
    for (const std::string& symbol : symbols) {
      // Every symbol is a byte symbol or a validated merge result, so the lookup cannot fail.
      wordIds.push_back(m_tokenToId.at(symbol));
    }
    ids.insert(ids.end(), wordIds.begin(), wordIds.end());
    std::lock_guard<std::mutex> lock(m_cacheMutex);
    if (m_cache.size() >= kMaxCacheEntries) {
      m_cache.clear();
    }
    m_cache.emplace(word, std::move(wordIds));
  }

  std::vector<std::string> m_idToToken;
  std::unordered_map<std::string, int64_t> m_tokenToId;
  std::unordered_map<std::string, int> m_ranks;  // "left right" -> merge rank
  std::array<std::string, 256> m_byteSymbol;
  std::array<int, 0x144> m_unicodeToByte{};  // bytes_to_unicode's image is U+0021..U+0143
  int64_t m_bosId;
  int64_t m_eosId;
  Gpt2Roles m_roles;
  std::vector<std::pair<std::string, int64_t>> m_specials;
  std::unordered_set<int64_t> m_specialIds;
  detail::Gpt2PreTokenizer m_preTokenizer;
  mutable std::mutex m_cacheMutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> m_cache;
};

// `addedCount` is the number of tokens the file adds outside this object (tokenizer.json added_tokens):
// ids are dense, so every id must lie below entries + addedCount. Checking that before resizing keeps a
// corrupt id (2^31, 2^62) from turning into a huge allocation.
std::vector<std::string> vocabFromJsonObject(const nlohmann::json& vocab, const std::string& source,
                                             size_t addedCount) {
  if (!vocab.is_object()) {
    throw Error(source + ": the vocabulary is not a JSON object of token -> id");
  }
  const size_t limit = vocab.size() + addedCount;
  std::vector<std::string> idToToken;
  for (const auto& [token, value] : vocab.items()) {
    if (!value.is_number_integer() || value.get<int64_t>() < 0) {
      throw Error(source + ": token '" + token + "' has id " + value.dump() +
                  ", expected a non-negative integer");
    }
    if (value.get<uint64_t>() >= limit) {
      throw Error(source + ": token '" + token + "' has id " + value.dump() + ", but the file defines only " +
                  std::to_string(limit) + " tokens (ids must be below " + std::to_string(limit) + ")");
    }
    const auto id = static_cast<size_t>(value.get<int64_t>());
    if (id >= idToToken.size()) {
      idToToken.resize(id + 1);
    }
    if (!idToToken[id].empty()) {
      throw Error(source + ": id " + std::to_string(id) + " is used by both '" + idToToken[id] + "' and '" +
                  token + "'");
    }
    idToToken[id] = token;
  }
  if (idToToken.empty()) {
    throw Error(source + ": the vocabulary is empty");
  }
  return idToToken;
}

nlohmann::json parseJson(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": malformed JSON: " + e.what());
  }
}

int64_t findToken(const std::vector<std::string>& idToToken, const std::string& token) {
  for (size_t id = 0; id < idToToken.size(); ++id) {
    if (idToToken[id] == token) {
      return static_cast<int64_t>(id);
    }
  }
  return -1;
}

// tokenizer_config.json names bos/eos either as a string or as {"content": ...}.
std::string configTokenText(const nlohmann::json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) {
    return {};
  }
  const nlohmann::json& value = config[key];
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return {};
}

// The special tokens named next to the tables: special_tokens_map.json, then tokenizer_config.json
// (the later file fills only what the earlier left unnamed). Keys: bos/eos/pad/mask/unk/cls/sep_token.
struct SideFileTokens {
  std::string bos, eos, pad, mask, unk, cls, sep;
};

SideFileTokens readSideFileTokens(const std::filesystem::path& dir) {
  SideFileTokens t;
  for (const char* file : {"special_tokens_map.json", "tokenizer_config.json"}) {
    const std::filesystem::path path = dir / file;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    const nlohmann::json config = parseJson(detail::readFile(path), path.string());
    auto fill = [&](std::string& slot, const char* key) {
      if (slot.empty()) slot = configTokenText(config, key);
    };
    fill(t.bos, "bos_token");
    fill(t.eos, "eos_token");
    fill(t.pad, "pad_token");
    fill(t.mask, "mask_token");
    fill(t.unk, "unk_token");
    fill(t.cls, "cls_token");
    fill(t.sep, "sep_token");
  }
  return t;
}

// Role ids for the named tokens. A named token missing from the vocabulary leaves its role unset, as
// an unnamed one does (published tokenizer_config.json files name tokens their tables lack).
Gpt2Roles rolesFor(const SideFileTokens& t, const std::vector<std::string>& idToToken) {
  auto id = [&](const std::string& text) -> int64_t {
    return text.empty() ? -1 : findToken(idToToken, text);
  };
  Gpt2Roles r;
  r.pad = id(t.pad);
  r.mask = id(t.mask);
  r.unk = id(t.unk);
  r.cls = id(t.cls);
  r.sep = id(t.sep);
  return r;
}

// Any nlohmann::json exception (a field of the wrong type read with value()/get<>) becomes a
// ranklab::Error naming the file.
template <typename F>
auto withJsonErrors(const std::string& source, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": " + e.what());
  }
}

const nlohmann::json* member(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string typeOf(const nlohmann::json& component) {
  const nlohmann::json* type = member(component, "type");
  return type && type->is_string() ? type->get<std::string>() : std::string("?");
}

// True when `j` (a normalizer or pre_tokenizer, possibly a Sequence) has a component of `type`.
bool hasComponent(const nlohmann::json& j, const std::string& type) {
  if (typeOf(j) == type) return true;
  for (const char* key : {"normalizers", "pretokenizers"}) {
    if (const nlohmann::json* list = member(j, key); list && list->is_array()) {
      for (const nlohmann::json& inner : *list) {
        if (hasComponent(inner, type)) return true;
      }
    }
  }
  return false;
}

// True when some string inside `j` contains U+2581, SentencePiece's space marker (a normalizer that
// replaces " " with it, or prepends it).
bool mentionsSpaceMarker(const nlohmann::json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().find("\xE2\x96\x81") != std::string::npos;
  if (j.is_object() || j.is_array()) {
    for (const nlohmann::json& inner : j) {
      if (mentionsSpaceMarker(inner)) return true;
    }
  }
  return false;
}

// Why one ByteLevel pre_tokenizer differs from GPT-2's, or "".
std::string byteLevelProblem(const nlohmann::json& pre) {
  if (const nlohmann::json* regex = member(pre, "use_regex");
      regex && !(regex->is_boolean() && regex->get<bool>())) {
    return "ByteLevel pre_tokenizer without the GPT-2 regex (use_regex " + regex->dump() +
           ") is not supported";
  }
  if (const nlohmann::json* prefix = member(pre, "add_prefix_space");
      prefix && !(prefix->is_boolean() && !prefix->get<bool>())) {
    return "ByteLevel pre_tokenizer with add_prefix_space true is not supported (GPT-2 adds no prefix space)";
  }
  return {};
}

}  // namespace

std::string gpt2ByteLevelProblem(const nlohmann::json& root) {
  static const std::string kOnlyGpt2 =
      " is not supported (only GPT-2 byte-level BPE, pre_tokenizer ByteLevel)";
  const nlohmann::json* model = member(root, "model");
  if (!model || !model->is_object()) return "no \"model\" object";
  const nlohmann::json* byteFallback = member(*model, "byte_fallback");
  if (byteFallback && !byteFallback->is_boolean()) return "model.byte_fallback is not true or false";
  const nlohmann::json* pre = member(root, "pre_tokenizer");
  const nlohmann::json* normalizer = member(root, "normalizer");
  if ((byteFallback && byteFallback->get<bool>()) || (pre && hasComponent(*pre, "Metaspace")) ||
      (normalizer && mentionsSpaceMarker(*normalizer))) {
    return "SentencePiece-style BPE (byte_fallback/Metaspace) is not supported; provide tokenizer.model";
  }
  if (!pre) return "BPE without a pre_tokenizer" + kOnlyGpt2;
  const std::string type = typeOf(*pre);
  if (type == "ByteLevel") return byteLevelProblem(*pre);
  if (type == "Sequence") {
    const nlohmann::json* list = member(*pre, "pretokenizers");
    if (!list || !list->is_array() || list->empty()) {
      return "BPE with an empty pre_tokenizer Sequence" + kOnlyGpt2;
    }
    // GPT-2's regex comes from ByteLevel itself; any other step (Llama-3's and Qwen2's Split with their
    // own regex, Digits, ...) would split the text differently.
    for (const nlohmann::json& inner : *list) {
      const std::string innerType = typeOf(inner);
      if (innerType != "ByteLevel") {
        return "BPE with pre_tokenizer Sequence containing '" + innerType + "'" + kOnlyGpt2;
      }
      if (std::string problem = byteLevelProblem(inner); !problem.empty()) return problem;
    }
    return {};
  }
  return "BPE with pre_tokenizer '" + type + "'" + kOnlyGpt2;
}

std::unique_ptr<Tokenizer> makeGpt2BpeWithSpecials(std::vector<std::string> idToToken,
                                                   std::vector<std::string> merges, int64_t bosId,
                                                   int64_t eosId,
                                                   std::vector<std::pair<std::string, int64_t>> specials,
                                                   std::vector<std::pair<std::string, int64_t>> plainAdded,
                                                   const std::string& source, const Gpt2Roles& roles) {
  return std::make_unique<Gpt2Bpe>(std::move(idToToken), std::move(merges), bosId, eosId, std::move(specials),
                                   plainAdded, source, roles);
}

std::unique_ptr<Tokenizer> makeGpt2Bpe(std::vector<std::string> idToToken, std::vector<std::string> merges,
                                       int64_t bosId, int64_t eosId, const std::string& preTokenizer) {
  if (!preTokenizer.empty() && preTokenizer != "default" && preTokenizer != "gpt2" &&
      preTokenizer != "gpt-2") {
    throw Error("GPT-2 BPE tables: pre-tokenizer '" + preTokenizer +
                "' is not supported (supported: gpt-2, default)");
  }
  return makeGpt2BpeWithSpecials(std::move(idToToken), std::move(merges), bosId, eosId, {}, {},
                                 "GPT-2 BPE tables");
}

std::unique_ptr<Tokenizer> loadGpt2VocabMerges(const std::filesystem::path& vocabJson,
                                               const std::filesystem::path& mergesTxt) {
  const std::string vocabSource = vocabJson.string();
  std::vector<std::string> idToToken = withJsonErrors(vocabSource, [&] {
    return vocabFromJsonObject(parseJson(detail::readFile(vocabJson), vocabSource), vocabSource, 0);
  });

  const std::string mergesText = detail::readFile(mergesTxt);
  std::vector<std::string> merges;
  size_t start = 0;
  bool first = true;
  while (start < mergesText.size()) {
    size_t end = mergesText.find('\n', start);
    if (end == std::string::npos) end = mergesText.size();
    std::string line = mergesText.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const bool header = first && line.rfind("#version", 0) == 0;
    first = false;
    if (header || line.empty()) {
      continue;
    }
    merges.push_back(std::move(line));
  }

  const std::string source = vocabSource + " + " + mergesTxt.filename().string();
  const SideFileTokens side = readSideFileTokens(vocabJson.parent_path());
  const int64_t endOfText = findToken(idToToken, kEndOfText);
  std::vector<std::pair<std::string, int64_t>> specials;
  if (endOfText >= 0) {
    specials.emplace_back(kEndOfText, endOfText);
  }
  // Named BOS/EOS tokens that the vocabulary lacks fall back to <|endoftext|>, as unnamed ones do.
  const int64_t namedBos = side.bos.empty() ? -1 : findToken(idToToken, side.bos);
  const int64_t namedEos = side.eos.empty() ? -1 : findToken(idToToken, side.eos);
  const int64_t bosId = namedBos >= 0 ? namedBos : endOfText;
  const int64_t eosId = namedEos >= 0 ? namedEos : endOfText;
  const Gpt2Roles roles = rolesFor(side, idToToken);
  return makeGpt2BpeWithSpecials(std::move(idToToken), std::move(merges), bosId, eosId, std::move(specials),
                                 {}, source, roles);
}

std::unique_ptr<Tokenizer> loadGpt2TokenizerJson(const nlohmann::json& root,
                                                 const std::filesystem::path& source) {
  const std::string name = source.string();
  if (const std::string problem = withJsonErrors(name, [&] { return gpt2ByteLevelProblem(root); });
      !problem.empty()) {
    throw Error(name + ": " + problem);
  }
  std::vector<std::string> idToToken;
  std::vector<std::string> merges;
  std::vector<std::pair<std::string, int64_t>> specials;
  std::vector<std::pair<std::string, int64_t>> plainAdded;
  withJsonErrors(name, [&] {
    const nlohmann::json& model = root.at("model");
    const nlohmann::json* added = member(root, "added_tokens");
    const size_t addedCount = added && added->is_array() ? added->size() : 0;
    const nlohmann::json* vocab = member(model, "vocab");
    idToToken = vocabFromJsonObject(vocab ? *vocab : nlohmann::json(), name, addedCount);
    const size_t limit = vocab->size() + addedCount;  // vocabFromJsonObject checked it is an object

    for (size_t i = 0; i < addedCount; ++i) {
      const nlohmann::json& token = (*added)[i];
      if (!token.is_object() || !token.contains("id") || !token["id"].is_number_integer() ||
          !token.contains("content") || !token["content"].is_string() || token["id"].get<int64_t>() < 0) {
        throw Error(name + ": malformed entry in added_tokens: " + token.dump());
      }
      const auto content = token["content"].get<std::string>();
      // The vocabulary's entries plus the added tokens bound every id (dense ids); checked before the
      // resize, so a corrupt id cannot allocate gigabytes or overflow id + 1.
      if (token["id"].get<uint64_t>() >= limit) {
        throw Error(name + ": added token '" + content + "' has id " + token["id"].dump() +
                    ", but the file defines only " + std::to_string(limit) + " tokens (ids must be below " +
                    std::to_string(limit) + ")");
      }
      const auto id = token["id"].get<int64_t>();
      if (static_cast<size_t>(id) >= idToToken.size()) {
        idToToken.resize(static_cast<size_t>(id) + 1);
      }
      if (idToToken[id].empty()) {
        idToToken[id] = content;
      } else if (idToToken[id] != content) {
        throw Error(name + ": added token '" + content + "' has id " + std::to_string(id) + ", which is '" +
                    idToToken[id] + "' in model.vocab");
      }
      const nlohmann::json* special = member(token, "special");
      if (special && !special->is_boolean()) {
        throw Error(name + ": added token '" + content + "' has \"special\": " + special->dump() +
                    ", expected true or false");
      }
      (special && special->get<bool>() ? specials : plainAdded).emplace_back(content, id);
    }

    const nlohmann::json mergesJson = model.value("merges", nlohmann::json::array());
    if (!mergesJson.is_array()) {
      throw Error(name + ": model.merges is not an array");
    }
    for (const nlohmann::json& merge : mergesJson) {
      if (merge.is_string()) {
        merges.push_back(merge.get<std::string>());
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
        merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
      } else {
        throw Error(name + ": model.merges entry " + merge.dump() + " is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  });

  const SideFileTokens side = readSideFileTokens(source.parent_path());
  const int64_t bosId = findToken(idToToken, side.bos.empty() ? kEndOfText : side.bos);
  const int64_t eosId = findToken(idToToken, side.eos.empty() ? kEndOfText : side.eos);
  const Gpt2Roles roles = rolesFor(side, idToToken);
  return makeGpt2BpeWithSpecials(std::move(idToToken), std::move(merges), bosId, eosId, std::move(specials),
                                 std::move(plainAdded), name, roles);
}

}  // namespace ranklab::tokenize
