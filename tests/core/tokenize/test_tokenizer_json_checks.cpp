// Untrusted tokenizer files: ids bounded before any table is sized, wrong-typed JSON fields reported
// with the file name, and tokenizer.json files that are not GPT-2 byte-level BPE (SentencePiece-style
// BPE as Llama-2/Mistral/TinyLlama ship) refused or replaced by the tokenizer.model beside them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tokenize/sentencepiece_tokenizer.h"
#include "tokenize/tokenizer.h"
#include "tokenize_test_util.h"

namespace ranklab::tokenize {
namespace {

using nlohmann::json;
using test::TempDir;
using test::writeFile;

template <typename F>
void expectError(F load, std::initializer_list<std::string> needles) {
  try {
    load();
    ADD_FAILURE() << "expected ranklab::Error";
  } catch (const Error& e) {
    for (const std::string& needle : needles) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
          << "'" << needle << "' not in: " << e.what();
    }
  }
}

std::string utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// GPT-2's 256 byte symbols (bytes_to_unicode), id = position.
std::vector<std::string> byteSymbols() {
  std::vector<std::string> symbols;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool direct = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    symbols.push_back(utf8(direct ? static_cast<char32_t>(b) : next++));
  }
  return symbols;
}

// A minimal BPE tokenizer.json: the 256 byte symbols, one merge, and `extra` merged over the root.
json bpeTokenizerJson(const json& extra) {
  json vocab = json::object();
  const auto symbols = byteSymbols();
  for (size_t i = 0; i < symbols.size(); ++i) vocab[symbols[i]] = i;
  vocab["ab"] = 256;
  json root = {
      {"version", "1.0"},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b"})}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
  };
  if (extra.is_object()) root.merge_patch(extra);  // a null patch would replace the whole document
  return root;
}

// Llama-2 / TinyLlama style: pre_tokenizer null, normalizer Prepend/Replace with U+2581, byte_fallback.
json llamaStyleTokenizerJson() {
  return bpeTokenizerJson(json::parse(R"({
      "pre_tokenizer": null,
      "normalizer": {"type": "Sequence", "normalizers": [
          {"type": "Prepend", "prepend": "\u2581"},
          {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
      "model": {"byte_fallback": true}})"));
}

void trainTinySentencePiece(const std::filesystem::path& dir) {
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "the cat sees a dog near the old house number " + std::to_string(i) + "\n";
  writeFile(dir / "train.txt", text);
  trainSentencePiece("--input=" + (dir / "train.txt").string() +
                     " --model_prefix=" + (dir / "tokenizer").string() +
                     " --vocab_size=60 --model_type=unigram --character_coverage=1.0 --hard_vocab_limit=false"
                     " --num_threads=1 --minloglevel=2");
  std::filesystem::remove(dir / "train.txt");
  std::filesystem::remove(dir / "tokenizer.vocab");
}

// ---- ids bounded before resizing (finding 1) ----

TEST(TokenizerIds, VocabJsonIdOf2Pow31IsRefusedBeforeAllocating) {
  TempDir dir;
  // 2^31 passed the old "> 2^31" check and resized the table to 2^31 + 1 strings (64 GB).
  writeFile(dir.path() / "vocab.json", R"({"a": 2147483648})");
  writeFile(dir.path() / "merges.txt", "#version: 0.2\n");
  expectError([&] { loadTokenizer(dir.path()); },
              {"vocab.json", "'a'", "2147483648", "defines only 1 tokens"});
  // Ids must be dense: 1 entry cannot have id 5.
  writeFile(dir.path() / "vocab.json", R"({"a": 5})");
  expectError([&] { loadTokenizer(dir.path()); }, {"vocab.json", "token 'a' has id 5"});
}

TEST(TokenizerIds, TokenizerJsonVocabIdBeyondEntries) {
  TempDir dir;
  json root = bpeTokenizerJson({});
  root["model"]["vocab"]["ab"] = int64_t{1} << 31;
  writeFile(dir.path() / "tokenizer.json", root.dump());
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "token 'ab' has id 2147483648"});
}

TEST(TokenizerIds, AddedTokenIdBeyondEntries) {
  TempDir dir;
  json root = bpeTokenizerJson({});
  // INT64_MAX made id + 1 overflow; any id past vocab entries + added tokens is refused.
  root["added_tokens"] = json::array({{{"id", INT64_MAX}, {"content", "<|big|>"}, {"special", true}}});
  writeFile(dir.path() / "tokenizer.json", root.dump());
  expectError([&] { loadTokenizer(dir.path()); },
              {"tokenizer.json", "added token '<|big|>'", "9223372036854775807", "defines only 258 tokens"});
  root["added_tokens"] = json::array({{{"id", 1 << 30}, {"content", "<|big|>"}, {"special", true}}});
  writeFile(dir.path() / "tokenizer.json", root.dump());
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "added token '<|big|>'", "1073741824"});
  // The next free id is fine.
  root["added_tokens"] = json::array({{{"id", 257}, {"content", "<|end|>"}, {"special", true}}});
  writeFile(dir.path() / "tokenizer.json", root.dump());
  const auto tok = loadTokenizer(dir.path());
  EXPECT_EQ(tok->vocabSize(), 258);
  EXPECT_EQ(tok->encode("ab<|end|>"), (std::vector<int64_t>{256, 257}));
}

