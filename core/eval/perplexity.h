// Perplexity of a causal LM over a text (ALGORITHMS.md section 5).
//
// Protocol: the text is split into documents at `documentSeparator` (default "<|endoftext|>"), each
// stripped of surrounding whitespace; each document is encoded with the tokenizer's BOS in front
// (GPT-2: <|endoftext|>), then cut into non-overlapping windows of `context` tokens (default: the
// model's context, capped at 2048). Every token after the first of a document is predicted exactly once:
// window w feeds tokens [w*C, w*C + C) and predicts [w*C + 1, w*C + C + 1). With `truncate`, documents are
// instead cut to C tokens, as llama2.c-style evaluations do ("cut to the context"). Reported: documents,
// predicted tokens, mean NLL (nats/token), perplexity = exp(mean NLL), and bits per UTF-8 byte.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "api/types.h"
#include "common/progress.h"
#include "models/language_model.h"
#include "tokenize/tokenizer.h"

namespace ranklab::eval {

struct PerplexityOptions {
  std::string documentSeparator = "<|endoftext|>";
  int64_t context = 0;       // window length in tokens; 0 = the model's context, at most 2048
  bool truncate = false;     // true: cut each document to `context` tokens (BOS included) and
                             // predict its context - 1 tokens after the first
  int64_t stride = 0;        // > 0: sliding windows that start `stride` tokens apart, each
                             // scoring only the tokens the previous one did not (Hugging Face's
                             // documented perplexity protocol); at most `context`. 0: windows
                             // that do not overlap
  int64_t batchSize = 8;     // windows per forward pass
  int64_t maxDocuments = 0;  // 0 = all
};

// Throws ranklab::Error for encoders and empty inputs; ranklab::Cancelled when cancelled.
api::PerplexityResult perplexity(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                                 const std::string& text, const PerplexityOptions& options = {},
                                 ProgressSink* progress = nullptr, const CancelToken* cancel = nullptr);

api::PerplexityResult perplexityOfFile(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                                       const std::filesystem::path& file,
                                       const PerplexityOptions& options = {},
                                       ProgressSink* progress = nullptr, const CancelToken* cancel = nullptr);

// The bigram baseline under the same protocol (documents, BOS, tokens predicted; `truncate` and
// `maxDocuments` honoured): every token after the first of a document is predicted from the one before it,
// P(b | a) = (c(a, b) + k P(b)) / (c(a) + k) with P(b) = (c(b) + 1) / (N + V), counts c taken from
// `trainText` split and BOS-prefixed the same way (k: `smoothing`, a Dirichlet prior on the unigram
// distribution). The yardstick a trained model must clearly beat. Throws ranklab::Error for empty texts.
api::PerplexityResult bigramPerplexity(const tokenize::Tokenizer& tokenizer, const std::string& trainText,
                                       const std::string& evalText, const PerplexityOptions& options = {},
                                       double smoothing = 1.0);

// The unigram baseline under the same protocol: every token after the first of a document predicted
// with P(b) = (c(b) + 1) / (N + V) from `trainText`. For a masked LM (which predicts positions drawn
// uniformly) exp of this mean NLL is the yardstick for its masked-token perplexity: a model that has
// learned nothing from context scores no better.
api::PerplexityResult unigramPerplexity(const tokenize::Tokenizer& tokenizer, const std::string& trainText,
                                        const std::string& evalText, const PerplexityOptions& options = {});

}  // namespace ranklab::eval
