// Training a GPT-2-format byte-level BPE tokenizer (issue 3: RankLab's own tokenizer for its demo
// models). Torch-free.
//
// Text is split into documents at `documentSeparator` (the separator never becomes part of a
// token), documents into GPT-2 pre-tokens (the same PCRE2 pattern as the encoder), pre-tokens into
// bytes. Starting from the 256 byte symbols, the most frequent adjacent pair over all pre-tokens
// (weighted by how often each pre-token occurs) is merged into a new symbol, repeatedly, until the
// vocabulary reaches `vocabSize` (256 bytes + merges + "<|endoftext|>") or no pair occurs
// `minFrequency` times. Ties go to the pair of smaller ids (the earlier-created symbols), so the
// result is a pure function of the text and the options.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/progress.h"

namespace ranklab::tokenize {

struct BpeTrainOptions {
  int64_t vocabSize = 8192;  // total, including the 256 byte symbols and <|endoftext|>
  int64_t minFrequency = 2;  // pairs seen fewer times are not merged
  std::string documentSeparator = "<|endoftext|>";
  // Extra special tokens for encoders (masked-LM pretraining, padded batches), appended after
  // <|endoftext|> and counted in vocabSize; empty = none. RoBERTa spells them "<pad>" and "<mask>".
  std::string padToken;
  std::string maskToken;
};

struct BpeVocabulary {
  // GPT-2 layout: ids 0..255 are the byte symbols in GPT-2's order (printable bytes first), then one
  // id per merge in merge order, then "<|endoftext|>". Tokens are written in GPT-2's byte-to-unicode
  // alphabet, as vocab.json stores them.
  std::vector<std::string> idToToken;
  std::vector<std::string> merges;  // "left right", in merge order
  int64_t endOfTextId = -1;
  int64_t padId = -1;   // when BpeTrainOptions::padToken was given
  int64_t maskId = -1;  // when BpeTrainOptions::maskToken was given
  int64_t pieces = 0;   // pre-tokens seen in the training text
  int64_t distinctPieces = 0;
};

// Throws ranklab::Error for a vocabSize below 257 plus the extra specials, pad/mask tokens that are equal or
// "<|endoftext|>", invalid UTF-8 (naming the document and byte) or an
// empty text; ranklab::Cancelled when cancelled. Progress phase "bpe-train", one unit per merge.
BpeVocabulary trainByteLevelBpe(const std::vector<std::string>& texts, const BpeTrainOptions& options,
                                ProgressSink* progress = nullptr, const CancelToken* cancel = nullptr);

// Writes vocab.json ({"token": id}), merges.txt ("#version: 0.2" then one merge per line) and
// special_tokens_map.json (bos/eos/unk "<|endoftext|>", plus pad_token/mask_token when present) and
// tokenizer_config.json (tokenizer_class GPT2Tokenizer and the same tokens) into `dir` (created), each
// atomically: the files loadTokenizer (and transformers' AutoTokenizer) read as a GPT-2 BPE tokenizer.
void writeGpt2VocabMerges(const BpeVocabulary& vocabulary, const std::filesystem::path& dir);

}  // namespace ranklab::tokenize
