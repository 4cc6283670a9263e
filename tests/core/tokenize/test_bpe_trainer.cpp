// The byte-level BPE trainer: merge order on a hand-counted text, GPT-2 file layout that the
// encoder loads, lossless round trips, determinism, and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "test_paths.h"
#include "tokenize/bpe_trainer.h"
#include "tokenize/tokenizer.h"

namespace fs = std::filesystem;
using namespace ranklab;

namespace {

std::string readAll(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class BpeTrainer : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("ranklab_bpe_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path m_dir;
};

TEST_F(BpeTrainer, MergesTheMostFrequentPairFirst) {
  // Pre-tokens: "aaab" x3, " aaab" x2 (GPT-2 keeps the leading space), " ab" x1.
  // Pair counts: (a,a) = 2*3 + 2*2 = 10, (a,b) = 3 + 2 + 1 = 6, (' ',a) = 3.
  tokenize::BpeTrainOptions o;
  o.vocabSize = 260;  // three merges
  o.minFrequency = 1;
  const auto v = tokenize::trainByteLevelBpe({"aaab aaab ab<|endoftext|>aaab aaab<|endoftext|>aaab"}, o);
  ASSERT_EQ(v.merges.size(), 3u);
  EXPECT_EQ(v.merges[0], "a a");
  // After "aa": (aa,a)... every "aaab" is now [aa, a, b]: (aa,a) = 5, (a,b) = 6 -> "a b" next.
  EXPECT_EQ(v.merges[1], "a b");
  EXPECT_EQ(v.idToToken.size(), 260u);
  EXPECT_EQ(v.idToToken[256], "aa");
  EXPECT_EQ(v.endOfTextId, 259);
  EXPECT_EQ(v.idToToken[259], "<|endoftext|>");
  EXPECT_EQ(v.idToToken[0], "!");  // GPT-2's byte order: printable bytes first
  EXPECT_EQ(v.pieces, 6);
  EXPECT_EQ(v.distinctPieces, 3);
}

TEST_F(BpeTrainer, WritesFilesTheGpt2EncoderLoadsAndRoundTripsLosslessly) {
  std::string text;
  for (int i = 0; i < 40; ++i)
    text +=
        "Call me Ishmael. Some years ago - never mind how long precisely - having little or no money in my "
        "purse, I thought I would sail about a little and see the watery part of the world. " +
        std::to_string(i * 37) + " caf\xC3\xA9 \xE2\x80\x94 na\xC3\xAFve<|endoftext|>";
  tokenize::BpeTrainOptions o;
  o.vocabSize = 400;
  const auto v = tokenize::trainByteLevelBpe({text}, o);
  tokenize::writeGpt2VocabMerges(v, m_dir);
  ASSERT_TRUE(fs::exists(m_dir / "vocab.json"));
  EXPECT_EQ(readAll(m_dir / "merges.txt").rfind("#version: 0.2\n", 0), 0u);
  auto tok = tokenize::loadTokenizer(m_dir);
  EXPECT_EQ(tok->kind(), "gpt2-bpe");
  EXPECT_EQ(tok->vocabSize(), static_cast<int64_t>(v.idToToken.size()));
  EXPECT_EQ(tok->eosId(), v.endOfTextId);
  for (const std::string& sample :
       {std::string("Call me Ishmael. I thought I would sail about."),
        std::string(
            "Unseen words: \xF0\x9F\x90\xB3 whale, \xE6\x97\xA5\xE6\x9C\xAC, tabs\tand\nnewlines  ")}) {
    const auto ids = tok->encode(sample);
    EXPECT_EQ(tok->decode(ids), sample);
  }
  // The trained merges compress the text they were trained on: fewer than one token per 2.5 bytes.
  const std::string doc = text.substr(0, text.find("<|endoftext|>"));
  EXPECT_LT(static_cast<double>(tok->encode(doc).size()), doc.size() / 2.5);
  // The separator is a special token, never learned as text.
  EXPECT_EQ(tok->encode("<|endoftext|>"), std::vector<int64_t>{v.endOfTextId});
}

TEST_F(BpeTrainer, IsDeterministicAndStopsAtMinFrequency) {
  const std::string text = "the cat sat on the mat; the cat ate the rat. ";
  tokenize::BpeTrainOptions o;
  o.vocabSize = 1000;
  o.minFrequency = 2;
  const auto a = tokenize::trainByteLevelBpe({text, text}, o);
  const auto b = tokenize::trainByteLevelBpe({text, text}, o);
  EXPECT_EQ(a.merges, b.merges);
  EXPECT_EQ(a.idToToken, b.idToToken);
  // Far fewer than 1000 - 257 pairs occur twice in this text: training stops early, and every
  // merge it made was seen at least twice.
  EXPECT_LT(a.idToToken.size(), 1000u);
  tokenize::writeGpt2VocabMerges(a, m_dir / "a");
  tokenize::writeGpt2VocabMerges(b, m_dir / "b");
  EXPECT_EQ(readAll(m_dir / "a" / "vocab.json"), readAll(m_dir / "b" / "vocab.json"));
  EXPECT_EQ(readAll(m_dir / "a" / "merges.txt"), readAll(m_dir / "b" / "merges.txt"));
}

// Every shipped text (resources/data) encodes and decodes losslessly with the tokenizer every shipped
// model uses (resources/models/tokenizer, trained by bpe-train on the LM training split).
TEST_F(BpeTrainer, ShippedTextsRoundTripLosslesslyWithTheShippedTokenizer) {
  const fs::path data = fs::path(RANKLAB_SOURCE_DIR) / "resources" / "data";
  const auto tok =
      tokenize::loadTokenizer(fs::path(RANKLAB_SOURCE_DIR) / "resources" / "models" / "tokenizer");
  EXPECT_EQ(tok->vocabSize(), 4096);
  int files = 0;
  int64_t bytes = 0, tokens = 0;
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".txt" && ext != ".tsv")) continue;
    ++files;
    std::istringstream lines(readAll(entry.path()));
    std::string line;
    while (std::getline(lines, line)) {
      if (line == "<|endoftext|>") continue;
      const auto ids = tok->encode(line);
      ASSERT_EQ(tok->decode(ids), line) << entry.path();
      bytes += static_cast<int64_t>(line.size());
      tokens += static_cast<int64_t>(ids.size());
    }
  }
  EXPECT_GE(files, 9);  // lm/{train,valid,test}.txt and two labelled tasks' three splits
  // Metric: bytes per token over all shipped text (spam's URLs and HTML remnants included), above
  // 3.3 with 4k vocabulary entries (raw bytes would be 1.0).
  EXPECT_GT(static_cast<double>(bytes) / static_cast<double>(tokens), 3.3);
}

