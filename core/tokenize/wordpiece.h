// BERT WordPiece (internal to core/tokenize; use loadTokenizer from tokenizer.h).
//
// encode(): the literal special tokens [CLS] [SEP] [PAD] [UNK] [MASK] in the text map to their ids (as
// Hugging Face does); the rest goes through BERT's BasicTokenizer (drop NUL, U+FFFD, invalid UTF-8 and
// control characters; whitespace -> space; spaces around CJK ideographs; split on whitespace; when
// lower-casing, lower-case and strip accents (NFD, drop Mn); split off punctuation: ASCII
// !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ and Unicode P*), then greedy longest-match-first WordPiece with
// "##" continuations; a word longer than 100 characters or with no match becomes [UNK].
// decode(): drops [CLS]/[SEP]/[PAD], joins with spaces and glues "##" pieces to the previous word
// (no Hugging Face clean_up_tokenization_spaces).
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "tokenize/tokenizer.h"

namespace ranklab::tokenize {

// vocab.txt (one token per line, id = line number from 0). Lower-casing comes from
// "do_lower_case" (and "strip_accents") in a tokenizer_config.json next to it when present; otherwise
// the vocabulary is taken as uncased unless some entry starts with an upper-case letter.
std::unique_ptr<Tokenizer> loadWordPieceVocab(const std::filesystem::path& vocabTxt);

// A parsed Hugging Face tokenizer.json whose model.type is "WordPiece"; lower-casing from a
// BertNormalizer when present, else guessed from the vocabulary.
std::unique_ptr<Tokenizer> loadWordPieceTokenizerJson(const nlohmann::json& root,
                                                      const std::filesystem::path& source);

}  // namespace ranklab::tokenize
