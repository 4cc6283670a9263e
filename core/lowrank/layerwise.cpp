#include "lowrank/layerwise.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "common/allocator.h"
#include "common/error.h"

namespace ranklab::lowrank {

namespace {

// Hidden states of the calibration samples, in batches of equal-length samples (no padding enters
// the statistics), kept on `store` (the CPU when the model runs on a GPU).
std::vector<at::Tensor> embedSamples(models::LanguageModel& model,
                                     const std::vector<CalibrationSample>& samples, int64_t batchSize,
                                     const c10::Device& store) {
  const bool causal = model.isCausal();
  std::map<size_t, std::vector<const CalibrationSample*>> byLength;
  for (const auto& s : samples) {
    const size_t len = s.ids.size() - (causal ? 1 : 0);
    if (s.ids.size() < (causal ? 2u : 1u)) throw Error("calibration: a sample is too short to score");
    byLength[len].push_back(&s);
  }
  std::vector<at::Tensor> batches;
  const size_t step = static_cast<size_t>(std::max<int64_t>(1, batchSize));
  for (const auto& [len, group] : byLength) {
    for (size_t i = 0; i < group.size(); i += step) {
      const size_t n = std::min(step, group.size() - i);
      auto ids = torch::empty({static_cast<int64_t>(n), static_cast<int64_t>(len)}, torch::kLong);
      for (size_t b = 0; b < n; ++b)
        ids[static_cast<int64_t>(b)].copy_(
            torch::tensor(group[i + b]->ids, torch::kLong).narrow(0, 0, static_cast<int64_t>(len)));
      batches.push_back(model.embed(ids.to(model.device())).to(store));
    }
  }
  return batches;
}

}  // namespace

int64_t calibrationBatch(const io::ModelConfig& c, int64_t length, int64_t batchSize) {
  // A token's activations inside one layer: residual, norms, q/k/v/o and the MLP's intermediates.
  const int64_t perToken = 10 * c.hiddenSize + 3 * c.intermediateSize;
  const int64_t fits = (int64_t{1} << 27) / std::max<int64_t>(1, perToken * std::max<int64_t>(1, length));
  return std::max<int64_t>(1, std::min(batchSize, fits));
}

void decomposeByLayer(models::LanguageModel& model, Method method,
                      const std::vector<CalibrationSample>& samples, const Calibration* gradients,
                      const LayerwiseOptions& options, const OpSink& sink, ProgressSink* progress,
                      const CancelToken* cancel) {
  const auto& entries = model.ops().entries();
  const auto needs = needsOf(method);
  const bool activations = needs.absMean || needs.gram;
  if (needs.gradients() && (!gradients || gradients->ops.size() != entries.size()))
    throw Error(methodName(method) + " needs a calibration pass over the model's " +
                std::to_string(entries.size()) + " ops");
  if (activations && samples.empty()) throw Error(methodName(method) + " needs calibration samples");
  torch::NoGradGuard noGrad;
  const bool wasTraining = model.is_training();
  model.eval();

  std::map<int64_t, std::vector<size_t>> opsOfLayer;
  for (size_t i = 0; i < entries.size(); ++i) opsOfLayer[entries[i].info.layer].push_back(i);
  const auto device = model.device();
  const c10::Device store = device.is_cuda() ? c10::Device(c10::kCPU) : device;
  std::vector<at::Tensor> hidden;
  if (activations) {
    size_t longest = 0;
    for (const auto& s : samples) longest = std::max(longest, s.ids.size());
    hidden = embedSamples(model, samples,
                          calibrationBatch(model.config(), static_cast<int64_t>(longest), options.batchSize),
                          store);
  }

  size_t done = 0;
  auto decomposeOp = [&](size_t i, const OpStats* stats) {
    if (cancel) cancel->check();
    const auto& impl = *entries[i].slot->impl();
    const at::Tensor w = impl.denseWeight().detach().to(at::kFloat).t();
    try {
      auto d = decomposeWeight(w, impl.bias(), method, stats, options.decompose);
      if (progress)
        progress->progress("decompose", static_cast<long long>(++done),
                           static_cast<long long>(entries.size()));
      return d;
    } catch (const Error& e) {
      throw Error("op '" + entries[i].info.name + "': " + e.what());
    }
  };
  auto propagate = [&](int64_t layer) {
    for (auto& h : hidden) h = model.layer(layer, h.to(device)).to(store);
  };

  for (const auto& entry : opsOfLayer) {
    // Not a structured binding: lambdas below capture the layer (C++17 cannot capture bindings).
    const auto layer = entry.first;
    const auto& ops = entry.second;
    if (cancel) cancel->check();
    if (!activations) {
      for (size_t i : ops) sink(i, decomposeOp(i, gradients ? &gradients->ops[i] : nullptr));
      continue;
    }
    // Dense propagation takes the next layer's input from this very forward (the layer is still
    // dense); compressed propagation runs the layer again once its ranks are applied.
    auto stats = captureActivationStats(model, ops, needs, [&] {
      for (auto& h : hidden) {
        at::Tensor out = model.layer(layer, h.to(device));
        if (!options.propagateCompressed) h = out.to(store);
      }
    });
    if (progress) progress->progress("calibrate", layer + 1, static_cast<long long>(opsOfLayer.size()));
    std::vector<std::pair<size_t, OpDecomposition>> decs;
    for (size_t i : ops) decs.emplace_back(i, decomposeOp(i, &stats[i]));
    stats.clear();
    for (auto& [i, d] : decs) sink(i, std::move(d));
    decs.clear();
    if (options.propagateCompressed) propagate(layer);
    releaseFreedMemory();  // the layer's statistics and buffers, before the next layer's
  }
  if (wasTraining) model.train();
}

}  // namespace ranklab::lowrank
