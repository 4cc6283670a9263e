// Tokenizers: GPT-2 byte-level BPE (vocab.json + merges.txt, or tokenizer.json), SentencePiece
// (.model via libsentencepiece), WordPiece (BERT vocab.txt, uncased or cased), llama2.c
// tokenizer.bin, and tokenizers embedded in GGUF files (tokenizer.ggml.*). Torch-free.
// Thread-safety: encode/decode are const and safe to call concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ranklab::tokenize {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text -> ids with no special tokens added (no BOS/EOS/CLS/SEP). SentencePiece-style tokenizers
  // (SentencePiece, llama2.c, GGUF llama) include their dummy-prefix space as their originals do.
  // Special tokens written literally in the text ("<|endoftext|>" for GPT-2, "[CLS]", "[SEP]", "[MASK]"
  // ... for WordPiece, tokenizer.json added_tokens) are encoded as their ids, as Hugging Face and
  // tiktoken (allowed_special="all") do; OpenAI's original GPT-2 encoder would split them as text.
  // GPT-2 BPE throws ranklab::Error for text that is not valid UTF-8; WordPiece drops invalid bytes
  // (BERT's clean-up removes U+FFFD); llama2.c-style tokenizers encode them as byte pieces.
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  // Ids -> text. Special tokens (BOS/EOS/CLS/SEP/PAD) are dropped; byte tokens become bytes; the
  // dummy-prefix space at the start is removed as the original decoders do. GPT-2 keeps bytes that
  // are not valid UTF-8 on their own (a token may hold part of a character). Throws ranklab::Error
  // for an id outside [0, vocabSize()).
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  // The text token `id` adds when it follows `previous` in a stream (for streaming generation);
  // concatenating these from the first id reproduces decode(ids).
  virtual std::string decodeNext(int64_t previous, int64_t id) const = 0;

  virtual int64_t vocabSize() const = 0;
  virtual std::string kind() const = 0;  // "gpt2-bpe", "sentencepiece", "wordpiece", "llama2c", ...

  // Special ids, or -1 when the tokenizer has none.
  virtual int64_t bosId() const { return -1; }
  virtual int64_t eosId() const { return -1; }
  virtual int64_t padId() const { return -1; }
  virtual int64_t unkId() const { return -1; }
  virtual int64_t clsId() const { return -1; }
  virtual int64_t sepId() const { return -1; }
  virtual int64_t maskId() const { return -1; }
};

// `path` is a directory (tokenizer.json, vocab.json + merges.txt, vocab.txt, tokenizer.model or
// tokenizer.bin inside, in that order of preference) or a file (.json tokenizer.json, or a GPT-2
// vocab.json with merges.txt beside it; .model SentencePiece; .txt WordPiece vocab, or merges.txt
// with vocab.json beside it; .bin llama2.c tokenizer). The returned tokenizer is immutable and
// independent of the files. In a directory, a tokenizer.json that only SentencePiece reproduces
// (Unigram, or SentencePiece-style BPE with byte_fallback/Metaspace, as Llama-2, Mistral and TinyLlama
// ship next to their tokenizer.model) gives way to tokenizer.model when that file is present; without
// it, or when such a tokenizer.json is named directly, loading throws. `vocabSizeHint` is used by
// formats that do not store their size (llama2.c). Throws ranklab::Error naming the path and the problem.
std::unique_ptr<Tokenizer> loadTokenizer(const std::filesystem::path& path, int64_t vocabSizeHint = -1);

}  // namespace ranklab::tokenize

namespace ranklab::tokenize {

// Builders for tokenizers whose tables come from elsewhere (GGUF metadata, converters).
// SentencePiece-style scored pieces as in llama2.c: a dummy-prefix space, UTF-8 characters looked
// up (byte fallback to "<0xXX>" pieces), then greedy merging of the adjacent pair whose merged piece
// has the highest score (the leftmost pair among equal scores). `pieces` use a plain space; U+2581
// (SentencePiece's and GGUF llama's space marker) is also accepted and converted to a space here.
// Byte fallback uses the "<0xXX>" piece when the table has one, else id byte + 3 (llama2.c's rule).
// kind() is "scored-pieces" (loadTokenizer's llama2.c tokenizers report "llama2c"). Throws
// ranklab::Error when pieces and scores differ in length or a special id is outside the table.
std::unique_ptr<Tokenizer> makeScoredPieceTokenizer(std::vector<std::string> pieces,
                                                    std::vector<float> scores, int64_t bosId, int64_t eosId,
                                                    int64_t unkId);
// The same with the kind() string to report (e.g. "gguf-llama").
std::unique_ptr<Tokenizer> makeScoredPieceTokenizer(std::vector<std::string> pieces,
                                                    std::vector<float> scores, int64_t bosId, int64_t eosId,
                                                    int64_t unkId, const std::string& kind);
// A byte-level scored-piece tokenizer: <unk> = 0, BOS <s> = 1, EOS </s> = 2, then the 256 byte pieces
// "<0x00>".."<0xFF>" (ids 3..258). Needs no files: the demo job's and tests' tokenizer for models
// built on the spot. kind() is "bytes".
std::unique_ptr<Tokenizer> makeByteTokenizer();

// GPT-2 byte-level BPE from its id -> token table (byte-to-unicode alphabet) and merge list ("a b").
// The tokens at bosId/eosId (when >= 0) are special: matched literally by encode(), dropped by decode().
// Throws ranklab::Error when a merge names a token (or produces one) that is not in the table, or the
// table lacks one of the 256 byte symbols.
// `preTokenizer` names the pre-tokenizer the tables were made for (GGUF tokenizer.ggml.pre). Only
// GPT-2's regex is implemented: "", "default", "gpt2" and "gpt-2" are accepted; anything else
// (Llama-3's "llama-bpe", "qwen2", ...) throws ranklab::Error "pre-tokenizer 'llama-bpe' is not
// supported (supported: gpt-2, default)" before any table is built, as its ids would differ.
std::unique_ptr<Tokenizer> makeGpt2Bpe(std::vector<std::string> idToToken, std::vector<std::string> merges,
                                       int64_t bosId, int64_t eosId,
                                       const std::string& preTokenizer = "gpt-2");

}  // namespace ranklab::tokenize
