// Text generation with a KV cache: greedy at temperature 0, else sampling from softmax(logits / T)
// with a seeded generator (same seed, same text, on any device).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/language_model.h"
#include "tokenize/tokenizer.h"

namespace ranklab::models {

struct GenerateOptions {
  int64_t steps = 256;  // new tokens to generate (fewer if the model emits BOS/EOS or fills its context)
  double temperature = 0.0;
  uint64_t seed = 0;
};

struct GenerateResult {
  std::vector<int64_t> promptIds;     // BOS + encoded prompt
  std::vector<int64_t> generatedIds;  // new tokens only
  std::string text;                   // decoded new tokens (the prompt is not repeated)
};

// `onText` receives each new piece of text as it is produced; returning false stops generation.
// Throws ranklab::Error for encoders (BERT) and for prompts longer than the context.
GenerateResult generate(LanguageModel& model, const tokenize::Tokenizer& tokenizer, const std::string& prompt,
                        const GenerateOptions& options,
                        const std::function<bool(const std::string&)>& onText = {});

}  // namespace ranklab::models
