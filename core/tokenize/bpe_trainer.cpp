#include "tokenize/bpe_trainer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/corpus.h"
#include "tokenize/gpt2_pretokenizer.h"
#include "tokenize/tokenizer_util.h"

namespace fs = std::filesystem;

namespace ranklab::tokenize {

namespace {

using Pair = uint64_t;  // (left id << 32) | right id
Pair pairOf(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
int32_t leftOf(Pair p) { return static_cast<int32_t>(p >> 32); }
int32_t rightOf(Pair p) { return static_cast<int32_t>(p & 0xFFFFFFFFu); }

struct Word {
  std::vector<int32_t> symbols;
  int64_t count = 0;
};

// Adds `sign` * count for every adjacent pair of `symbols` to `counts`.
void countPairs(const std::vector<int32_t>& symbols, int64_t weight,
                std::unordered_map<Pair, int64_t>& counts) {
  for (size_t i = 0; i + 1 < symbols.size(); ++i) counts[pairOf(symbols[i], symbols[i + 1])] += weight;
}

}  // namespace

BpeVocabulary trainByteLevelBpe(const std::vector<std::string>& texts, const BpeTrainOptions& options,
                                ProgressSink* progress, const CancelToken* cancel) {
  const int64_t extra = (options.padToken.empty() ? 0 : 1) + (options.maskToken.empty() ? 0 : 1);
  if (options.vocabSize < 257 + extra)
    throw Error("bpe-train: the vocabulary needs at least " + std::to_string(257 + extra) +
                " entries (256 bytes, <|endoftext|> and the extra special tokens), got " +
                std::to_string(options.vocabSize));
  for (const std::string* t : {&options.padToken, &options.maskToken})
    if (*t == "<|endoftext|>") throw Error("bpe-train: '" + *t + "' is already the end-of-text token");
  if (!options.padToken.empty() && options.padToken == options.maskToken)
    throw Error("bpe-train: the pad and mask tokens must differ (both are '" + options.padToken + "')");
  BpeVocabulary out;

  // Pre-token frequencies over all documents.
  detail::Gpt2PreTokenizer pre;
  std::unordered_map<std::string, int64_t> frequency;
  for (size_t t = 0; t < texts.size(); ++t) {
    const std::string& text = texts[t];
    for (size_t pos = 0; pos < text.size();) {
      size_t len = 0;
      if (detail::decodeUtf8(text, pos, len) == 0xFFFFFFFF)
        throw Error("bpe-train: text " + std::to_string(t + 1) + " is not valid UTF-8 at byte " +
                    std::to_string(pos));
      pos += len;
    }
    for (const auto& doc : data::splitDocuments(text, options.documentSeparator)) {
      if (cancel) cancel->check();
      pre.split(doc, [&](std::string_view piece) {
        ++frequency[std::string(piece)];
        ++out.pieces;
      });
    }
  }
  if (frequency.empty()) throw Error("bpe-train: the training text is empty");
  out.distinctPieces = static_cast<int64_t>(frequency.size());

  // Byte symbols in GPT-2's id order: the directly printable bytes first, then the remapped ones.
  const auto table = detail::gpt2BytesToUnicode();
  std::vector<int> byteOrder;
  for (int b = 0; b < 256; ++b)
    if (table[b] == static_cast<char32_t>(b)) byteOrder.push_back(b);
  for (int b = 0; b < 256; ++b)
    if (table[b] != static_cast<char32_t>(b)) byteOrder.push_back(b);
  std::array<int32_t, 256> idOfByte{};
  for (size_t i = 0; i < byteOrder.size(); ++i) {
    std::string symbol;
    detail::appendUtf8(symbol, table[byteOrder[i]]);
    out.idToToken.push_back(symbol);
    idOfByte[byteOrder[i]] = static_cast<int32_t>(i);
  }

  // Words in a fixed order (sorted text), so that nothing depends on hash-map iteration.
  std::vector<std::pair<std::string, int64_t>> sorted(frequency.begin(), frequency.end());
  std::sort(sorted.begin(), sorted.end());
  frequency.clear();
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [text, count] : sorted) {
    Word w;
    w.count = count;
    for (unsigned char c : text) w.symbols.push_back(idOfByte[c]);
    words.push_back(std::move(w));
  }
  sorted.clear();

  std::unordered_map<Pair, int64_t> counts;
  std::unordered_map<Pair, std::vector<int32_t>> where;  // words that may hold the pair (may be stale)
  for (size_t i = 0; i < words.size(); ++i) {
    countPairs(words[i].symbols, words[i].count, counts);
    for (size_t k = 0; k + 1 < words[i].symbols.size(); ++k)
      where[pairOf(words[i].symbols[k], words[i].symbols[k + 1])].push_back(static_cast<int32_t>(i));
  }
  // Max-heap on (count, then smaller pair first); entries go stale as counts change and are
  // checked against `counts` when popped.
  struct Entry {
    int64_t count;
    Pair pair;
    bool operator<(const Entry& o) const { return count != o.count ? count < o.count : pair > o.pair; }
  };
  std::priority_queue<Entry> heap;
  for (const auto& [p, c] : counts) heap.push({c, p});

