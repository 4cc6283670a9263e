// Zero-shot multiple-choice accuracy of a causal LM, scored as lm-evaluation-harness scores
// `output_type: multiple_choice` tasks (README "Multiple-choice accuracy").
//
// Each choice is a request (context, continuation). Tokenisation as the harness's _encode_pair:
// whitespace ending the context moves to the front of the continuation; the continuation's tokens
// are those of encode(context + continuation) beyond encode(context)'s; an empty context is the
// single token BOS (EOS when the tokenizer has none). No BOS in front otherwise. The request's score is
// the summed log-probability of its continuation tokens, each given everything before it; when context
// plus continuation exceed the model's window, the context is cut from the left as the harness does
// (the last window + 1 tokens, the last one not fed).
//
// acc: the choice with the largest sum is right (the first of equal sums). acc_norm: the same with
// every sum divided by its choice's length in characters. Both with the standard error of the mean
// (sample standard deviation / sqrt(items)). Chance: the mean of 1 / choices.
//
// Batched: an item's choices that share a context run as one batch after that context, which runs
// once (into a key/value cache, a chunk of at most `prefixChunk` tokens per forward) instead of once
// per choice.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/choices.h"
#include "models/language_model.h"
#include "tokenize/tokenizer.h"

namespace ranklab::eval {

struct ChoiceOptions {
  int64_t prefixChunk = 512;  // context tokens per forward into the cache
};

struct ChoiceScore {
  int64_t items = 0;
  double acc = 0.0, accStderr = 0.0;  // stderr NaN below two items
  double accNorm = 0.0, accNormStderr = 0.0;
  double chance = 0.0;  // mean of 1 / choices
};

struct ChoiceResult {
  ChoiceScore all;
  // One per task when the items name more than one (in the order first seen); empty otherwise.
  std::vector<std::pair<std::string, ChoiceScore>> tasks;
  int64_t truncated = 0;  // requests whose context was cut to fit the model's window
};

// Per item, per choice: the summed log-likelihood of the continuation (nats). Throws ranklab::Error
// for encoders, token ids outside the vocabulary, a continuation that tokenises to nothing or is
// longer than the window (naming the item's line); ranklab::Cancelled when cancelled.
std::vector<std::vector<double>> choiceLogLikelihoods(
    models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
    const std::vector<data::ChoiceItem>& items, const ChoiceOptions& options = {},
    ProgressSink* progress = nullptr, const CancelToken* cancel = nullptr, int64_t* truncated = nullptr);

// acc and acc_norm of given log-likelihoods (one vector per item, one value per choice).
ChoiceResult scoreChoices(const std::vector<data::ChoiceItem>& items,
                          const std::vector<std::vector<double>>& logLikelihoods);

ChoiceResult multipleChoice(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                            const std::vector<data::ChoiceItem>& items, const ChoiceOptions& options = {},
                            ProgressSink* progress = nullptr, const CancelToken* cancel = nullptr);

}  // namespace ranklab::eval
