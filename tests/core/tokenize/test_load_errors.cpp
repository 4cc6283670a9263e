#include <gtest/gtest.h>

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

// Runs `load`, expects ranklab::Error and checks that its message contains every one of `needles`.
template <typename F>
void expectError(F load, std::initializer_list<const char*> needles) {
  try {
    load();
    ADD_FAILURE() << "expected ranklab::Error";
  } catch (const Error& e) {
    for (const char* needle : needles) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
          << "'" << needle << "' not in: " << e.what();
    }
  }
}

TEST(LoadTokenizer, MissingPath) {
  expectError([] { loadTokenizer("/nonexistent/ranklab/tokenizer.json"); },
              {"/nonexistent/ranklab/tokenizer.json", "does not exist"});
}

TEST(LoadTokenizer, EmptyDirectoryListsWhatWasLookedFor) {
  TempDir dir;
  expectError([&] { loadTokenizer(dir.path()); },
              {"tokenizer.json", "vocab.json + merges.txt", "vocab.txt", "tokenizer.model"});
}

TEST(LoadTokenizer, UnknownExtension) {
  TempDir dir;
  writeFile(dir.path() / "tokenizer.xyz", "data");
  expectError([&] { loadTokenizer(dir.path() / "tokenizer.xyz"); }, {"tokenizer.xyz", "unknown file type"});
}

TEST(LoadTokenizer, MalformedVocabJson) {
  TempDir dir;
  writeFile(dir.path() / "vocab.json", "{\"a\": 0, \"b\": ");
  writeFile(dir.path() / "merges.txt", "#version: 0.2\na b\n");
  expectError([&] { loadTokenizer(dir.path()); }, {"vocab.json", "malformed JSON"});
  writeFile(dir.path() / "vocab.json", "{\"a\": \"zero\"}");
  expectError([&] { loadTokenizer(dir.path()); }, {"vocab.json", "'a'"});
}

TEST(LoadTokenizer, MergesWithUnknownTokens) {
  TempDir dir;
  std::filesystem::copy_file(kGpt2Dir / "vocab.json", dir.path() / "vocab.json");
  writeFile(dir.path() / "merges.txt", "#version: 0.2\n\xC4\xA0 t\nxqzjv t\n");
  expectError([&] { loadTokenizer(dir.path()); },
              {"merges.txt", "merge 2", "'xqzjv'", "not in the vocabulary"});
  writeFile(dir.path() / "merges.txt", "#version: 0.2\nnot-a-pair\n");
  expectError([&] { loadTokenizer(dir.path()); }, {"merges.txt", "merge 1"});
}

TEST(LoadTokenizer, UnsupportedTokenizerJson) {
  TempDir dir;
  writeFile(dir.path() / "tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "Unigram", "tokenizer.model"});
  writeFile(dir.path() / "tokenizer.json", R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
      "pre_tokenizer": {"type": "Metaspace"}})");
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "Metaspace"});
  writeFile(dir.path() / "tokenizer.json", "[1, 2");
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "malformed JSON"});
}

TEST(LoadTokenizer, NotATokenizerBin) {
  TempDir dir;
  writeFile(dir.path() / "tokenizer.bin", std::string("\xff\xff\xff\xff", 4));
  expectError([&] { loadTokenizer(dir.path() / "tokenizer.bin", 10); },
              {"tokenizer.bin", "max_token_length"});
  writeFile(dir.path() / "tiny.bin", std::string("\x01\x00", 2));
  expectError([&] { loadTokenizer(dir.path() / "tiny.bin", 10); }, {"tiny.bin", "truncated"});
}

}  // namespace
}  // namespace ranklab::tokenize
