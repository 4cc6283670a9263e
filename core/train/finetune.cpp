#include "train/finetune.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "common/hash.h"
#include "io/model_config.h"
#include "lowrank/task_gradients.h"
#include "train/checkpoint.h"
#include "train/pretrain.h"

namespace ranklab::train {

FinetuneResult finetune(models::LanguageModel& model, const std::vector<lowrank::CalibrationSample>& data,
                        const FinetuneOptions& options, ProgressSink* progress, const CancelToken* cancel,
                        const std::function<void(const api::SeriesPoint&)>& onPoint,
                        const FinetuneHooks* hooks) {
  FinetuneResult result;
  if (options.steps <= 0) return result;
  if (data.empty()) throw Error("fine-tuning: no training data");
  model.promoteToFloat();  // weights loaded in fp16/bf16 train as float32
  std::vector<at::Tensor> params;
  for (auto& p : model.parameters())
    if (p.requires_grad()) params.push_back(p);
  if (params.empty()) throw Error("fine-tuning: the model has no trainable parameters");
  torch::optim::AdamW optimizer(
      params, torch::optim::AdamWOptions(options.learningRate).weight_decay(options.weightDecay));
  const int64_t warmup = options.warmupSteps >= 0 ? options.warmupSteps : options.steps / 10;
  auto rateAt = [&](int64_t step) {
    if (step < warmup)
      return options.learningRate * static_cast<double>(step + 1) / static_cast<double>(warmup + 1);
    const double progressed = static_cast<double>(step - warmup) /
                              static_cast<double>(std::max<int64_t>(1, options.steps - warmup));
    return options.learningRate * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * progressed)));
  };
  std::string fingerprint;
  if (!options.checkpointDir.empty()) {
    Sha256 h;
    const nlohmann::json o = {{"config", io::toHfConfigJson(model.config())},
                              {"steps", options.steps},
                              {"lr", options.learningRate},
                              {"wd", options.weightDecay},
                              {"batch", options.batchSize},
                              {"warmup", options.warmupSteps},
                              {"clip", options.clipNorm},
                              {"seed", options.seed},
                              {"pad", options.padId}};
    h.update(o.dump());
    // The starting weights: a checkpoint of the same recipe on another base model is another run.
    h.update(detail::weightsHash(model));
    for (const auto& sample : data) {
      h.update(sample.ids.data(), sample.ids.size() * sizeof(int64_t));
      h.update(&sample.label, sizeof sample.label);
    }
    fingerprint = h.hexDigest();
  }
  double intervalLoss = 0.0, intervalSteps = 0.0;
  if (!fingerprint.empty()) {
    std::vector<double> running;
    result.resumedFrom =
        detail::loadCheckpoint(options.checkpointDir, model, optimizer, fingerprint, result.series, running);
    if (running.size() == 3) {
      intervalLoss = running[0];
      intervalSteps = running[1];
      result.finalLoss = running[2];
    }
  }
  auto save = [&](int64_t step) {
    detail::saveCheckpoint(options.checkpointDir, model, optimizer, step, fingerprint, result.series,
                           {intervalLoss, intervalSteps, result.finalLoss});
  };
  std::mt19937_64 rng(options.seed);
  std::vector<size_t> order(data.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  size_t cursor = order.size();
  const size_t batch = static_cast<size_t>(std::max<int64_t>(1, options.batchSize));
  auto emit = [&](api::SeriesPoint p) {
    result.series.push_back(p);
    if (onPoint) onPoint(p);
  };
  // A method's hooks read and add to the whole step's graph: one worker.
  const int64_t workers =
      hooks ? 1 : lowrank::stepWorkers(model, std::min(batch, data.size()), options.workers);
  const lowrank::SplitStepScope splitSteps(workers);
  model.train();
  struct EvalOnExit {
    models::LanguageModel& m;
    ~EvalOnExit() { m.eval(); }
  } evalOnExit{model};
  int64_t step = 0;
  try {
    for (; step < options.steps; ++step) {
      if (cancel) cancel->check();
      std::vector<const lowrank::CalibrationSample*> b;
      while (b.size() < batch) {
        if (cursor >= order.size()) {
          // A seeded reshuffle each epoch (own Fisher-Yates: std::shuffle differs between libraries).
          for (size_t i = order.size(); i > 1; --i)
            std::swap(order[i - 1], order[static_cast<size_t>(rng() % i)]);
          cursor = 0;
        }
        b.push_back(&data[order[cursor++]]);
        if (b.size() == data.size()) break;
      }
      if (step < result.resumedFrom) continue;  // replaying the batch order up to the checkpoint
      const double lr = rateAt(step);
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      optimizer.zero_grad();
      double value = 0.0;
      if (!hooks) {
        value = lowrank::taskLossBackward(model, b, params, options.padId, workers);
      } else {
        at::Tensor loss = lowrank::taskLoss(model, b, options.padId);
        value = loss.item<double>();
        if (std::isfinite(value)) {
          if (hooks->extraLoss) {
            const at::Tensor extra = hooks->extraLoss();
            if (extra.defined()) loss = loss + extra;
          }
          loss.backward();
        }
      }
      if (!std::isfinite(value))
        throw Error("fine-tuning diverged at step " + std::to_string(step + 1) + " (loss is not finite)");
      if (hooks && hooks->afterBackward) hooks->afterBackward(step + 1);
      if (options.clipNorm > 0.0) torch::nn::utils::clip_grad_norm_(params, options.clipNorm);
      optimizer.step();
      if (hooks && hooks->afterStep) hooks->afterStep(step + 1);
      intervalLoss += value;
      intervalSteps += 1.0;
      result.finalLoss = value;
      const bool last = step + 1 == options.steps;
      if ((options.logEvery > 0 && (step + 1) % options.logEvery == 0) || last) {
        emit({step + 1, "finetune_loss", intervalLoss / intervalSteps});
        emit({step + 1, "lr", lr});
        intervalLoss = intervalSteps = 0.0;
      }
      if (!fingerprint.empty() &&
          ((options.checkpointEvery > 0 && (step + 1) % options.checkpointEvery == 0) ||
           (last && options.keepFinishedCheckpoint)))
        save(step + 1);
      if (progress) progress->progress("finetune", step + 1, options.steps);
    }
  } catch (const Cancelled&) {
    if (!fingerprint.empty() && step > result.resumedFrom) save(step);
    throw;
  }
  if (!fingerprint.empty() && !options.keepFinishedCheckpoint) removeCheckpoint(options.checkpointDir);
  return result;
}

