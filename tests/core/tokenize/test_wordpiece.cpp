#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "test_paths.h"
#include "tokenize/tokenizer.h"
#include "tokenize_test_util.h"

namespace ranklab::tokenize {
namespace {

using test::TempDir;
using test::writeFile;
using Ids = std::vector<int64_t>;

// Ids in tests/data/wordpiece/vocab.txt (id = line number - 1).
enum : int64_t {
  kPad,
  kUnk,
  kCls,
  kSep,
  kMask,
  kHello,
  kWorld,
  kComma,
  kBang,
  kDot,
  kQuestion,
  kCafe,
  kNaive,
  kUn,
  kWantCont,
  kEdCont,
  kWant,
  kRunn,
  kIngCont,
  kZhong,
  kWen,
  kThe,
  kApostrophe,
  kS,
  kA,
  kBCont,
  kDollar,
  kFive,
  kInvertedQuestion,
  kDash,
  kSCont,
  kState,
  kOf,
  kArt,
  kResume,
  kLParen,
  kRParen
};

const std::filesystem::path kVocab = std::filesystem::path(RANKLAB_TEST_DATA_DIR) / "wordpiece/vocab.txt";

const Tokenizer& uncased() {
  static const std::unique_ptr<Tokenizer> tokenizer = loadTokenizer(kVocab);
  return *tokenizer;
}

TEST(WordPiece, SpecialIds) {
  const Tokenizer& tok = uncased();
  EXPECT_EQ(tok.kind(), "wordpiece");
  EXPECT_EQ(tok.vocabSize(), 37);
  EXPECT_EQ(tok.padId(), kPad);
  EXPECT_EQ(tok.unkId(), kUnk);
  EXPECT_EQ(tok.clsId(), kCls);
  EXPECT_EQ(tok.sepId(), kSep);
  EXPECT_EQ(tok.maskId(), kMask);
  EXPECT_EQ(tok.bosId(), -1);
}

TEST(WordPiece, LowercasesAndStripsAccentsWhenUncased) {
  const Tokenizer& tok = uncased();  // no tokenizer_config.json; an all-lower-case vocabulary -> uncased
  EXPECT_EQ(tok.encode("Hello, World!"), (Ids{kHello, kComma, kWorld, kBang}));
  EXPECT_EQ(tok.encode("Café NAÏVE Résumé"), (Ids{kCafe, kNaive, kResume}));
  // Decomposed input (e + combining acute) strips the same way.
  EXPECT_EQ(tok.encode("cafe\xCC\x81"), (Ids{kCafe}));
}

TEST(WordPiece, SplitsPunctuation) {
  const Tokenizer& tok = uncased();
  EXPECT_EQ(tok.encode("state-of-the-art"), (Ids{kState, kDash, kOf, kDash, kThe, kDash, kArt}));
  EXPECT_EQ(tok.encode("the world's"), (Ids{kThe, kWorld, kApostrophe, kS}));
  EXPECT_EQ(tok.encode("$5"), (Ids{kDollar, kFive}));  // "$" is ASCII punctuation to BERT (Unicode Sc)
  EXPECT_EQ(tok.encode("¿hello?"), (Ids{kInvertedQuestion, kHello, kQuestion}));  // Unicode Po
  EXPECT_EQ(tok.encode("(hello)."), (Ids{kLParen, kHello, kRParen, kDot}));
}

TEST(WordPiece, CjkCharactersAreSeparateWords) {
  const Tokenizer& tok = uncased();
  EXPECT_EQ(tok.encode("中文"), (Ids{kZhong, kWen}));
  EXPECT_EQ(tok.encode("hello中文world"), (Ids{kHello, kZhong, kWen, kWorld}));
}

TEST(WordPiece, ContinuationPieces) {
  const Tokenizer& tok = uncased();
  EXPECT_EQ(tok.encode("unwanted running"), (Ids{kUn, kWantCont, kEdCont, kRunn, kIngCont}));
  EXPECT_EQ(tok.encode("wants"), (Ids{kWant, kSCont}));
}

TEST(WordPiece, UnknownAndTooLongWords) {
  const Tokenizer& tok = uncased();
  EXPECT_EQ(tok.encode("xyz"), (Ids{kUnk}));
  EXPECT_EQ(tok.encode("hellox world"), (Ids{kUnk, kWorld}));  // no "##x": the whole word is [UNK]
  const std::string word100 = "a" + std::string(99, 'b');
  Ids expected{kA};
  expected.insert(expected.end(), 99, kBCont);
  EXPECT_EQ(tok.encode(word100), expected);
  EXPECT_EQ(tok.encode(word100 + "b"), (Ids{kUnk}));  // 101 characters > 100
}

TEST(WordPiece, CleansControlCharactersAndWhitespace) {
  const Tokenizer& tok = uncased();
  EXPECT_EQ(tok.encode("hello\x01\tworld\n"), (Ids{kHello, kWorld}));
  EXPECT_EQ(tok.encode("  hello \xC2\xA0 world  "), (Ids{kHello, kWorld}));  // NBSP is Zs
  EXPECT_EQ(tok.encode("hel\xE2\x80\x8Blo"), (Ids{kHello}));                 // ZWSP is Cf: dropped
  EXPECT_TRUE(tok.encode("").empty());
}

TEST(WordPiece, LiteralSpecialTokens) {
  EXPECT_EQ(uncased().encode("[CLS] hello [SEP]"), (Ids{kCls, kHello, kSep}));
  EXPECT_EQ(uncased().encode("hello [MASK]!"), (Ids{kHello, kMask, kBang}));
}

TEST(WordPiece, DecodeJoinsAndGlues) {
  const Tokenizer& tok = uncased();
  const Ids ids{kCls, kUn, kWantCont, kEdCont, kRunn, kIngCont, kComma, kHello, kSep, kPad};
  EXPECT_EQ(tok.decode(ids), "unwanted running , hello");
  std::string streamed;
  int64_t previous = -1;
  for (int64_t id : ids) {
    streamed += tok.decodeNext(previous, id);
    previous = id;
  }
  EXPECT_EQ(streamed, tok.decode(ids));
  EXPECT_EQ(tok.decode({kUnk, kMask}), "[UNK] [MASK]");
  EXPECT_THROW(tok.decode({37}), Error);
}

TEST(WordPiece, CasedFromTokenizerConfigOrGuess) {
  TempDir dir;
  writeFile(dir.path() / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nHello\nhello\nCafé\ncafe\n");
  // Guess: "Hello" starts with an upper-case letter -> cased, accents kept.
  auto cased = loadTokenizer(dir.path());
  EXPECT_EQ(cased->encode("Hello hello Café"), (Ids{5, 6, 7}));
  // tokenizer_config.json overrides the guess.
  writeFile(dir.path() / "tokenizer_config.json", R"({"do_lower_case": true})");
  auto lowered = loadTokenizer(dir.path() / "vocab.txt");
  EXPECT_EQ(lowered->encode("Hello hello Café"), (Ids{6, 6, 8}));
  writeFile(dir.path() / "tokenizer_config.json", R"({"do_lower_case": false})");
  EXPECT_EQ(loadTokenizer(dir.path())->encode("Hello Café"), (Ids{5, 7}));
}

TEST(WordPiece, TokenizerJson) {
  TempDir dir;
  nlohmann::json vocab = nlohmann::json::object();
  std::istringstream lines(test::readFile(kVocab));
  std::string line;
  for (int64_t id = 0; std::getline(lines, line); ++id) vocab[line] = id;
  const nlohmann::json root = {
      {"normalizer", {{"type", "BertNormalizer"}, {"lowercase", true}, {"strip_accents", nullptr}}},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", "[UNK]"},
        {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 100},
        {"vocab", vocab}}},
  };
  writeFile(dir.path() / "tokenizer.json", root.dump());
  const auto tok = loadTokenizer(dir.path());
  EXPECT_EQ(tok->kind(), "wordpiece");
  for (const char* text : {"Hello, World!", "Café NAÏVE", "unwanted running", "hello中文world", "xyz"}) {
    EXPECT_EQ(tok->encode(text), uncased().encode(text)) << text;
  }
}

TEST(WordPiece, VocabWithoutUnkIsRejected) {
  TempDir dir;
  writeFile(dir.path() / "vocab.txt", "hello\nworld\n");
  try {
    loadTokenizer(dir.path() / "vocab.txt");
    FAIL() << "expected ranklab::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab.txt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[UNK]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ranklab::tokenize
