#include "models/language_model.h"

#include <torch/torch.h>

#include <unordered_set>

#include "common/error.h"
#include "models/low_rank_linear.h"

namespace ranklab::models {

at::Tensor LanguageModel::classify(const at::Tensor&, const at::Tensor&) {
  throw Error(io::architectureName(m_config.arch) + " model has no sequence-classification head");
}

io::TensorMap LanguageModel::hfWeights() const {
  io::TensorMap out;
  forEachHfWeight([&](const std::string& name, const at::Tensor& t) { out[name] = t; });
  return out;
}

at::Tensor LanguageModel::hfOpWeight(const LinearOp& op, HfPass pass) {
  const auto* lowRank = dynamic_cast<const LowRankLinear*>(&op);
  if (pass == HfPass::Values || !lowRank) return op.denseWeight();
  return at::empty({op.outFeatures(), op.inFeatures()},
                   at::TensorOptions().dtype(lowRank->denseDtype()).device(at::kMeta));
}

at::Tensor LanguageModel::forSink(const at::Tensor& t) {
  return t.is_meta() ? t : t.detach().to(at::kCPU).contiguous();
}

int64_t LanguageModel::totalParams() const {
  std::unordered_set<const void*> seen;
  int64_t total = 0;
  for (const auto& p : parameters()) {
    if (seen.insert(p.unsafeGetTensorImpl()).second) total += p.numel();
  }
  return total;
}

at::Tensor LanguageModel::forwardHidden(const at::Tensor& ids, KVCache* cache) {
  if (cache) throw Error("this model is an encoder: incremental decoding with a cache is not supported");
  return hiddenStates(ids);
}

at::Tensor LanguageModel::hiddenStates(const at::Tensor& ids) {
  at::Tensor h = embed(ids);
  for (int64_t l = 0; l < m_config.numLayers; ++l) h = layer(l, h);
  return h;
}

void LanguageModel::promoteToFloat() {
  torch::NoGradGuard guard;
  auto promote = [](at::Tensor t) {
    if (t.defined() && t.is_floating_point() && t.scalar_type() != at::kFloat) t.set_data(t.to(at::kFloat));
  };
  for (auto& p : parameters()) promote(p);
  for (auto& b : buffers()) promote(b);
}

bool LanguageModel::keepsStoredDtype(const std::string& name) const {
  auto endsWith = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return endsWith("impl.weight") || endsWith("impl.a") || endsWith("impl.b");
}

c10::Device LanguageModel::device() const {
  auto params = parameters();
  return params.empty() ? c10::Device(c10::kCPU) : params.front().device();
}

}  // namespace ranklab::models

#include "models/architectures.h"

namespace ranklab::models {

namespace detail {

void loadDense(const WeightLoader& w, OpSlot& slot, const std::string& prefix) {
  auto dense = std::dynamic_pointer_cast<DenseLinear>(slot.impl());
  if (!dense) throw Error("loading '" + prefix + "': op is not dense (weights load before compression)");
  w.take(dense->weight(), prefix + ".weight");
  if (dense->mutableBias().defined()) w.into(dense->mutableBias(), prefix + ".bias");
}

}  // namespace detail

std::shared_ptr<LanguageModel> createModel(const io::ModelConfig& c, bool initialise) {
  auto positive = [&](int64_t v, const char* what) {
    if (v <= 0)
      throw Error("model config: " + std::string(what) + " must be positive, got " + std::to_string(v));
  };
  positive(c.vocabSize, "vocab size");
  positive(c.hiddenSize, "hidden size");
  positive(c.numLayers, "layer count");
  positive(c.numHeads, "head count");
  positive(c.numKvHeads, "kv head count");
  positive(c.intermediateSize, "intermediate size");
  positive(c.maxPositions, "context length");
  if (c.arch == io::Architecture::Bert) positive(c.typeVocabSize, "token type count");
  if (c.hiddenSize % c.numHeads != 0)
    throw Error("model config: hidden size " + std::to_string(c.hiddenSize) + " is not divisible by " +
                std::to_string(c.numHeads) + " heads");
  if (c.numHeads % c.numKvHeads != 0)
    throw Error("model config: " + std::to_string(c.numHeads) + " heads are not divisible by " +
                std::to_string(c.numKvHeads) + " kv heads");
  switch (c.arch) {
    case io::Architecture::Llama:
      if (c.headDim() % 2 != 0) throw Error("model config: rotary embeddings need an even head dimension");
      return createLlama(c, initialise);
    case io::Architecture::Gpt2:
      return createGpt2(c, initialise);
    case io::Architecture::Bert:
      return createBert(c, initialise);
  }
  throw Error("model config: unknown architecture");
}

}  // namespace ranklab::models
