#include "train/pretrain.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>

#include "common/compat.h"
#include "common/error.h"
#include "common/hash.h"
#include "data/corpus.h"
#include "train/checkpoint.h"

namespace ranklab::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kIgnore = -100;

struct Batch {
  at::Tensor input;   // [B, L]
  at::Tensor target;  // [B, L], kIgnore where no loss is taken
};

// Examples starting at `starts`: causal windows of L + 1 tokens (input L, targets shifted by one), or
// masked-LM windows of L tokens with positions chosen by `rng`.
Batch makeBatch(const at::Tensor& stream, const std::vector<int64_t>& starts, const PretrainOptions& o,
                int64_t vocab, std::mt19937_64& rng) {
  const int64_t b = static_cast<int64_t>(starts.size()), l = o.sequenceLength;
  const bool causal = o.objective == Objective::CausalLm;
  auto offsets =
      torch::tensor(starts, torch::kLong).unsqueeze(1) + torch::arange(causal ? l + 1 : l, torch::kLong);
  auto windows = stream.index_select(0, offsets.reshape({-1})).reshape({b, -1});
  if (causal) return {windows.narrow(1, 0, l).contiguous(), windows.narrow(1, 1, l).contiguous()};

  auto input = windows.clone();
  auto target = torch::full({b, l}, kIgnore, torch::kLong);
  auto in = input.accessor<int64_t, 2>();
  auto tg = target.accessor<int64_t, 2>();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int64_t> position(1, l - 1), token(0, vocab - 1);
  for (int64_t i = 0; i < b; ++i) {
    if (o.clsId >= 0) in[i][0] = o.clsId;
    std::vector<int64_t> chosen;
    for (int64_t t = 1; t < l; ++t)
      if (unit(rng) < o.maskProbability) chosen.push_back(t);
    if (chosen.empty()) chosen.push_back(position(rng));
    for (int64_t t : chosen) {
      tg[i][t] = in[i][t];
      const double u = unit(rng);
      if (u < 0.8)
        in[i][t] = o.maskId;
      else if (u < 0.9)
        in[i][t] = token(rng);
    }
  }
  return {input, target};
}

// Mean cross-entropy over the positions with a target.
at::Tensor lossOf(models::LanguageModel& model, const Batch& batch, const PretrainOptions& o) {
  at::Tensor logits;
  {
    std::optional<compat::AutocastScope> autocast;
    if (o.precision == "bf16") autocast.emplace(model.device().type(), at::kBFloat16);
    logits = model.forward(batch.input.to(model.device()));
  }
  return torch::nn::functional::cross_entropy(
      logits.to(at::kFloat).reshape({-1, logits.size(-1)}), batch.target.to(model.device()).reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore));
}

// The options that change what a run computes (not where it reports or checkpoints).
json resultOptions(const PretrainOptions& o) {
  return {{"objective", o.objective == Objective::CausalLm ? "causal" : "mlm"},
          {"steps", o.steps},
          {"batch", o.batchSize},
          {"seq_len", o.sequenceLength},
          {"lr", o.learningRate},
          {"min_lr_fraction", o.minLearningRateFraction},
          {"warmup", o.warmupSteps},
          {"weight_decay", o.weightDecay},
          {"betas", {o.beta1, o.beta2}},
          {"clip", o.clipNorm},
          {"precision", o.precision},
          {"seed", o.seed},
          {"mask_p", o.maskProbability},
          {"mask_id", o.maskId},
          {"cls_id", o.clsId}};
}

std::string fingerprintOf(const models::LanguageModel& model, const std::vector<int64_t>& tokens,
                          const PretrainOptions& o) {
  Sha256 tokensHash;
  tokensHash.update(tokens.data(), tokens.size() * sizeof(int64_t));
  return sha256Hex(json{{"config", io::toHfConfigJson(model.config())},
                        {"weights", detail::weightsHash(model)},
                        {"options", resultOptions(o)},
                        {"series", {o.logEvery, o.evalEvery, o.evalWindows}},
                        {"train_tokens", tokensHash.hexDigest()}}
                       .dump());
}

// The global 2-norm of the gradients (what clip_grad_norm_ returns), without scaling them.
double gradientNorm(const std::vector<at::Tensor>& params) {
  double sum = 0.0;
  for (const auto& p : params)
    if (p.grad().defined()) sum += p.grad().detach().to(at::kDouble).pow(2).sum().item<double>();
  return std::sqrt(sum);
}

}  // namespace