TEST(TokenizerIds, WordPieceTokenizerJsonIdOf2Pow31) {
  TempDir dir;
  writeFile(dir.path() / "tokenizer.json",
            R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 2147483648}}})");
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "token 'a' has id 2147483648"});
}

// ---- SentencePiece-style BPE tokenizer.json (finding 3) ----

TEST(TokenizerJsonKind, SentencePieceStyleBpeIsRefusedWithoutTokenizerModel) {
  TempDir dir;
  // The byte symbols are all there, so this used to load as GPT-2 BPE and give wrong ids.
  writeFile(dir.path() / "tokenizer.json", llamaStyleTokenizerJson().dump());
  expectError([&] { loadTokenizer(dir.path()); },
              {"tokenizer.json: SentencePiece-style BPE (byte_fallback/Metaspace) is not supported; provide "
               "tokenizer.model"});
  // byte_fallback alone, and a Metaspace pre_tokenizer alone (Mistral), are SentencePiece-style too.
  writeFile(dir.path() / "tokenizer.json", bpeTokenizerJson({{"model", {{"byte_fallback", true}}}}).dump());
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "SentencePiece-style BPE"});
  writeFile(dir.path() / "tokenizer.json",
            bpeTokenizerJson({{"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\u2581"}}}}).dump());
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "SentencePiece-style BPE"});
  // No pre_tokenizer at all is not GPT-2 either.
  writeFile(dir.path() / "tokenizer.json", bpeTokenizerJson({{"pre_tokenizer", nullptr}}).dump());
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "without a pre_tokenizer"});
}

TEST(TokenizerJsonKind, ByteLevelInsideSequence) {
  TempDir dir;
  json seq = bpeTokenizerJson({});
  seq["pre_tokenizer"] = {{"type", "Sequence"},
                          {"pretokenizers", json::array({{{"type", "ByteLevel"}, {"use_regex", true}}})}};
  writeFile(dir.path() / "tokenizer.json", seq.dump());
  // "ab" merges; " a" is the byte symbols of ' ' (id 32 here) and 'a' (97).
  EXPECT_EQ(loadTokenizer(dir.path())->encode("ab a"), (std::vector<int64_t>{256, 32, 97}));
  // Llama-3 / Qwen2: their own Split regex, then ByteLevel without its regex: different ids.
  seq["pre_tokenizer"]["pretokenizers"] =
      json::array({{{"type", "Split"}, {"pattern", {{"Regex", "\\p{N}{1,3}"}}}, {"behavior", "Isolated"}},
                   {{"type", "ByteLevel"}, {"use_regex", false}}});
  writeFile(dir.path() / "tokenizer.json", seq.dump());
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "Sequence containing 'Split'"});
  // add_prefix_space true would put a space before the first word.
  writeFile(dir.path() / "tokenizer.json",
            bpeTokenizerJson({{"pre_tokenizer", {{"add_prefix_space", true}}}}).dump());
  expectError([&] { loadTokenizer(dir.path()); }, {"tokenizer.json", "add_prefix_space"});
}

TEST(TokenizerJsonKind, DirectoryFallsBackToTokenizerModel) {
  TempDir dir;
  writeFile(dir.path() / "tokenizer.json", llamaStyleTokenizerJson().dump());
  ASSERT_NO_THROW(trainTinySentencePiece(dir.path()));
  ASSERT_TRUE(std::filesystem::is_regular_file(dir.path() / "tokenizer.model"));
  const auto tok = loadTokenizer(dir.path());
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->encode("the cat"), loadTokenizer(dir.path() / "tokenizer.model")->encode("the cat"));
  // Named directly, the tokenizer.json is still refused (the caller asked for that file).
  expectError([&] { loadTokenizer(dir.path() / "tokenizer.json"); },
              {"tokenizer.json", "SentencePiece-style"});
  // A GPT-2 byte-level tokenizer.json keeps precedence over a tokenizer.model.
  writeFile(dir.path() / "tokenizer.json", bpeTokenizerJson({}).dump());
  EXPECT_EQ(loadTokenizer(dir.path())->kind(), "gpt2-bpe");
  // Unigram tokenizer.json (T5-style) also gives way to tokenizer.model.
  writeFile(dir.path() / "tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  EXPECT_EQ(loadTokenizer(dir.path())->kind(), "sentencepiece");
}

