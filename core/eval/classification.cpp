#include "eval/classification.h"

#include <torch/torch.h>

#include "common/error.h"

namespace ranklab::eval {

std::vector<int64_t> encodeExample(const tokenize::Tokenizer& tokenizer, const data::LabelledExample& example,
                                   int64_t maxLength, int64_t vocab) {
  const int64_t cls = tokenizer.clsId() >= 0 ? tokenizer.clsId() : tokenizer.bosId();
  const int64_t sep = tokenizer.sepId() >= 0 ? tokenizer.sepId() : tokenizer.eosId();
  std::vector<int64_t> ids;
  if (cls >= 0) ids.push_back(cls);
  for (auto id : tokenizer.encode(example.text)) ids.push_back(id);
  if (sep >= 0) ids.push_back(sep);
  if (!example.textPair.empty()) {
    for (auto id : tokenizer.encode(example.textPair)) ids.push_back(id);
    if (sep >= 0) ids.push_back(sep);
  }
  if (static_cast<int64_t>(ids.size()) > maxLength) {
    ids.resize(static_cast<size_t>(maxLength));
    if (sep >= 0) ids.back() = sep;
  }
  for (auto id : ids)
    if (id < 0 || id >= vocab)
      throw Error("token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                  std::to_string(vocab));
  return ids;
}

api::AccuracyResult accuracy(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                             const std::vector<data::LabelledExample>& examples,
                             const ClassificationOptions& options, ProgressSink* progress,
                             const CancelToken* cancel) {
  if (!model.hasClassifier()) throw Error("accuracy needs a model with a sequence-classification head");
  const auto& c = model.config();
  const int64_t maxLen = options.maxLength > 0 ? std::min(options.maxLength, c.maxPositions) : c.maxPositions;
  const int64_t pad = std::max<int64_t>(0, tokenizer.padId());
  torch::InferenceMode guard;
  const auto device = model.device();
  api::AccuracyResult result;
  const size_t batch = static_cast<size_t>(std::max<int64_t>(1, options.batchSize));
  for (size_t i = 0; i < examples.size(); i += batch) {
    if (cancel) cancel->check();
    const size_t n = std::min(batch, examples.size() - i);
    std::vector<std::vector<int64_t>> encoded;
    int64_t len = 0;
    for (size_t b = 0; b < n; ++b) {
      const auto& ex = examples[i + b];
      if (ex.label < 0 || ex.label >= c.numLabels)
        throw Error("example " + std::to_string(i + b + 1) + ": label " + std::to_string(ex.label) +
                    " is outside the model's " + std::to_string(c.numLabels) + " labels");
      std::vector<int64_t> ids;
      try {
        ids = encodeExample(tokenizer, ex, maxLen, c.vocabSize);
      } catch (const Error& e) {
        throw Error("example " + std::to_string(i + b + 1) + ": " + e.what());
      }
      len = std::max<int64_t>(len, static_cast<int64_t>(ids.size()));
      encoded.push_back(std::move(ids));
    }
    auto input = torch::full({static_cast<int64_t>(n), len}, pad, torch::kLong);
    auto mask = torch::zeros({static_cast<int64_t>(n), len}, torch::kLong);
    for (size_t b = 0; b < n; ++b) {
      const auto l = static_cast<int64_t>(encoded[b].size());
      input[b].narrow(0, 0, l).copy_(torch::tensor(encoded[b], torch::kLong));
      mask[b].narrow(0, 0, l).fill_(1);
    }
    auto predicted = model.classify(input.to(device), mask.to(device)).argmax(-1).to(torch::kCPU);
    for (size_t b = 0; b < n; ++b)
      if (predicted[b].item<int64_t>() == examples[i + b].label) ++result.correct;
    result.examples += static_cast<int64_t>(n);
    if (progress) progress->progress("accuracy", result.examples, static_cast<long long>(examples.size()));
  }
  result.accuracy =
      result.examples ? static_cast<double>(result.correct) / static_cast<double>(result.examples) : 0.0;
  return result;
}

api::AccuracyResult accuracyOfFile(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                                   const std::filesystem::path& file, const ClassificationOptions& options,
                                   ProgressSink* progress, const CancelToken* cancel) {
  const auto examples = data::readLabelled(file, model.config().id2label);
  try {
    return accuracy(model, tokenizer, examples, options, progress, cancel);
  } catch (const Error& e) {
    throw Error(file.string() + ": " + e.what());
  }
}

}  // namespace ranklab::eval