  const int64_t targetMerges = options.vocabSize - 257 - extra;
  std::unordered_map<Pair, int64_t> delta;
  while (static_cast<int64_t>(out.merges.size()) < targetMerges && !heap.empty()) {
    if (cancel) cancel->check();
    const Entry top = heap.top();
    heap.pop();
    auto it = counts.find(top.pair);
    if (it == counts.end() || it->second != top.count) continue;  // stale
    if (top.count < std::max<int64_t>(1, options.minFrequency)) break;
    const int32_t a = leftOf(top.pair), b = rightOf(top.pair);
    const auto newId = static_cast<int32_t>(out.idToToken.size());
    out.idToToken.push_back(out.idToToken[static_cast<size_t>(a)] + out.idToToken[static_cast<size_t>(b)]);
    out.merges.push_back(out.idToToken[static_cast<size_t>(a)] + " " + out.idToToken[static_cast<size_t>(b)]);

    delta.clear();
    std::vector<int32_t> candidates = std::move(where[top.pair]);
    where.erase(top.pair);
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (int32_t wi : candidates) {
      Word& w = words[static_cast<size_t>(wi)];
      bool found = false;
      for (size_t k = 0; k + 1 < w.symbols.size(); ++k)
        if (w.symbols[k] == a && w.symbols[k + 1] == b) {
          found = true;
          break;
        }
      if (!found) continue;
      // Replace every occurrence left to right (as the encoder applies a merge), then account the
      // change of the word's pairs in one step.
      countPairs(w.symbols, -w.count, delta);
      std::vector<int32_t> merged;
      merged.reserve(w.symbols.size());
      for (size_t k = 0; k < w.symbols.size();) {
        if (k + 1 < w.symbols.size() && w.symbols[k] == a && w.symbols[k + 1] == b) {
          merged.push_back(newId);
          k += 2;
        } else {
          merged.push_back(w.symbols[k++]);
        }
      }
      w.symbols = std::move(merged);
      countPairs(w.symbols, w.count, delta);
      for (size_t k = 0; k + 1 < w.symbols.size(); ++k)
        if (w.symbols[k] == newId || w.symbols[k + 1] == newId)
          where[pairOf(w.symbols[k], w.symbols[k + 1])].push_back(wi);
    }
    for (const auto& [p, d] : delta) {
      if (d == 0) continue;
      auto& c = counts[p];
      c += d;
      if (c <= 0)
        counts.erase(p);
      else
        heap.push({c, p});
    }
    if (progress && out.merges.size() % 64 == 0)
      progress->progress("bpe-train", static_cast<long long>(out.merges.size()), targetMerges);
  }
  if (progress)
    progress->progress("bpe-train", static_cast<long long>(out.merges.size()),
                       static_cast<long long>(out.merges.size()));
  out.endOfTextId = static_cast<int64_t>(out.idToToken.size());
  out.idToToken.push_back("<|endoftext|>");
  for (const std::string* special : {&options.padToken, &options.maskToken}) {
    if (special->empty()) continue;
    for (const auto& token : out.idToToken)
      if (token == *special)
        throw Error("bpe-train: the special token '" + *special +
                    "' is also a token learned from the text; pick another");
  }
  if (!options.padToken.empty()) {
    out.padId = static_cast<int64_t>(out.idToToken.size());
    out.idToToken.push_back(options.padToken);
  }
  if (!options.maskToken.empty()) {
    out.maskId = static_cast<int64_t>(out.idToToken.size());
    out.idToToken.push_back(options.maskToken);
  }
  return out;
}

void writeGpt2VocabMerges(const BpeVocabulary& vocabulary, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message());
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (size_t id = 0; id < vocabulary.idToToken.size(); ++id) vocab[vocabulary.idToToken[id]] = id;
  writeFileAtomically(dir / "vocab.json", vocab.dump() + "\n");
  std::string merges = "#version: 0.2\n";
  for (const auto& m : vocabulary.merges) merges += m + "\n";
  writeFileAtomically(dir / "merges.txt", merges);
  nlohmann::ordered_json specials = {
      {"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"}, {"unk_token", "<|endoftext|>"}};
  if (vocabulary.padId >= 0)
    specials["pad_token"] = vocabulary.idToToken[static_cast<size_t>(vocabulary.padId)];
  if (vocabulary.maskId >= 0)
    specials["mask_token"] = vocabulary.idToToken[static_cast<size_t>(vocabulary.maskId)];
  writeFileAtomically(dir / "special_tokens_map.json", specials.dump(2) + "\n");
  // transformers' AutoTokenizer picks the class from here (a BERT config alone would ask for vocab.txt).
  nlohmann::ordered_json config = {{"tokenizer_class", "GPT2Tokenizer"}, {"add_prefix_space", false}};
  for (const auto& [key, value] : specials.items()) config[key] = value;
  writeFileAtomically(dir / "tokenizer_config.json", config.dump(2) + "\n");
}

}  // namespace ranklab::tokenize