double validationLoss(models::LanguageModel& model, const std::vector<int64_t>& tokens,
                      const PretrainOptions& o) {
  const bool causal = o.objective == Objective::CausalLm;
  const int64_t l = o.sequenceLength;
  const int64_t available = (static_cast<int64_t>(tokens.size()) - (causal ? 1 : 0)) / l;
  const int64_t windows = std::min<int64_t>(o.evalWindows, available);
  if (windows <= 0) return std::numeric_limits<double>::quiet_NaN();
  const auto stream = torch::tensor(tokens, torch::kLong);
  torch::NoGradGuard noGrad;
  model.eval();
  std::mt19937_64 rng(splitmix(0x76616c6964ull));
  double sum = 0.0;
  int64_t counted = 0;
  for (int64_t w = 0; w < windows; w += o.batchSize) {
    std::vector<int64_t> starts;
    for (int64_t i = w; i < std::min(windows, w + o.batchSize); ++i) starts.push_back(i * l);
    const auto batch = makeBatch(stream, starts, o, model.config().vocabSize, rng);
    const int64_t n = batch.target.ne(kIgnore).sum().item<int64_t>();
    sum += lossOf(model, batch, o).item<double>() * static_cast<double>(n);
    counted += n;
  }
  return counted ? sum / static_cast<double>(counted) : std::numeric_limits<double>::quiet_NaN();
}

std::vector<int64_t> tokenStream(const tokenize::Tokenizer& tokenizer, const std::string& text,
                                 const std::string& separator) {
  const int64_t first = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
  std::vector<int64_t> out;
  for (const auto& doc : data::splitDocuments(text, separator)) {
    if (first >= 0) out.push_back(first);
    const auto ids = tokenizer.encode(doc);
    out.insert(out.end(), ids.begin(), ids.end());
  }
  if (out.empty()) throw Error("the text holds no tokens");
  return out;
}