std::shared_ptr<models::LanguageModel> withClassifier(const models::LanguageModel& encoder,
                                                      const std::vector<std::string>& labels, uint64_t seed) {
  if (encoder.isCausal())
    throw Error("a classification head needs an encoder (BERT-family); this model is a decoder");
  if (labels.size() < 2) throw Error("a classification head needs at least two labels");
  auto config = encoder.config();
  config.numLabels = static_cast<int64_t>(labels.size());
  config.id2label = labels;
  torch::manual_seed(seed);
  auto model = models::createModel(config, /*initialise=*/true);
  torch::NoGradGuard noGrad;
  const auto source = encoder.named_parameters(/*recurse=*/true);
  auto target = model->named_parameters(/*recurse=*/true);
  for (const auto& item : source) {
    // The masked-LM head and an old classifier are replaced; a pooler is kept, as transformers does.
    const bool head = item.key().rfind("mlm_", 0) == 0 || item.key().rfind("classifier.", 0) == 0;
    if (head) continue;
    auto* to = target.find(item.key());
    if (!to || to->sizes() != item.value().sizes())
      throw Error(
          "cannot start a classifier from this encoder: its weight '" + item.key() +
          "' has no dense counterpart (a factorized model? fine-tune the dense encoder, then compress it)");
    to->copy_(item.value());
  }
  model->to(encoder.device());
  model->eval();
  return model;
}

}  // namespace ranklab::train
