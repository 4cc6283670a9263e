#include "tokenize/scored_piece.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <queue>
#include <unordered_map>

#include "common/error.h"
#include "tokenize/tokenizer_util.h"

namespace ranklab::tokenize {
namespace {

// llama2.c starts its best-score search at -1e10, so pieces scored at or below it never merge.
constexpr float kMinMergeScore = -1e10f;
constexpr const char* kLowerOneEighth = "\xE2\x96\x81";  // U+2581, SentencePiece's space marker

std::string spacesFromMarker(std::string piece) {
  size_t pos = 0;
  while ((pos = piece.find(kLowerOneEighth, pos)) != std::string::npos) {
    piece.replace(pos, 3, " ");
    pos += 1;
  }
  return piece;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xAB>" -> 0xAB, anything else -> -1.
int bytePieceValue(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') {
    return -1;
  }
  const int hi = hexValue(piece[3]);
  const int lo = hexValue(piece[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

class ScoredPieceTokenizer final : public Tokenizer {
 public:
  ScoredPieceTokenizer(std::vector<std::string> pieces, std::vector<float> scores, int64_t bosId,
                       int64_t eosId, int64_t unkId, std::string kind)
      : m_pieces(std::move(pieces)),
        m_scores(std::move(scores)),
        m_bosId(bosId),
        m_eosId(eosId),
        m_unkId(unkId),
        m_kind(std::move(kind)) {
    const auto size = static_cast<int64_t>(m_pieces.size());
    if (m_scores.size() != m_pieces.size()) {
      throw Error(m_kind + " tokenizer: " + std::to_string(m_pieces.size()) + " pieces but " +
                  std::to_string(m_scores.size()) + " scores");
    }
    for (int64_t id : {bosId, eosId, unkId}) {
      if (id >= size) {
        throw Error(m_kind + " tokenizer: special id " + std::to_string(id) + " is outside the vocabulary (" +
                    std::to_string(size) + " pieces)");
      }
    }
    m_byteValue.resize(m_pieces.size(), -1);
    m_byteId.fill(-1);
    m_lookup.reserve(m_pieces.size());
    for (int64_t id = 0; id < size; ++id) {
      m_pieces[id] = spacesFromMarker(std::move(m_pieces[id]));
      m_lookup.emplace(m_pieces[id], id);  // a repeated piece keeps its first id
      const int byte = bytePieceValue(m_pieces[id]);
      m_byteValue[id] = byte;
      if (byte >= 0 && m_byteId[byte] < 0) {
        m_byteId[byte] = id;
      }
    }
  }

  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int64_t> tokens;
    if (text.empty()) {
      return tokens;
    }
    tokens.reserve(text.size() + 1);
    const int64_t dummyPrefix = lookup(" ");
    if (dummyPrefix >= 0) {
      tokens.push_back(dummyPrefix);
    } else {
      appendByteFallback(' ', tokens);
    }
    // llama2.c groups a lead byte with up to three following continuation bytes, whether or not they
    // form valid UTF-8, and falls back to byte pieces for groups that are not in the vocabulary.
    std::string group;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if ((c & 0xC0) != 0x80) {
        group.clear();
      }
      group += static_cast<char>(c);
      const bool nextIsContinuation =
          i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80;
      if (nextIsContinuation && group.size() < 4) {
        continue;
      }
      const int64_t id = lookup(group);
      if (id >= 0) {
        tokens.push_back(id);
      } else {
        for (unsigned char b : group) {
          appendByteFallback(b, tokens);
        }
      }
      group.clear();
    }
    mergePairs(tokens);
    return tokens;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string out;
    int64_t previous = -1;
    for (int64_t id : ids) {
      out += decodeNext(previous, id);
      previous = id;
    }
    return out;
  }

  std::string decodeNext(int64_t previous, int64_t id) const override {
    detail::checkId(m_kind.c_str(), id, vocabSize());
    if (id == m_bosId || id == m_eosId) {
      return {};
    }
    if (m_byteValue[id] >= 0) {
      return std::string(1, static_cast<char>(m_byteValue[id]));
    }
    const std::string& piece = m_pieces[id];
    if ((previous < 0 || previous == m_bosId) && !piece.empty() && piece[0] == ' ') {
      return piece.substr(1);
    }
    return piece;
  }

  int64_t vocabSize() const override { return static_cast<int64_t>(m_pieces.size()); }
  std::string kind() const override { return m_kind; }
  int64_t bosId() const override { return m_bosId; }
  int64_t eosId() const override { return m_eosId; }
  int64_t unkId() const override { return m_unkId; }

 private:
  int64_t lookup(const std::string& piece) const {
    auto it = m_lookup.find(piece);
    return it == m_lookup.end() ? -1 : it->second;
  }

  void appendByteFallback(unsigned char byte, std::vector<int64_t>& tokens) const {
    // llama2.c hard-codes byte + 3; a table with "<0xXX>" pieces elsewhere (GGUF) is looked up instead.
    if (m_byteId[byte] >= 0) {
      tokens.push_back(m_byteId[byte]);
    } else if (byte + 3 < vocabSize()) {
      tokens.push_back(byte + 3);
    } else if (m_unkId >= 0) {
      tokens.push_back(m_unkId);
    }
  }

  // llama2.c rescans all adjacent pairs and merges the leftmost pair with the highest score until no
  // pair merges. This does the same with a heap ordered by (score desc, position asc) over a linked
  // list of symbols, so long texts cost O(n log n) instead of O(n^2) lookups. Stale heap entries are
  // recognised by the symbols' ids having changed.
  void mergePairs(std::vector<int64_t>& tokens) const {
    const size_t n = tokens.size();
    if (n < 2) {
      return;
    }
    std::vector<int64_t> prev(n), next(n);
    std::vector<bool> alive(n, true);
    for (size_t i = 0; i < n; ++i) {
      prev[i] = static_cast<int64_t>(i) - 1;
      next[i] = i + 1 < n ? static_cast<int64_t>(i + 1) : -1;
    }
    struct Candidate {
      float score;
      size_t left;
      int64_t leftId;
      int64_t rightId;
      int64_t mergedId;
    };
    const auto worse = [](const Candidate& a, const Candidate& b) {
      return a.score != b.score ? a.score < b.score : a.left > b.left;
    };
    std::priority_queue<Candidate, std::vector<Candidate>, decltype(worse)> heap(worse);
    std::string joined;
    const auto consider = [&](int64_t left) {
      if (left < 0 || next[left] < 0) return;
      const int64_t right = next[left];
      joined.assign(m_pieces[tokens[left]]).append(m_pieces[tokens[right]]);
      const int64_t merged = lookup(joined);
      if (merged >= 0 && m_scores[merged] > kMinMergeScore) {
        heap.push({m_scores[merged], static_cast<size_t>(left), tokens[left], tokens[right], merged});
      }
    };
    for (size_t i = 0; i + 1 < n; ++i) {
      consider(static_cast<int64_t>(i));
    }
    while (!heap.empty()) {
      const Candidate top = heap.top();
      heap.pop();
      const auto left = static_cast<int64_t>(top.left);
      const int64_t right = next[left];
      if (!alive[left] || right < 0 || tokens[left] != top.leftId || tokens[right] != top.rightId) {
        continue;
      }
      tokens[left] = top.mergedId;
      alive[right] = false;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      consider(prev[left]);
      consider(left);
    }
    std::vector<int64_t> out;
    for (int64_t i = 0; i >= 0; i = next[i]) {
      out.push_back(tokens[i]);
    }
    tokens = std::move(out);
  }

  std::vector<std::string> m_pieces;
  std::vector<float> m_scores;
  std::unordered_map<std::string, int64_t> m_lookup;
  std::vector<int> m_byteValue;  // id -> byte for "<0xXX>" pieces, else -1
  std::array<int64_t, 256> m_byteId{};
  int64_t m_bosId;
  int64_t m_eosId;
  int64_t m_unkId;
  std::string m_kind;
};

}  // namespace

std::unique_ptr<Tokenizer> makeScoredPieceTokenizer(std::vector<std::string> pieces,
                                                    std::vector<float> scores, int64_t bosId, int64_t eosId,
                                                    int64_t unkId, const std::string& kind) {
  return std::make_unique<ScoredPieceTokenizer>(std::move(pieces), std::move(scores), bosId, eosId, unkId,
                                                kind);
}

std::unique_ptr<Tokenizer> makeScoredPieceTokenizer(std::vector<std::string> pieces,
                                                    std::vector<float> scores, int64_t bosId, int64_t eosId,
                                                    int64_t unkId) {
  return makeScoredPieceTokenizer(std::move(pieces), std::move(scores), bosId, eosId, unkId, "scored-pieces");
}

// tokenizer.bin layout (llama2.c, little-endian, no header magic, no piece count):
//   int32  max_token_length
//   then per piece, in id order:
//     float32 score
//     int32   len          (bytes, 0 <= len <= max_token_length in well-formed files)
//     uint8   bytes[len]   (not NUL-terminated)
// The file does not store the vocabulary size: the model header does, hence `vocabSize`.
std::unique_ptr<Tokenizer> loadLlama2cTokenizer(const std::filesystem::path& path, int64_t vocabSize) {
  const std::string name = path.string();
  const std::string data = detail::readFile(path);
  size_t offset = 0;
  const auto readInt32 = [&](const char* what, int64_t index) {
    if (data.size() - offset < 4) {
      throw Error("reading " + name + ": truncated: " + what +
                  (index >= 0 ? " of piece " + std::to_string(index) : "") + " needs 4 bytes at offset " +
                  std::to_string(offset) + ", file has " + std::to_string(data.size()) + " bytes");
    }
    int32_t value;
    std::memcpy(&value, data.data() + offset, 4);
    offset += 4;
    return value;
  };
  const int32_t maxTokenLength = readInt32("max_token_length", -1);
  if (maxTokenLength <= 0 || maxTokenLength > (1 << 20)) {
    throw Error("reading " + name + ": max_token_length " + std::to_string(maxTokenLength) +
                " is not plausible; not a llama2.c tokenizer.bin");
  }
  std::vector<std::string> pieces;
  std::vector<float> scores;
  for (int64_t i = 0; vocabSize < 0 ? offset < data.size() : i < vocabSize; ++i) {
    const int32_t scoreBits = readInt32("score", i);
    float score;
    std::memcpy(&score, &scoreBits, 4);
    const int32_t len = readInt32("length", i);
    if (len < 0 || len > maxTokenLength) {
      throw Error("reading " + name + ": piece " + std::to_string(i) + " at offset " +
                  std::to_string(offset - 4) + " has length " + std::to_string(len) +
                  ", max_token_length is " + std::to_string(maxTokenLength));
    }
    if (data.size() - offset < static_cast<size_t>(len)) {
      throw Error("reading " + name + ": truncated: piece " + std::to_string(i) + " needs " +
                  std::to_string(len) + " bytes at offset " + std::to_string(offset) + ", file has " +
                  std::to_string(data.size()) + " bytes");
    }
    pieces.emplace_back(data, offset, static_cast<size_t>(len));
    scores.push_back(score);
    offset += static_cast<size_t>(len);
  }
  if (pieces.size() < 3) {
    throw Error("reading " + name + ": " + std::to_string(pieces.size()) +
                " pieces; llama2.c tokenizers have at least <unk>, BOS and EOS");
  }
  return makeScoredPieceTokenizer(std::move(pieces), std::move(scores), 1, 2, 0, "llama2c");
}

std::unique_ptr<Tokenizer> makeByteTokenizer() {
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    pieces.emplace_back(buf);
  }
  std::vector<float> scores(pieces.size(), 0.0f);
  return makeScoredPieceTokenizer(std::move(pieces), std::move(scores), 1, 2, 0, "bytes");
}

}  // namespace ranklab::tokenize