// Encoder specials: <pad> and <mask> follow <|endoftext|>, special_tokens_map.json names their roles,
// and the loaded tokenizer matches them literally and drops them on decode.
TEST_F(BpeTrainer, PadAndMaskTokensForEncoders) {
  tokenize::BpeTrainOptions o;
  o.vocabSize = 300;
  o.padToken = "<pad>";
  o.maskToken = "<mask>";
  const auto v = tokenize::trainByteLevelBpe({"the cat sat on the mat, the cat sat on the hat"}, o);
  EXPECT_EQ(v.endOfTextId + 1, v.padId);
  EXPECT_EQ(v.padId + 1, v.maskId);
  EXPECT_EQ(v.maskId + 1, static_cast<int64_t>(v.idToToken.size()));
  tokenize::writeGpt2VocabMerges(v, m_dir);
  EXPECT_THAT(readAll(m_dir / "special_tokens_map.json"), ::testing::HasSubstr("\"mask_token\": \"<mask>\""));
  EXPECT_THAT(readAll(m_dir / "tokenizer_config.json"),
              ::testing::HasSubstr("\"tokenizer_class\": \"GPT2Tokenizer\""));
  const auto tok = tokenize::loadTokenizer(m_dir);
  EXPECT_EQ(tok->padId(), v.padId);
  EXPECT_EQ(tok->maskId(), v.maskId);
  EXPECT_EQ(tok->bosId(), v.endOfTextId);
  const auto ids = tok->encode("the <mask> sat<pad>");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), v.maskId), 1);
  EXPECT_EQ(ids.back(), v.padId);
  EXPECT_EQ(tok->decode(ids), "the  sat");
  o.maskToken = "<pad>";
  EXPECT_THROW(tokenize::trainByteLevelBpe({"text"}, o), Error);
  o.maskToken = "<|endoftext|>";
  EXPECT_THROW(tokenize::trainByteLevelBpe({"text"}, o), Error);
}

TEST_F(BpeTrainer, BadInputIsAClearError) {
  tokenize::BpeTrainOptions o;
  o.vocabSize = 100;
  EXPECT_THROW(tokenize::trainByteLevelBpe({"text"}, o), Error);
  o.vocabSize = 300;
  EXPECT_THROW(tokenize::trainByteLevelBpe({""}, o), Error);
  try {
    tokenize::trainByteLevelBpe({"fine", "bad \xFF byte"}, o);
    FAIL() << "invalid UTF-8 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text 2"), std::string::npos) << e.what();
  }
  CancelToken cancel;
  cancel.cancel();
  EXPECT_THROW(tokenize::trainByteLevelBpe({"some text"}, o, nullptr, &cancel), Cancelled);
}

}  // namespace
