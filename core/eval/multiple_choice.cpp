#include "eval/multiple_choice.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace ranklab::eval {

namespace {

struct Request {
  std::vector<int64_t> context, continuation;
};

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The last context encodePair encoded: an item's choices usually share theirs, encoded once.
struct ContextCache {
  std::string text;
  std::vector<int64_t> ids;
  bool valid = false;
};

// The harness's _encode_pair (see the header).
Request encodePair(const tokenize::Tokenizer& tokenizer, std::string context, std::string continuation,
                   ContextCache& cache) {
  size_t keep = context.size();
  while (keep > 0 && isSpace(context[keep - 1])) --keep;
  continuation = context.substr(keep) + continuation;
  context.resize(keep);
  Request r;
  if (context.empty()) {
    const int64_t prefix = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
    if (prefix < 0)
      throw Error("the context is empty and the tokenizer has neither BOS nor EOS to stand for it");
    r.context = {prefix};
    r.continuation = tokenizer.encode(continuation);
    return r;
  }
  const auto whole = tokenizer.encode(context + continuation);
  if (!cache.valid || cache.text != context) {
    cache.ids = tokenizer.encode(context);
    cache.text = context;
    cache.valid = true;
  }
  r.context = cache.ids;
  if (whole.size() > r.context.size())
    r.continuation.assign(whole.begin() + static_cast<std::ptrdiff_t>(r.context.size()), whole.end());
  return r;
}

at::Tensor idsTensor(const std::vector<int64_t>& ids, c10::Device device) {
  return torch::tensor(ids, torch::kLong).unsqueeze(0).to(device);
}

// Summed log-probabilities of `targets[r]` at positions [0, targets[r].size()) of `logits[r]`.
std::vector<double> gatherSums(const at::Tensor& logits,
                               const std::vector<const std::vector<int64_t>*>& targets, int64_t offset = 0) {
  const at::Tensor logp = torch::log_softmax(logits.to(torch::kFloat), -1).to(torch::kCPU);
  std::vector<double> sums;
  for (size_t r = 0; r < targets.size(); ++r) {
    const auto& t = *targets[r];
    const auto rowLogp = logp[static_cast<int64_t>(r)];
    const auto index = torch::tensor(t, torch::kLong);
    const auto picked =
        rowLogp.narrow(0, offset, static_cast<int64_t>(t.size())).gather(1, index.unsqueeze(1));
    sums.push_back(picked.to(torch::kDouble).sum().item<double>());
  }
  return sums;
}

ChoiceScore scoreOf(const std::vector<const data::ChoiceItem*>& items,
                    const std::vector<const std::vector<double>*>& lls) {
  ChoiceScore s;
  s.items = static_cast<int64_t>(items.size());
  std::vector<double> acc, accNorm;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& item = *items[i];
    const auto& ll = *lls[i];
    size_t best = 0, bestNorm = 0;
    double normBest = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < ll.size(); ++c) {
      if (ll[c] > ll[best]) best = c;
      const double norm =
          ll[c] / static_cast<double>(std::max<int64_t>(1, data::codePoints(item.choices[c])));
      if (c == 0 || norm > normBest) {
        normBest = norm;
        bestNorm = c;
      }
    }
    acc.push_back(static_cast<int64_t>(best) == item.gold ? 1.0 : 0.0);
    accNorm.push_back(static_cast<int64_t>(bestNorm) == item.gold ? 1.0 : 0.0);
    s.chance += 1.0 / static_cast<double>(ll.size());
  }
  auto meanAndStderr = [](const std::vector<double>& x, double& mean, double& stderr) {
    const double n = static_cast<double>(x.size());
    mean = 0.0;
    for (double v : x) mean += v;
    mean /= n;
    double ss = 0.0;
    for (double v : x) ss += (v - mean) * (v - mean);
    stderr = x.size() < 2 ? std::nan("") : std::sqrt(ss / (n - 1.0)) / std::sqrt(n);
  };
  if (!items.empty()) {
    meanAndStderr(acc, s.acc, s.accStderr);
    meanAndStderr(accNorm, s.accNorm, s.accNormStderr);
    s.chance /= static_cast<double>(items.size());
  }
  return s;
}

}  // namespace

