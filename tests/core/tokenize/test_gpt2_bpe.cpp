#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "test_paths.h"
#include "tokenize/tokenizer.h"
#include "tokenize_test_util.h"

namespace ranklab::tokenize {
namespace {

using test::TempDir;
using test::writeFile;

const std::filesystem::path kGpt2Dir =
    std::filesystem::path(RANKLAB_SOURCE_DIR) / "resources/tokenizers/gpt2";
constexpr int64_t kEndOfText = 50256;

struct ReferenceCase {
  std::string text;
  std::vector<int64_t> ids;
};

std::vector<ReferenceCase> referenceCases() {
  const auto path = std::filesystem::path(RANKLAB_TEST_DATA_DIR) / "gpt2_reference_ids.json";
  const nlohmann::json root = nlohmann::json::parse(test::readFile(path));
  std::vector<ReferenceCase> cases;
  for (const auto& c : root.at("cases")) {
    cases.push_back({c.at("text").get<std::string>(), c.at("ids").get<std::vector<int64_t>>()});
  }
  return cases;
}

const Tokenizer& gpt2() {
  static const std::unique_ptr<Tokenizer> tokenizer = loadTokenizer(kGpt2Dir);
  return *tokenizer;
}

std::string concatDecodeNext(const Tokenizer& tok, const std::vector<int64_t>& ids) {
  std::string out;
  int64_t previous = -1;
  for (int64_t id : ids) {
    out += tok.decodeNext(previous, id);
    previous = id;
  }
  return out;
}

// Writes a Hugging Face tokenizer.json built from the shipped vocab.json + merges.txt.
void writeTokenizerJson(const std::filesystem::path& file, bool mergesAsPairs) {
  nlohmann::json vocab = nlohmann::json::parse(test::readFile(kGpt2Dir / "vocab.json"));
  nlohmann::json merges = nlohmann::json::array();
  std::istringstream lines(test::readFile(kGpt2Dir / "merges.txt"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const size_t space = line.find(' ');
    if (mergesAsPairs) {
      merges.push_back({line.substr(0, space), line.substr(space + 1)});
    } else {
      merges.push_back(line);
    }
  }
  vocab.erase("<|endoftext|>");  // HF keeps it in model.vocab too; the loader must cope with either
  nlohmann::json root = {
      {"version", "1.0"},
      {"added_tokens", {{{"id", kEndOfText}, {"content", "<|endoftext|>"}, {"special", true}}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
  };
  writeFile(file, root.dump());
}

TEST(Gpt2Bpe, LoadsShippedVocabulary) {
  const Tokenizer& tok = gpt2();
  EXPECT_EQ(tok.kind(), "gpt2-bpe");
  EXPECT_EQ(tok.vocabSize(), 50257);
  EXPECT_EQ(tok.bosId(), kEndOfText);
  EXPECT_EQ(tok.eosId(), kEndOfText);
}

TEST(Gpt2Bpe, MatchesReferenceEncoderIds) {
  const auto cases = referenceCases();
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    EXPECT_EQ(gpt2().encode(c.text), c.ids) << "text: " << c.text;
  }
}

TEST(Gpt2Bpe, DecodeInvertsEncode) {
  for (const auto& c : referenceCases()) {
    const auto ids = gpt2().encode(c.text);
    EXPECT_EQ(gpt2().decode(ids), c.text);
    EXPECT_EQ(concatDecodeNext(gpt2(), ids), c.text);
  }
  EXPECT_TRUE(gpt2().encode("").empty());
  EXPECT_EQ(gpt2().decode({}), "");
}

TEST(Gpt2Bpe, ConcurrentEncodeIsConsistent) {
  // A fresh tokenizer so the per-word cache starts empty and is filled by all threads at once.
  const auto tok = loadTokenizer(kGpt2Dir);
  const auto cases = referenceCases();
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (const auto& c : cases) {
          if (tok->encode(c.text) != c.ids) ++mismatches[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(Gpt2Bpe, EndOfTextIsSpecial) {
  const Tokenizer& tok = gpt2();
  std::vector<int64_t> expected = tok.encode("Hello");
  expected.push_back(kEndOfText);
  const auto world = tok.encode(" world");
  expected.insert(expected.end(), world.begin(), world.end());
  EXPECT_EQ(tok.encode("Hello<|endoftext|> world"), expected);
  EXPECT_EQ(tok.encode("<|endoftext|>"), std::vector<int64_t>{kEndOfText});
  // decode drops special tokens (see tokenizer.h).
  EXPECT_EQ(tok.decode(expected), "Hello world");
  // A near miss is ordinary text: "<", "|", "end", "of", "text", "|" as in the reference encoder.
  EXPECT_EQ(tok.encode("<|endoftext|"), (std::vector<int64_t>{27, 91, 437, 1659, 5239, 91}));
}

TEST(Gpt2Bpe, DecodeKeepsPartialUtf8Bytes) {
  const Tokenizer& tok = gpt2();
  const auto ids = tok.encode("\xF0\x9F\x98\x80");  // one emoji, several byte-level tokens
  ASSERT_GT(ids.size(), 1u);
  const std::string first = tok.decode({ids.front()});
  EXPECT_LT(first.size(), 4u);
  EXPECT_EQ(first, std::string("\xF0\x9F\x98\x80").substr(0, first.size()));
  EXPECT_THROW(tok.decode({50257}), Error);
  EXPECT_THROW(tok.decode({-1}), Error);
}

TEST(Gpt2Bpe, RejectsInvalidUtf8) {
  try {
    gpt2().encode("ok \xC3(");
    FAIL() << "expected ranklab::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
}

TEST(Gpt2Bpe, TokenizerJsonMatchesVocabMerges) {
  TempDir dir;
  for (bool pairs : {false, true}) {
    const auto file = dir.path() / (pairs ? "pairs.json" : "tokenizer.json");
    writeTokenizerJson(file, pairs);
    const auto tok = loadTokenizer(file);
    EXPECT_EQ(tok->kind(), "gpt2-bpe");
    EXPECT_EQ(tok->vocabSize(), 50257);
    EXPECT_EQ(tok->eosId(), kEndOfText);
    for (const auto& c : referenceCases()) {
      EXPECT_EQ(tok->encode(c.text), gpt2().encode(c.text))
          << "text: " << c.text << (pairs ? " (pair merges)" : "");
    }
    EXPECT_EQ(tok->encode("a<|endoftext|>b"), gpt2().encode("a<|endoftext|>b"));
  }
  // Directory preference: tokenizer.json wins over vocab.txt.
  std::filesystem::copy_file(std::filesystem::path(RANKLAB_TEST_DATA_DIR) / "wordpiece/vocab.txt",
                             dir.path() / "vocab.txt");
  EXPECT_EQ(loadTokenizer(dir.path())->kind(), "gpt2-bpe");
}

TEST(Gpt2Bpe, BuilderFromTables) {
  // The 256 byte symbols are GPT-2's first 256 ids.
  const nlohmann::json vocab = nlohmann::json::parse(test::readFile(kGpt2Dir / "vocab.json"));
  std::vector<std::string> table(256);
  for (const auto& [token, id] : vocab.items()) {
    if (id.get<int64_t>() < 256) table[id.get<int64_t>()] = token;
  }
  table.push_back("he");       // 256
  table.push_back("hehe");     // 257
  table.push_back("<|end|>");  // 258
  const auto tok = makeGpt2Bpe(table, {"h e", "he he"}, -1, 258);
  EXPECT_EQ(tok->encode("hehe"), (std::vector<int64_t>{257}));
  EXPECT_EQ(tok->encode("heh"), (std::vector<int64_t>{256, 'h' - '!'}));
  EXPECT_EQ(tok->encode("he<|end|>"), (std::vector<int64_t>{256, 258}));
  EXPECT_EQ(tok->decode({257, 258}), "hehe");
  EXPECT_EQ(tok->bosId(), -1);
  EXPECT_EQ(tok->eosId(), 258);
  EXPECT_THROW(makeGpt2Bpe(table, {"h zz"}, -1, -1), Error);
  EXPECT_THROW(makeGpt2Bpe({"a", "b"}, {}, -1, -1), Error);  // no byte alphabet
}

}  // namespace
}  // namespace ranklab::tokenize