// ---- wrong-typed JSON fields name the file (finding 7) ----

TEST(TokenizerJsonTypes, WrongTypedFieldsGiveErrorNamingTheFile) {
  TempDir dir;
  const auto file = dir.path() / "tokenizer.json";
  writeFile(file, R"({"model": "BPE"})");
  expectError([&] { loadTokenizer(file); }, {"tokenizer.json"});
  writeFile(file, R"({"model": {"type": 5}})");
  expectError([&] { loadTokenizer(file); }, {"tokenizer.json", "model.type is 5"});

  json root = bpeTokenizerJson({});
  root["added_tokens"] = json::array({{{"id", 256}, {"content", "ab"}, {"special", "yes"}}});
  writeFile(file, root.dump());
  expectError([&] { loadTokenizer(file); }, {"tokenizer.json", "\"special\": \"yes\""});

  root = bpeTokenizerJson({{"pre_tokenizer", {{"use_regex", "yes"}}}});
  writeFile(file, root.dump());
  expectError([&] { loadTokenizer(file); }, {"tokenizer.json", "use_regex"});

  root = bpeTokenizerJson({{"model", {{"byte_fallback", "no"}}}});
  writeFile(file, root.dump());
  expectError([&] { loadTokenizer(file); }, {"tokenizer.json", "byte_fallback"});

  writeFile(file, R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}},
      "normalizer": {"type": "BertNormalizer", "lowercase": "yes"}})");
  expectError([&] { loadTokenizer(file); }, {"tokenizer.json", "type must be boolean"});
  writeFile(file, R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}},
      "normalizer": {"type": 7}})");
  expectError([&] { loadTokenizer(file); }, {"tokenizer.json", "type must be string"});
}

// ---- GGUF pre-tokenizer name (finding 4) ----

TEST(MakeGpt2Bpe, PreTokenizerName) {
  std::vector<std::string> table = byteSymbols();
  table.push_back("ab");
  for (const char* ok : {"", "default", "gpt2", "gpt-2"}) {
    SCOPED_TRACE(ok);
    EXPECT_EQ(makeGpt2Bpe(table, {"a b"}, -1, -1, ok)->encode("ab"), (std::vector<int64_t>{256}));
  }
  EXPECT_EQ(makeGpt2Bpe(table, {"a b"}, -1, -1)->encode("ab"), (std::vector<int64_t>{256}))
      << "4-argument call";
  for (const char* bad : {"llama-bpe", "qwen2", "deepseek-llm"}) {
    expectError([&] { makeGpt2Bpe(table, {"a b"}, -1, -1, bad); },
                {std::string("pre-tokenizer '") + bad + "' is not supported (supported: gpt-2, default)"});
  }
}

// ---- SentencePiece sinks never throw across the C boundary (finding 5) ----

TEST(SentencePieceSinks, FailureIsRecordedNotThrown) {
  // A count no vector/string can hold: assign() throws length_error before touching the memory.
  const int one = 1;
  detail::SpmIdSinkContext ids;
  EXPECT_NO_THROW(detail::spmIdSink(&ids, &one, SIZE_MAX / 2));
  EXPECT_TRUE(ids.failed);
  EXPECT_EQ(ids.requested, SIZE_MAX / 2);
  detail::SpmTextSinkContext text;
  EXPECT_NO_THROW(detail::spmTextSink(&text, "x", SIZE_MAX / 2));
  EXPECT_TRUE(text.failed);
  // The normal path stores the output.
  const int three[] = {4, 5, 6};
  detail::SpmIdSinkContext ok;
  detail::spmIdSink(&ok, three, 3);
  EXPECT_FALSE(ok.failed);
  EXPECT_EQ(ok.ids, (std::vector<int64_t>{4, 5, 6}));
  detail::SpmTextSinkContext okText;
  detail::spmTextSink(&okText, "hello", 5);
  EXPECT_FALSE(okText.failed);
  EXPECT_EQ(okText.text, "hello");
}

}  // namespace
}  // namespace ranklab::tokenize