std::vector<std::vector<double>> choiceLogLikelihoods(models::LanguageModel& model,
                                                      const tokenize::Tokenizer& tokenizer,
                                                      const std::vector<data::ChoiceItem>& items,
                                                      const ChoiceOptions& options, ProgressSink* progress,
                                                      const CancelToken* cancel, int64_t* truncated) {
  if (!model.isCausal())
    throw Error("multiple-choice scoring needs a causal language model; this one is an encoder");
  const int64_t window = model.config().maxPositions;
  const int64_t vocab = model.config().vocabSize;
  const int64_t chunk = std::max<int64_t>(1, options.prefixChunk);
  const auto device = model.device();
  torch::InferenceMode guard;
  std::vector<std::vector<double>> out;
  out.reserve(items.size());
  int64_t cut = 0;
  for (size_t n = 0; n < items.size(); ++n) {
    if (cancel) cancel->check();
    const auto& item = items[n];
    const std::string where = "line " + std::to_string(item.line);
    std::vector<Request> requests;
    ContextCache contextIds;
    for (size_t c = 0; c < item.contexts.size(); ++c) {
      Request r = encodePair(tokenizer, item.contexts[c], item.continuations[c], contextIds);
      if (r.continuation.empty())
        throw Error(where + ": choice " + std::to_string(c + 1) + " adds no token to its context");
      if (static_cast<int64_t>(r.continuation.size()) > window)
        throw Error(where + ": choice " + std::to_string(c + 1) + " is " +
                    std::to_string(r.continuation.size()) + " tokens long, more than the model's window of " +
                    std::to_string(window));
      for (const auto* ids : {&r.context, &r.continuation})
        for (int64_t id : *ids)
          if (id < 0 || id >= vocab)
            throw Error(where + ": token id " + std::to_string(id) +
                        " is outside the model's vocabulary of " + std::to_string(vocab) +
                        " (tokenizer and model do not match)");
      requests.push_back(std::move(r));
    }
    std::vector<double> ll(requests.size(), 0.0);
    std::vector<bool> done(requests.size(), false);
    for (size_t first = 0; first < requests.size(); ++first) {
      if (done[first]) continue;
      // The requests sharing this one's context tokens.
      std::vector<size_t> group;
      for (size_t c = first; c < requests.size(); ++c)
        if (!done[c] && requests[c].context == requests[first].context) group.push_back(c);
      size_t longest = 0;
      for (size_t c : group) longest = std::max(longest, requests[c].continuation.size());
      const auto& context = requests[first].context;
      if (static_cast<int64_t>(context.size() + longest) - 1 <= window) {
        // The context but its last token runs once into a cache; every continuation is a row after it,
        // fed from that last token: [last context token, continuation minus its last token].
        models::KVCache cache;
        for (size_t p = 0; p + 1 < context.size(); p += static_cast<size_t>(chunk)) {
          const size_t end = std::min(context.size() - 1, p + static_cast<size_t>(chunk));
          model.forwardHidden(idsTensor({context.begin() + static_cast<std::ptrdiff_t>(p),
                                         context.begin() + static_cast<std::ptrdiff_t>(end)},
                                        device),
                              &cache);
        }
        const auto rows = static_cast<int64_t>(group.size());
        for (size_t l = 0; l < cache.keys.size(); ++l) {
          cache.keys[l] = cache.keys[l].expand({rows, -1, -1, -1});
          cache.values[l] = cache.values[l].expand({rows, -1, -1, -1});
        }
        // Right-padded with the last context token: a causal model never attends forward.
        std::vector<int64_t> flat(static_cast<size_t>(rows) * longest, context.back());
        std::vector<const std::vector<int64_t>*> targets;
        for (size_t r = 0; r < group.size(); ++r) {
          const auto& cont = requests[group[r]].continuation;
          std::copy(cont.begin(), cont.end() - 1,
                    flat.begin() + static_cast<std::ptrdiff_t>(r * longest + 1));
          targets.push_back(&cont);
        }
        const at::Tensor input =
            torch::tensor(flat, torch::kLong).view({rows, static_cast<int64_t>(longest)});
        const at::Tensor logits = model.forward(input.to(device), cache.length > 0 ? &cache : nullptr);
        const auto sums = gatherSums(logits, targets);
        for (size_t r = 0; r < group.size(); ++r) ll[group[r]] = sums[r];
      } else {
        // Too long for one window: each request on its own, its context cut from the left where it
        // does not fit (the last window + 1 tokens, the last one not fed).
        for (size_t c : group) {
          const auto& cont = requests[c].continuation;
          std::vector<int64_t> all = context;
          all.insert(all.end(), cont.begin(), cont.end());
          const size_t start =
              all.size() > static_cast<size_t>(window) + 1 ? all.size() - static_cast<size_t>(window) - 1 : 0;
          const std::vector<int64_t> input(all.begin() + static_cast<std::ptrdiff_t>(start), all.end() - 1);
          const at::Tensor logits = model.forward(idsTensor(input, device));
          ll[c] = gatherSums(logits, {&cont}, static_cast<int64_t>(input.size() - cont.size()))[0];
          cut += start > 0;
        }
      }
      for (size_t c : group) done[c] = true;
    }
    for (double v : ll)
      if (!std::isfinite(v))
        throw Error(where + ": a choice's log-likelihood is " + std::to_string(v) +
                    " (the model's outputs are not finite)");
    out.push_back(std::move(ll));
    if (progress)
      progress->progress("multiple choice", static_cast<long long>(n + 1),
                         static_cast<long long>(items.size()));
  }
  if (truncated) *truncated = cut;
  return out;
}

