#include "eval/perplexity.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "common/error.h"
#include "data/corpus.h"

namespace ranklab::eval {

namespace {

// Without an explicit --ctx, windows stop at 2048 tokens: attention scores grow with the square of
// the window, and long-context models (32k) would need terabytes for a full-context batch.
constexpr int64_t kDefaultMaxWindow = 2048;

struct Window {
  std::vector<int64_t> input, target;
};

// Summed next-token NLL of the scored positions (target >= 0). The LM head runs on a few dozen
// positions at a time, so memory never holds [batch, window, vocabulary] logits (1.6 GB in float32
// for 8 GPT-2 windows of 1024), only [chunk, vocabulary].
double scoredNll(models::LanguageModel& model, const at::Tensor& input, const at::Tensor& target) {
  const at::Tensor hidden = model.hiddenStates(input);
  const at::Tensor flatTarget = target.reshape({-1});
  const at::Tensor rows = (flatTarget >= 0).nonzero().squeeze(1);
  const at::Tensor h = hidden.reshape({-1, hidden.size(-1)}).index_select(0, rows);
  const at::Tensor y = flatTarget.index_select(0, rows);
  const int64_t chunk =
      std::max<int64_t>(64, (int64_t{1} << 22) / model.config().vocabSize);  // 16 MB of logits
  double sum = 0.0;
  for (int64_t r = 0; r < h.size(0); r += chunk) {
    const int64_t m = std::min(chunk, h.size(0) - r);
    const at::Tensor logits = model.head(h.narrow(0, r, m)).to(torch::kFloat);
    sum += torch::nn::functional::cross_entropy(
               logits, y.narrow(0, r, m),
               torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
               .item<double>();
  }
  return sum;
}

}  // namespace

api::PerplexityResult perplexity(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                                 const std::string& text, const PerplexityOptions& options,
                                 ProgressSink* progress, const CancelToken* cancel) {
  if (!model.isCausal()) throw Error("perplexity needs a causal language model; this one is an encoder");
  const int64_t context = options.context > 0 ? std::min(options.context, model.config().maxPositions)
                                              : std::min(kDefaultMaxWindow, model.config().maxPositions);
  const int64_t vocab = model.config().vocabSize;
  const int64_t stride = options.stride;
  if (stride < 0 || stride > context)
    throw Error("perplexity: the stride " + std::to_string(stride) + " must lie in [1, " +
                std::to_string(context) + "] (the window), or be 0 for windows that do not overlap");
  auto docs = data::splitDocuments(text, options.documentSeparator);
  if (options.maxDocuments > 0 && static_cast<int64_t>(docs.size()) > options.maxDocuments)
    docs.resize(options.maxDocuments);
  if (docs.empty()) throw Error("perplexity: the text holds no documents");

  api::PerplexityResult result;
  result.documents = static_cast<int64_t>(docs.size());
  const int64_t bos = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
  std::vector<Window> windows;
  for (const auto& doc : docs) {
    if (cancel) cancel->check();
    std::vector<int64_t> ids;
    if (bos >= 0) ids.push_back(bos);
    const auto encoded = tokenizer.encode(doc);
    ids.insert(ids.end(), encoded.begin(), encoded.end());
    // Truncation cuts the document to the context (BOS included), as the reference protocol does.
    for (auto id : ids)
      if (id < 0 || id >= vocab)
        throw Error("perplexity: token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                    std::to_string(vocab) + " (tokenizer and model do not match)");
    if (options.truncate && static_cast<int64_t>(ids.size()) > context) {
      ids.resize(static_cast<size_t>(context));
      // Bits per byte count only the bytes that were scored.
      result.bytes += static_cast<int64_t>(tokenizer.decode(ids).size());
    } else {
      result.bytes += static_cast<int64_t>(doc.size());
    }
    // A window's inputs are ids[start, end) and it predicts ids[start + 1, end]; with a stride, only
    // the predictions past the previous window's end are scored (the others are -100).
    const size_t step =
        options.stride > 0 && !options.truncate ? static_cast<size_t>(stride) : static_cast<size_t>(context);
    size_t scoredTo = 0;  // ids[1 .. scoredTo] are predicted already
    for (size_t start = 0; start + 1 < ids.size(); start += step) {
      const size_t end = std::min(ids.size() - 1, start + static_cast<size_t>(context));
      Window w;
      w.input.assign(ids.begin() + start, ids.begin() + end);
      for (size_t p = start + 1; p <= end; ++p) w.target.push_back(p > scoredTo ? ids[p] : -100);
      scoredTo = end;
      windows.push_back(std::move(w));
      if (options.truncate || end == ids.size() - 1) break;
    }
  }
  // Long windows first so each batch pads little.
  std::stable_sort(windows.begin(), windows.end(),
                   [](const Window& a, const Window& b) { return a.input.size() > b.input.size(); });

  torch::InferenceMode guard;
  const auto device = model.device();
  // Windows per forward: options.batchSize, fewer when the MLP's intermediate activations of the batch
  // would pass 32 MB (2^23 floats), so a large model evaluates in bounded memory (a GPT-2 window of
  // 1024 tokens holds 12 MB of them; TinyLlama's 2048 tokens 46 MB: one window at a time).
  const int64_t longest = windows.empty() ? 1 : static_cast<int64_t>(windows.front().input.size());
  const int64_t budget = std::max<int64_t>(
      1, (int64_t{1} << 22) / std::max<int64_t>(1, model.config().intermediateSize * longest));
  const int64_t batch = std::max<int64_t>(1, std::min(options.batchSize, budget));
  double nllSum = 0.0;
  int64_t tokens = 0;
  for (size_t i = 0; i < windows.size(); i += batch) {
    if (cancel) cancel->check();
    const size_t n = std::min(windows.size() - i, static_cast<size_t>(batch));
    const int64_t len = static_cast<int64_t>(windows[i].input.size());
    // Right-padding: a causal model never attends forward, and padded targets are ignored (-100).
    auto input = torch::zeros({static_cast<int64_t>(n), len}, torch::kLong);
    auto target = torch::full({static_cast<int64_t>(n), len}, -100, torch::kLong);
    for (size_t b = 0; b < n; ++b) {
      const auto& w = windows[i + b];
      const auto wl = static_cast<int64_t>(w.input.size());
      input[b].narrow(0, 0, wl).copy_(torch::tensor(w.input, torch::kLong));
      target[b].narrow(0, 0, wl).copy_(torch::tensor(w.target, torch::kLong));
      for (int64_t t : w.target) tokens += t >= 0;
    }
    nllSum += scoredNll(model, input.to(device), target.to(device));
    if (progress)
      progress->progress("perplexity", static_cast<long long>(i + n), static_cast<long long>(windows.size()));
  }
  if (tokens == 0) throw Error("perplexity: no token to predict (documents are a single token long)");
  result.tokens = tokens;
  result.meanNll = nllSum / static_cast<double>(tokens);
  result.perplexity = std::exp(result.meanNll);
  result.bitsPerByte = result.bytes > 0 ? nllSum / std::log(2.0) / static_cast<double>(result.bytes) : 0.0;
  return result;
}

api::PerplexityResult perplexityOfFile(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                                       const std::filesystem::path& file, const PerplexityOptions& options,
                                       ProgressSink* progress, const CancelToken* cancel) {
  const std::string text = data::readTextFile(file);
  try {
    return perplexity(model, tokenizer, text, options, progress, cancel);
  } catch (const Error& e) {
    throw Error(file.string() + ": " + e.what());
  }
}

namespace {

// The n-gram baselines: `order` 1 (unigram, add-one) or 2 (bigram with a Dirichlet prior of weight
// `smoothing` on the unigram distribution), documents split and BOS-prefixed as perplexity() does.
api::PerplexityResult ngramPerplexity(const tokenize::Tokenizer& tokenizer, const std::string& trainText,
                                      const std::string& evalText, const PerplexityOptions& options,
                                      int order, double smoothing) {
  const int64_t vocab = tokenizer.vocabSize();
  const int64_t bos = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
  auto encodeDoc = [&](const std::string& doc) {
    std::vector<int64_t> ids;
    if (bos >= 0) ids.push_back(bos);
    const auto encoded = tokenizer.encode(doc);
    ids.insert(ids.end(), encoded.begin(), encoded.end());
    return ids;
  };
  std::vector<double> unigram(static_cast<size_t>(vocab), 0.0), context(static_cast<size_t>(vocab), 0.0);
  std::unordered_map<uint64_t, double> pairs;
  double total = 0.0;
  for (const auto& doc : data::splitDocuments(trainText, options.documentSeparator)) {
    const auto ids = encodeDoc(doc);
    for (size_t t = 0; t < ids.size(); ++t) {
      unigram[static_cast<size_t>(ids[t])] += 1.0;
      total += 1.0;
      if (t + 1 < ids.size()) {
        context[static_cast<size_t>(ids[t])] += 1.0;
        pairs[static_cast<uint64_t>(ids[t]) * static_cast<uint64_t>(vocab) +
              static_cast<uint64_t>(ids[t + 1])] += 1.0;
      }
    }
  }
  if (total == 0.0) throw Error("n-gram baseline: the training text holds no tokens");
  auto docs = data::splitDocuments(evalText, options.documentSeparator);
  if (options.maxDocuments > 0 && static_cast<int64_t>(docs.size()) > options.maxDocuments)
    docs.resize(options.maxDocuments);
  if (docs.empty()) throw Error("n-gram baseline: the text holds no documents");
  api::PerplexityResult result;
  result.documents = static_cast<int64_t>(docs.size());
  double nllSum = 0.0;
  for (const auto& doc : docs) {
    auto ids = encodeDoc(doc);
    if (options.truncate && options.context > 0 && static_cast<int64_t>(ids.size()) > options.context) {
      ids.resize(static_cast<size_t>(options.context));
      result.bytes += static_cast<int64_t>(tokenizer.decode(ids).size());
    } else {
      result.bytes += static_cast<int64_t>(doc.size());
    }
    for (size_t t = 1; t < ids.size(); ++t) {
      const auto a = static_cast<uint64_t>(ids[t - 1]), b = static_cast<uint64_t>(ids[t]);
      const double pb = (unigram[b] + 1.0) / (total + static_cast<double>(vocab));
      if (order == 1) {
        nllSum -= std::log(pb);
      } else {
        const auto it = pairs.find(a * static_cast<uint64_t>(vocab) + b);
        const double cab = it == pairs.end() ? 0.0 : it->second;
        nllSum -= std::log((cab + smoothing * pb) / (context[a] + smoothing));
      }
      ++result.tokens;
    }
  }
  if (result.tokens == 0) throw Error("n-gram baseline: no token to predict");
  result.meanNll = nllSum / static_cast<double>(result.tokens);
  result.perplexity = std::exp(result.meanNll);
  result.bitsPerByte = result.bytes > 0 ? nllSum / std::log(2.0) / static_cast<double>(result.bytes) : 0.0;
  return result;
}

}  // namespace

api::PerplexityResult bigramPerplexity(const tokenize::Tokenizer& tokenizer, const std::string& trainText,
                                       const std::string& evalText, const PerplexityOptions& options,
                                       double smoothing) {
  return ngramPerplexity(tokenizer, trainText, evalText, options, 2, smoothing);
}

api::PerplexityResult unigramPerplexity(const tokenize::Tokenizer& tokenizer, const std::string& trainText,
                                        const std::string& evalText, const PerplexityOptions& options) {
  return ngramPerplexity(tokenizer, trainText, evalText, options, 1, 0.0);
}

}  // namespace ranklab::eval
