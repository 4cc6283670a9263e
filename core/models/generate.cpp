#include "models/generate.h"

#include <torch/torch.h>

#include <random>

#include "common/error.h"

namespace ranklab::models {

GenerateResult generate(LanguageModel& model, const tokenize::Tokenizer& tokenizer, const std::string& prompt,
                        const GenerateOptions& options,
                        const std::function<bool(const std::string&)>& onText) {
  if (!model.isCausal()) throw Error("generation needs a causal language model; this one is an encoder");
  torch::InferenceMode guard;
  GenerateResult result;
  const int64_t bos = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
  if (bos >= 0) result.promptIds.push_back(bos);
  for (auto id : tokenizer.encode(prompt)) result.promptIds.push_back(id);
  if (result.promptIds.empty()) throw Error("generation needs a prompt: the tokenizer has no BOS token");
  const int64_t context = model.config().maxPositions;
  for (auto id : result.promptIds)
    if (id < 0 || id >= model.config().vocabSize)
      throw Error("the prompt's token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                  std::to_string(model.config().vocabSize));
  if (static_cast<int64_t>(result.promptIds.size()) >= context)
    throw Error("the prompt has " + std::to_string(result.promptIds.size()) +
                " tokens, the model context is " + std::to_string(context));

  std::mt19937_64 rng(options.seed);
  KVCache cache;
  const auto device = model.device();
  auto input = torch::tensor(result.promptIds, torch::kLong).unsqueeze(0).to(device);
  int64_t previous = result.promptIds.back();
  for (int64_t step = 0; step < options.steps && cache.length + input.size(1) <= context; ++step) {
    // The head on the last position only: a long prompt never holds [prompt, vocabulary] logits.
    auto logits = model.head(model.forwardHidden(input, &cache).select(1, -1))
                      .squeeze(0)
                      .to(torch::kCPU, torch::kFloat);
    int64_t next = 0;
    if (options.temperature <= 0.0) {
      next = logits.argmax().item<int64_t>();
    } else {
      auto probs = torch::softmax(logits / options.temperature, -1).contiguous();
      const float* p = probs.data_ptr<float>();
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      double r = uniform(rng), cumulative = 0.0;
      next = probs.numel() - 1;
      for (int64_t i = 0; i < probs.numel(); ++i) {
        cumulative += p[i];
        if (r < cumulative) {
          next = i;
          break;
        }
      }
    }
    // As llama2.c does, a BOS ends the text; so does EOS.
    if ((tokenizer.bosId() >= 0 && next == tokenizer.bosId()) ||
        (tokenizer.eosId() >= 0 && next == tokenizer.eosId()))
      break;
    result.generatedIds.push_back(next);
    const std::string piece = tokenizer.decodeNext(previous, next);
    result.text += piece;
    previous = next;
    if (onText && !onText(piece)) break;
    input = torch::tensor({next}, torch::kLong).view({1, 1}).to(device);
  }
  return result;
}

}  // namespace ranklab::models
