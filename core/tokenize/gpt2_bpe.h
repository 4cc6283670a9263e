// GPT-2 byte-level BPE (internal to core/tokenize; use loadTokenizer / makeGpt2Bpe from tokenizer.h).
//
// Exact OpenAI GPT-2 encoding: PCRE2 pre-tokenisation with the GPT-2 pattern (UTF + UCP), each piece's
// UTF-8 bytes mapped through bytes_to_unicode, then BPE by merge rank. Special tokens (GPT-2's
// "<|endoftext|>", and a tokenizer.json's added_tokens) written literally in the text are encoded as
// their ids, as tiktoken with allowed_special="all" and Hugging Face tokenizers do; OpenAI's original
// encoder.py (and the gpt-3-encoder JS port) would instead split them as ordinary text.
// encode() throws ranklab::Error when the text is not valid UTF-8.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tokenize/tokenizer.h"

namespace ranklab::tokenize {

// vocab.json ({"token": id}) + merges.txt ("a b" per line, an optional "#version" first line).
// "<|endoftext|>", when in the vocabulary, is BOS, EOS and a special token.
std::unique_ptr<Tokenizer> loadGpt2VocabMerges(const std::filesystem::path& vocabJson,
                                               const std::filesystem::path& mergesTxt);

// Why a parsed tokenizer.json BPE model is not GPT-2 byte-level BPE, or "" when it is: the
// pre_tokenizer must be ByteLevel (use_regex true, add_prefix_space false), alone or as the only kind
// of step in a Sequence, and the model must not be SentencePiece-style (byte_fallback true, a Metaspace
// pre_tokenizer, or a normalizer using U+2581 as Llama-2/Mistral/TinyLlama ship), whose message is
// "SentencePiece-style BPE (byte_fallback/Metaspace) is not supported; provide tokenizer.model".
std::string gpt2ByteLevelProblem(const nlohmann::json& root);

// A parsed Hugging Face tokenizer.json whose model.type is "BPE" (byte-level; GPT-2 pre-tokeniser).
// `source` names the file in error messages; a tokenizer_config.json next to it may name bos/eos.
// Throws ranklab::Error "<source>: <gpt2ByteLevelProblem>" for any other BPE, and for ids beyond the
// number of tokens the file defines (vocab entries + added_tokens).
std::unique_ptr<Tokenizer> loadGpt2TokenizerJson(const nlohmann::json& root,
                                                 const std::filesystem::path& source);

// Ids of the special roles beyond BOS/EOS (-1: none). RoBERTa-style byte-level BPE (and RankLab's
// own encoder tokenizer) names them in special_tokens_map.json / tokenizer_config.json.
struct Gpt2Roles {
  int64_t pad = -1, mask = -1, unk = -1, cls = -1, sep = -1;
};

// makeGpt2Bpe with added tokens (text -> id) that encode() matches literally: `specials` are dropped by
// decode() (like BOS/EOS), `plainAdded` decode to their text. Role tokens are specials too.
std::unique_ptr<Tokenizer> makeGpt2BpeWithSpecials(std::vector<std::string> idToToken,
                                                   std::vector<std::string> merges, int64_t bosId,
                                                   int64_t eosId,
                                                   std::vector<std::pair<std::string, int64_t>> specials,
                                                   std::vector<std::pair<std::string, int64_t>> plainAdded,
                                                   const std::string& source, const Gpt2Roles& roles = {});

}  // namespace ranklab::tokenize
