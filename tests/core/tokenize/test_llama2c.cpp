#include <gtest/gtest.h>

#include <cstring>
#include <unordered_map>

#include "common/error.h"
#include "test_paths.h"
#include "tokenize/tokenizer.h"
#include "tokenize_test_util.h"

namespace ranklab::tokenize {
namespace {

using test::TempDir;
using Ids = std::vector<int64_t>;

const std::filesystem::path kStories = std::filesystem::path(RANKLAB_REFERENCE_DIR) / "stories260K";
const std::filesystem::path kTok512 = kStories / "tok512.bin";

#define SKIP_WITHOUT_REFERENCE()                                                                           \
  if (!std::filesystem::exists(kTok512)) {                                                                 \
    GTEST_SKIP() << "reference tokenizer " << kTok512 << " not present (../shared/reference is optional)"; \
  }

// An independent, literal port of llama2.c's encode() (O(n^2) rescans, as in run.c) used as the
// oracle for the tokenizer's heap-based merging.
struct Llama2cOracle {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::unordered_map<std::string, int64_t> lookup;

  explicit Llama2cOracle(const std::string& bytes) {
    size_t offset = 4;
    while (offset < bytes.size()) {
      float score;
      int32_t len;
      std::memcpy(&score, bytes.data() + offset, 4);
      std::memcpy(&len, bytes.data() + offset + 4, 4);
      offset += 8;
      pieces.emplace_back(bytes, offset, len);
      scores.push_back(score);
      lookup.emplace(pieces.back(), static_cast<int64_t>(pieces.size() - 1));
      offset += len;
    }
  }
  int64_t find(const std::string& s) const {
    auto it = lookup.find(s);
    return it == lookup.end() ? -1 : it->second;
  }
  Ids encode(const std::string& text) const {
    Ids tokens;
    if (!text.empty()) tokens.push_back(find(" "));
    std::string buffer;
    for (size_t i = 0; i < text.size(); ++i) {
      if ((text[i] & 0xC0) != 0x80) buffer.clear();
      buffer += text[i];
      if (i + 1 < text.size() && (text[i + 1] & 0xC0) == 0x80 && buffer.size() < 4) continue;
      const int64_t id = find(buffer);
      if (id != -1) {
        tokens.push_back(id);
      } else {
        for (unsigned char c : buffer) tokens.push_back(c + 3);
      }
      buffer.clear();
    }
    while (true) {
      float best = -1e10f;
      int64_t bestId = -1;
      size_t bestIdx = 0;
      for (size_t i = 0; i + 1 < tokens.size(); ++i) {
        const int64_t id = find(pieces[tokens[i]] + pieces[tokens[i + 1]]);
        if (id != -1 && scores[id] > best) {
          best = scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestId == -1) break;
      tokens[bestIdx] = bestId;
      tokens.erase(tokens.begin() + bestIdx + 1);
    }
    return tokens;
  }
};

std::vector<std::string> stories() {
  const std::string all = test::readFile(kStories / "TinyStories-valid.first69.txt");
  std::vector<std::string> out;
  size_t start = 0;
  const std::string separator = "<|endoftext|>";
  while (start <= all.size()) {
    size_t end = all.find(separator, start);
    if (end == std::string::npos) end = all.size();
    std::string story = all.substr(start, end - start);
    const size_t first = story.find_first_not_of(" \t\r\n");
    const size_t last = story.find_last_not_of(" \t\r\n");
    if (first != std::string::npos) out.push_back(story.substr(first, last - first + 1));
    start = end + separator.size();
  }
  return out;
}

TEST(Llama2c, LoadsReferenceTokenizer) {
  SKIP_WITHOUT_REFERENCE();
  const auto tok = loadTokenizer(kTok512, 512);
  EXPECT_EQ(tok->kind(), "llama2c");
  EXPECT_EQ(tok->vocabSize(), 512);
  EXPECT_EQ(tok->unkId(), 0);
  EXPECT_EQ(tok->bosId(), 1);
  EXPECT_EQ(tok->eosId(), 2);
  EXPECT_EQ(loadTokenizer(kTok512)->vocabSize(), 512) << "hint -1 reads pieces to the end of the file";
}

TEST(Llama2c, DummyPrefixMerges) {
  SKIP_WITHOUT_REFERENCE();
  const auto tok = loadTokenizer(kTok512, 512);
  // " Once", " upon", " a", " time" (values from a literal Python port of llama2.c's encode).
  const Ids ids = tok->encode("Once upon a time");
  EXPECT_EQ(ids, (Ids{403, 407, 261, 378}));
  EXPECT_EQ(tok->decodeNext(/*previous=*/5, ids[0]), " Once") << "the raw piece keeps the dummy-prefix space";
  EXPECT_EQ(tok->decode(ids), "Once upon a time");
  Ids withBos{tok->bosId()};
  withBos.insert(withBos.end(), ids.begin(), ids.end());
  withBos.push_back(tok->eosId());
  EXPECT_EQ(tok->decode(withBos), "Once upon a time");
  EXPECT_TRUE(tok->encode("").empty());
}

TEST(Llama2c, MatchesLiteralPortOnStories) {
  SKIP_WITHOUT_REFERENCE();
  const auto tok = loadTokenizer(kTok512, 512);
  const Llama2cOracle oracle(test::readFile(kTok512));
  const auto all = stories();
  ASSERT_EQ(all.size(), 69u);
  for (size_t i = 0; i < all.size(); ++i) {
    const Ids ids = tok->encode(all[i]);
    ASSERT_EQ(ids, oracle.encode(all[i])) << "story " << i;
    ASSERT_EQ(tok->decode(ids), all[i]) << "story " << i;
  }
  std::string streamed;
  int64_t previous = tok->bosId();
  for (int64_t id : tok->encode(all[0])) {
    streamed += tok->decodeNext(previous, id);
    previous = id;
  }
  EXPECT_EQ(streamed, all[0]);
}

TEST(Llama2c, ByteFallback) {
  SKIP_WITHOUT_REFERENCE();
  const auto tok = loadTokenizer(kTok512, 512);
  // "€" is a piece of tok512 (id 503); "Ω" and the emoji are not and fall back to byte + 3.
  EXPECT_EQ(tok->encode("€"), (Ids{410, 503}));
  EXPECT_EQ(tok->encode("Ω"), (Ids{410, 0xCE + 3, 0xA9 + 3}));
  EXPECT_EQ(tok->encode("😀 hi"), (Ids{410, 0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3, 270, 417}));
  for (const std::string text : {"€", "Ω", "😀 hi", "中文 and 👨‍👩‍👧"}) {
    EXPECT_EQ(tok->decode(tok->encode(text)), text);
  }
}

TEST(Llama2c, TruncatedFileIsAnError) {
  SKIP_WITHOUT_REFERENCE();
  TempDir dir;
  const std::string bytes = test::readFile(kTok512);
  test::writeFile(dir.path() / "tokenizer.bin", bytes.substr(0, 1000));
  for (int64_t hint : {int64_t{512}, int64_t{-1}}) {
    try {
      loadTokenizer(dir.path() / "tokenizer.bin", hint);
      FAIL() << "expected ranklab::Error (hint " << hint << ")";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("tokenizer.bin"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
  }
  // A hint beyond the file's pieces is truncation too.
  EXPECT_THROW(loadTokenizer(kTok512, 513), Error);
}

TEST(ScoredPieces, BuilderAcceptsSentencePieceSpaceMarker) {
  const std::string marker = "\xE2\x96\x81";  // U+2581
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>", marker, "h", "i", marker + "h", marker + "hi"};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    pieces.push_back(name);  // byte pieces at 8.., not at byte + 3
  }
  std::vector<float> scores(pieces.size(), 0.0f);
  scores[6] = -2.0f;
  scores[7] = -1.0f;
  const auto tok = makeScoredPieceTokenizer(pieces, scores, 1, 2, 0);
  EXPECT_EQ(tok->kind(), "scored-pieces");
  EXPECT_EQ(tok->encode("hi"), (Ids{7}));
  EXPECT_EQ(tok->encode("hi!"), (Ids{7, 8 + '!'}));
  EXPECT_EQ(tok->decode({1, 7, 8 + '!', 2}), "hi!");
  EXPECT_THROW(makeScoredPieceTokenizer({"a"}, {}, -1, -1, -1), Error);
}

}  // namespace
}  // namespace ranklab::tokenize

namespace ranklab::tokenize {
namespace {

TEST(ByteTokenizer, EncodesEveryByteAndRoundTrips) {
  const auto tok = makeByteTokenizer();
  EXPECT_EQ(tok->kind(), "bytes");
  EXPECT_EQ(tok->vocabSize(), 259);
  EXPECT_EQ(tok->bosId(), 1);
  const std::string text = "a\xC3\xA9\n";  // "aé\n"
  // Dummy-prefix space, then one piece per byte (nothing to merge: all scores are equal pieces).
  EXPECT_EQ(tok->encode(text), (std::vector<int64_t>{3 + 0x20, 3 + 'a', 3 + 0xC3, 3 + 0xA9, 3 + '\n'}));
  // The dummy prefix is a byte piece here, and llama2.c's decoder strips a leading space only from
  // text pieces, so it survives decoding.
  EXPECT_EQ(tok->decode(tok->encode(text)), " " + text);
}

}  // namespace
}  // namespace ranklab::tokenize