ChoiceResult scoreChoices(const std::vector<data::ChoiceItem>& items,
                          const std::vector<std::vector<double>>& logLikelihoods) {
  if (items.size() != logLikelihoods.size())
    throw Error("scoreChoices: " + std::to_string(logLikelihoods.size()) + " scores for " +
                std::to_string(items.size()) + " items");
  std::vector<std::string> order;
  std::vector<const data::ChoiceItem*> all;
  std::vector<const std::vector<double>*> allLl;
  for (size_t i = 0; i < items.size(); ++i) {
    if (logLikelihoods[i].size() != items[i].choices.size())
      throw Error("scoreChoices: item " + std::to_string(i) + " has " +
                  std::to_string(items[i].choices.size()) + " choices and " +
                  std::to_string(logLikelihoods[i].size()) + " scores");
    all.push_back(&items[i]);
    allLl.push_back(&logLikelihoods[i]);
    if (std::find(order.begin(), order.end(), items[i].task) == order.end()) order.push_back(items[i].task);
  }
  ChoiceResult result;
  result.all = scoreOf(all, allLl);
  if (order.size() > 1)
    for (const auto& task : order) {
      std::vector<const data::ChoiceItem*> some;
      std::vector<const std::vector<double>*> someLl;
      for (size_t i = 0; i < items.size(); ++i)
        if (items[i].task == task) {
          some.push_back(&items[i]);
          someLl.push_back(&logLikelihoods[i]);
        }
      result.tasks.emplace_back(task.empty() ? std::string("(no task)") : task, scoreOf(some, someLl));
    }
  return result;
}

ChoiceResult multipleChoice(models::LanguageModel& model, const tokenize::Tokenizer& tokenizer,
                            const std::vector<data::ChoiceItem>& items, const ChoiceOptions& options,
                            ProgressSink* progress, const CancelToken* cancel) {
  int64_t truncated = 0;
  const auto ll = choiceLogLikelihoods(model, tokenizer, items, options, progress, cancel, &truncated);
  ChoiceResult result = scoreChoices(items, ll);
  result.truncated = truncated;
  return result;
}

}  // namespace ranklab::eval