PretrainResult pretrain(models::LanguageModel& model, const std::vector<int64_t>& trainTokens,
                        const std::vector<int64_t>& validTokens, const PretrainOptions& o,
                        ProgressSink* progress, const CancelToken* cancel,
                        const std::function<void(const api::SeriesPoint&)>& onPoint) {
  const auto started = std::chrono::steady_clock::now();
  const bool causal = o.objective == Objective::CausalLm;
  const auto& config = model.config();
  const int64_t vocab = config.vocabSize, l = o.sequenceLength;
  if (o.steps <= 0) throw Error("pretraining: steps must be positive");
  if (o.batchSize <= 0) throw Error("pretraining: the batch size must be positive");
  if (l < 2 || l > config.maxPositions)
    throw Error("pretraining: the sequence length " + std::to_string(l) + " must lie in [2, " +
                std::to_string(config.maxPositions) + "] (the model's context)");
  if (causal != model.isCausal())
    throw Error(
        causal
            ? "pretraining: a causal-LM objective needs a decoder; this model is an encoder (use masked LM)"
            : "pretraining: masked-LM pretraining needs an encoder; this model is a decoder");
  if (!model.hasLmHead()) throw Error("pretraining: the model has no language-model head");
  model.promoteToFloat();  // weights loaded in fp16/bf16 train as float32
  if (!causal && (o.maskId < 0 || o.maskId >= vocab))
    throw Error("pretraining: masked LM needs a mask token inside the vocabulary (the tokenizer has none)");
  if (!causal && !(o.maskProbability > 0.0 && o.maskProbability < 1.0))
    throw Error("pretraining: the mask probability must lie in (0, 1)");
  if (o.precision != "fp32" && o.precision != "bf16")
    throw Error("pretraining: precision must be fp32 or bf16, got '" + o.precision + "'");
  const int64_t need = causal ? l + 1 : l;
  if (static_cast<int64_t>(trainTokens.size()) < need)
    throw Error("pretraining: the training text holds " + std::to_string(trainTokens.size()) +
                " tokens, fewer than one example of " + std::to_string(need));
  for (const auto* stream : {&trainTokens, &validTokens})
    for (int64_t id : *stream)
      if (id < 0 || id >= vocab)
        throw Error("pretraining: token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                    std::to_string(vocab) + " (tokenizer and model do not match)");

  const auto trainStream = torch::tensor(trainTokens, torch::kLong);

  // AdamW; matrices (and embeddings) decay, vectors (biases, norms) do not, as GPT-2-style recipes do.
  std::vector<at::Tensor> decay, noDecay, all;
  for (auto& p : model.parameters()) {
    if (!p.requires_grad()) continue;
    (p.dim() >= 2 ? decay : noDecay).push_back(p);
    all.push_back(p);
  }
  auto groupOptions = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(o.learningRate).betas({o.beta1, o.beta2}).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, groupOptions(o.weightDecay));
  if (!noDecay.empty()) groups.emplace_back(noDecay, groupOptions(0.0));
  torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(o.learningRate));

  const int64_t warmup = o.warmupSteps >= 0 ? o.warmupSteps : o.steps / 20;
  auto rateAt = [&](int64_t step) {
    if (step < warmup) return o.learningRate * static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double done =
        static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, o.steps - warmup));
    const double floor = o.minLearningRateFraction;
    return o.learningRate * (floor + (1.0 - floor) * 0.5 * (1.0 + std::cos(M_PI * done)));
  };

  PretrainResult result;
  result.validLoss = std::numeric_limits<double>::quiet_NaN();
  const std::string fingerprint = fingerprintOf(model, trainTokens, o);
  const bool checkpoints = !o.checkpointDir.empty();
  double intervalLoss = 0.0, intervalNorm = 0.0, intervalSteps = 0.0;
  if (checkpoints) {
    std::vector<double> running;
    result.resumedFrom =
        detail::loadCheckpoint(o.checkpointDir, model, optimizer, fingerprint, result.series, running);
    if (running.size() == 3) {
      intervalLoss = running[0];
      intervalNorm = running[1];
      intervalSteps = running[2];
    }
  }
  auto save = [&](int64_t step) {
    detail::saveCheckpoint(o.checkpointDir, model, optimizer, step, fingerprint, result.series,
                           {intervalLoss, intervalNorm, intervalSteps});
  };
  auto emit = [&](api::SeriesPoint p) {
    result.series.push_back(p);
    if (onPoint) onPoint(p);
  };

  auto validLoss = [&]() -> double {
    if (validTokens.empty()) return std::numeric_limits<double>::quiet_NaN();
    const double v = validationLoss(model, validTokens, o);
    model.train();
    return v;
  };

  model.train();
  struct EvalOnExit {
    models::LanguageModel& m;
    ~EvalOnExit() { m.eval(); }
  } evalOnExit{model};
  const int64_t lastStart = trainStream.numel() - need;
  int64_t step = result.resumedFrom;
  try {
    for (; step < o.steps; ++step) {
      if (cancel) cancel->check();
      std::mt19937_64 rng(splitmix(o.seed ^ splitmix(static_cast<uint64_t>(step))));
      std::uniform_int_distribution<int64_t> startOf(0, lastStart);
      std::vector<int64_t> starts(static_cast<size_t>(o.batchSize));
      for (auto& s : starts) s = startOf(rng);
      const auto batch = makeBatch(trainStream, starts, o, vocab, rng);
      const double lr = rateAt(step);
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      optimizer.zero_grad();
      auto loss = lossOf(model, batch, o);
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw Error("pretraining diverged at step " + std::to_string(step + 1) +
                    " (loss is not finite); lower the learning rate or use fp32");
      loss.backward();
      const double norm =
          o.clipNorm > 0.0 ? torch::nn::utils::clip_grad_norm_(all, o.clipNorm) : gradientNorm(all);
      optimizer.step();
      intervalLoss += value;
      intervalNorm += norm;
      intervalSteps += 1.0;
      const bool last = step + 1 == o.steps;
      if ((o.logEvery > 0 && (step + 1) % o.logEvery == 0) || last) {
        result.finalTrainLoss = intervalLoss / intervalSteps;
        emit({step + 1, "train_loss", result.finalTrainLoss});
        emit({step + 1, "grad_norm", intervalNorm / intervalSteps});
        emit({step + 1, "lr", lr});
        intervalLoss = intervalNorm = intervalSteps = 0.0;
      }
      if ((o.evalEvery > 0 && (step + 1) % o.evalEvery == 0) || last) {
        const double v = validLoss();
        if (std::isfinite(v)) emit({step + 1, "valid_loss", v});
        if (last) result.validLoss = v;
      }
      if (checkpoints && ((o.checkpointEvery > 0 && (step + 1) % o.checkpointEvery == 0) ||
                          (last && o.keepFinishedCheckpoint)))
        save(step + 1);
      if (progress) progress->progress("pretrain", step + 1, o.steps);
    }
  } catch (const Cancelled&) {
    // Keep what was learned: the next run with the same options continues from here.
    if (checkpoints && step > result.resumedFrom) save(step);
    throw;
  }
  if (result.resumedFrom == o.steps) {
    // The checkpoint of a finished run (kept for the caller, who did not get to save the result):
    // report what the run ended with.
    for (const auto& p : result.series)
      if (p.name == "train_loss") result.finalTrainLoss = p.value;
    result.validLoss = validLoss();
  }
  // Finished: the checkpoint would only resume a run that has nothing left to do.
  if (checkpoints && !o.keepFinishedCheckpoint) removeCheckpoint(o.checkpointDir);
  result.steps = o.steps;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double tokens = static_cast<double>((o.steps - result.resumedFrom) * o.batchSize * l);
  result.tokensPerSecond = result.seconds > 0 ? tokens / result.seconds : 0.0;
  return result;
}

}  // namespace ranklab::train
