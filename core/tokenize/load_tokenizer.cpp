#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tokenize/gpt2_bpe.h"
#include "tokenize/scored_piece.h"
#include "tokenize/sentencepiece_tokenizer.h"
#include "tokenize/tokenizer.h"
#include "tokenize/tokenizer_util.h"
#include "tokenize/wordpiece.h"

namespace ranklab::tokenize {
namespace {

namespace fs = std::filesystem;

bool isFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// `spmFallback`, when not null, is the tokenizer.model beside a tokenizer.json in a model directory:
// it is loaded instead when the tokenizer.json is a kind only SentencePiece reproduces (Unigram, or
// SentencePiece-style BPE with byte_fallback/Metaspace as Llama-2, Mistral and TinyLlama ship).
std::unique_ptr<Tokenizer> loadTokenizerJson(const fs::path& path, const fs::path* spmFallback = nullptr) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(detail::readFile(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": malformed JSON: " + e.what());
  }
  if (!root.is_object()) {
    throw Error(path.string() + ": not a tokenizer.json (the top level is not a JSON object)");
  }
  // Fields of the wrong type (read with value()/get<>) throw nlohmann exceptions; name the file.
  try {
    if (!root.contains("model") || !root["model"].is_object()) {
      // A flat {"token": id} object is a GPT-2 vocab.json; it needs its merges.txt.
      const fs::path merges = path.parent_path() / "merges.txt";
      if (isFile(merges)) {
        return loadGpt2VocabMerges(path, merges);
      }
      throw Error(path.string() +
                  ": not a tokenizer.json (no \"model\" object) and no merges.txt next to it");
    }
    const nlohmann::json typeJson = root["model"].value("type", nlohmann::json());
    if (!typeJson.is_string()) {
      throw Error(path.string() + ": model.type is " +
                  (typeJson.is_null() ? std::string("missing") : typeJson.dump()) +
                  ", expected a string such as \"BPE\" or \"WordPiece\"");
    }
    const std::string type = typeJson.get<std::string>();
    if (type == "BPE") {
      if (spmFallback && !gpt2ByteLevelProblem(root).empty()) {
        return loadSentencePieceModel(*spmFallback);
      }
      return loadGpt2TokenizerJson(root, path);
    }
    if (type == "WordPiece") {
      return loadWordPieceTokenizerJson(root, path);
    }
    if (type == "Unigram") {
      if (spmFallback) {
        return loadSentencePieceModel(*spmFallback);
      }
      throw Error(path.string() +
                  ": Unigram tokenizer.json is not supported; load the tokenizer.model "
                  "(SentencePiece) file instead");
    }
    throw Error(path.string() + ": model.type '" + type + "' is not supported (supported: BPE, WordPiece)");
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

std::unique_ptr<Tokenizer> loadFile(const fs::path& path, int64_t vocabSizeHint) {
  const std::string ext = path.extension().string();
  const std::string name = path.filename().string();
  if (ext == ".json") {
    return loadTokenizerJson(path);
  }
  if (ext == ".txt") {
    if (name == "merges.txt" && isFile(path.parent_path() / "vocab.json")) {
      return loadGpt2VocabMerges(path.parent_path() / "vocab.json", path);
    }
    return loadWordPieceVocab(path);
  }
  if (ext == ".model") {
    return loadSentencePieceModel(path);
  }
  if (ext == ".bin") {
    return loadLlama2cTokenizer(path, vocabSizeHint);
  }
  throw Error("loading tokenizer " + path.string() + ": unknown file type '" + ext +
              "' (expected .json tokenizer.json or vocab.json, .txt WordPiece vocab, .model SentencePiece, "
              ".bin llama2.c tokenizer)");
}

}  // namespace

std::unique_ptr<Tokenizer> loadTokenizer(const std::filesystem::path& path, int64_t vocabSizeHint) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw Error("loading tokenizer: " + path.string() + " does not exist");
  }
  if (!fs::is_directory(path, ec)) {
    return loadFile(path, vocabSizeHint);
  }
  if (isFile(path / "tokenizer.json")) {
    const fs::path spmModel = path / "tokenizer.model";
    return loadTokenizerJson(path / "tokenizer.json", isFile(spmModel) ? &spmModel : nullptr);
  }
  if (isFile(path / "vocab.json") && isFile(path / "merges.txt")) {
    return loadGpt2VocabMerges(path / "vocab.json", path / "merges.txt");
  }
  if (isFile(path / "vocab.txt")) {
    return loadWordPieceVocab(path / "vocab.txt");
  }
  if (isFile(path / "tokenizer.model")) {
    return loadSentencePieceModel(path / "tokenizer.model");
  }
  if (isFile(path / "tokenizer.bin")) {
    return loadLlama2cTokenizer(path / "tokenizer.bin", vocabSizeHint);
  }
  throw Error(
      "loading tokenizer from directory " + path.string() +
      ": found none of tokenizer.json, vocab.json + merges.txt, vocab.txt, tokenizer.model, tokenizer.bin");
}

}  // namespace ranklab::tokenize
