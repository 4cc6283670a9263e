// Sequence-classification accuracy of an encoder with a classification head over a labelled set.
// Inputs are encoded BERT-style: [CLS] text [SEP] (text_pair [SEP]), truncated to the model context.
#pragma once

#include <filesystem>
#include <vector>

#include "api/types.h"
#include "common/progress.h"
#include "data/corpus.h"
#include "models/language_model.h"
#include "tokenize/tokenizer.h"

namespace ranklab::eval {

struct ClassificationOptions {
  int64_t batchSize = 16;
  int64_t maxLength = 0;  // 0 = the model's context
};

// BERT-style ids of one example: [CLS] text [SEP] (text_pair [SEP]), cut to `maxLength` with [SEP]
// kept last. Throws ranklab::Error when an id is outside [0, vocab).
std::vector<int64_t> encodeExample(const tokenize::Tokenizer& tokenizer, const data::LabelledExample& example,
                                   int64_t maxLength, int64_t vocab);

// Throws ranklab::Error for models without a classifier or labels outside its range.
api::AccuracyResult accuracy(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                             const std::vector<data::LabelledExample>& examples,
                             const ClassificationOptions& options = {}, ProgressSink* progress = nullptr,
                             const CancelToken* cancel = nullptr);

api::AccuracyResult accuracyOfFile(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                                   const std::filesystem::path& file,
                                   const ClassificationOptions& options = {},
                                   ProgressSink* progress = nullptr, const CancelToken* cancel = nullptr);

}  // namespace ranklab::eval
