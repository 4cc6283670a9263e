// Trains a tiny SentencePiece model in the test (through the same isolated bridge module that
// loads .model files; see core/tokenize/spm_bridge.h) and checks RankLab's wrapper against it.
#include <gtest/gtest.h>

#include "common/error.h"
#include "tokenize/sentencepiece_tokenizer.h"
#include "tokenize/tokenizer.h"
#include "tokenize_test_util.h"

namespace ranklab::tokenize {
namespace {

using test::TempDir;

// A few hundred lines of simple sentences; deterministic, no external data.
std::string trainingText() {
  const char* subjects[] = {"the cat", "a dog", "the little bird", "my friend", "the old man", "a girl"};
  const char* verbs[] = {"sees", "likes", "finds", "follows", "helps", "watches"};
  const char* objects[] = {"the ball", "a tree", "the river", "some bread", "the garden", "a red box"};
  const char* endings[] = {"today.", "in the morning.", "again and again.", "with a smile.",
                           "near the house."};
  std::string text;
  int n = 0;
  for (const char* s : subjects)
    for (const char* v : verbs)
      for (const char* o : objects) {
        text += std::string(s) + " " + v + " " + o + " " + endings[n++ % 5] + "\n";
      }
  return text;  // 216 lines
}

class SentencePieceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_dir = new TempDir();
    const auto input = s_dir->path() / "train.txt";
    test::writeFile(input, trainingText());
    ASSERT_NO_THROW(trainSentencePiece(
        "--input=" + input.string() + " --model_prefix=" + (s_dir->path() / "tiny").string() +
        " --vocab_size=80 --model_type=unigram --character_coverage=1.0 --hard_vocab_limit=false"
        " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3 --num_threads=1 --minloglevel=2"));
  }
  static void TearDownTestSuite() {
    delete s_dir;
    s_dir = nullptr;
  }
  static std::filesystem::path modelPath() { return s_dir->path() / "tiny.model"; }
  static TempDir* s_dir;
};
TempDir* SentencePieceTest::s_dir = nullptr;

TEST_F(SentencePieceTest, SpecialIdsFromProcessor) {
  const auto tok = loadTokenizer(modelPath());
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->unkId(), 0);
  EXPECT_EQ(tok->bosId(), 1);
  EXPECT_EQ(tok->eosId(), 2);
  EXPECT_EQ(tok->padId(), 3);
  EXPECT_GT(tok->vocabSize(), 20);
  EXPECT_EQ(tok->clsId(), -1);
}

TEST_F(SentencePieceTest, RoundTrip) {
  const auto tok = loadTokenizer(modelPath());
  for (const std::string text : {"the cat sees the ball today.", "a girl helps my friend near the house.",
                                 "the dog finds a tree", "hello world"}) {
    const auto ids = tok->encode(text);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(tok->decode(ids), text);
    std::vector<int64_t> framed{tok->bosId()};
    framed.insert(framed.end(), ids.begin(), ids.end());
    framed.push_back(tok->eosId());
    EXPECT_EQ(tok->decode(framed), text) << "BOS/EOS must decode to nothing";
    std::string streamed;
    int64_t previous = -1;
    for (int64_t id : framed) {
      streamed += tok->decodeNext(previous, id);
      previous = id;
    }
    EXPECT_EQ(streamed, text);
  }
  EXPECT_THROW(tok->decode({tok->vocabSize()}), Error);
}

TEST_F(SentencePieceTest, DirectoryWithTokenizerModel) {
  TempDir dir;
  std::filesystem::copy_file(modelPath(), dir.path() / "tokenizer.model");
  const auto tok = loadTokenizer(dir.path());
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->encode("the cat"), loadTokenizer(modelPath())->encode("the cat"));
}

TEST(SentencePiece, BadModelFileIsAnError) {
  TempDir dir;
  test::writeFile(dir.path() / "broken.model", "this is not a protobuf");
  try {
    loadTokenizer(dir.path() / "broken.model");
    FAIL() << "expected ranklab::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ranklab::tokenize
