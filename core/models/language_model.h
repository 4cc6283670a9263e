// LanguageModel: the common face of RankLab's LibTorch models (GPT-2, LLaMA-family, BERT-family).
//
// Tensors: token ids are int64 [B, T]; logits are float [B, T, vocab]; classification logits are
// [B, numLabels]. Every tensor lives on the model's device (see LanguageModel::device()).
// Thread-safety: a model is used by one thread at a time.
#pragma once

#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "io/tensor_map.h"
#include "models/linear_op.h"

namespace ranklab::models {

// Per-layer key/value cache for incremental decoding. keys[l], values[l]: [B, kvHeads, T, headDim].
struct KVCache {
  std::vector<at::Tensor> keys;
  std::vector<at::Tensor> values;
  int64_t length = 0;  // tokens already in the cache
  void clear() {
    keys.clear();
    values.clear();
    length = 0;
  }
};

class LanguageModel : public torch::nn::Module {
 public:
  explicit LanguageModel(io::ModelConfig config) : m_config(std::move(config)) {}

  const io::ModelConfig& config() const { return m_config; }
  OpRegistry& ops() { return m_ops; }
  const OpRegistry& ops() const { return m_ops; }

  virtual bool isCausal() const = 0;
  virtual bool hasLmHead() const { return true; }
  virtual bool hasClassifier() const { return false; }

  // Causal LMs: next-token logits [B, T, vocab]. With a cache, positions continue at cache->length
  // and the cache grows by T. Encoders: masked-LM logits (throws ranklab::Error without an MLM
  // head; the cache must be null). Right-padding is harmless for causal models: a position never
  // attends to later ones.
  virtual at::Tensor forward(const at::Tensor& ids, KVCache* cache = nullptr) = 0;
  // forward() without the head: the hidden states head() turns into logits, [B, T, hidden], with the
  // cache as forward() uses it. For the tokens only the cache needs (a shared context scored once):
  // the LM head's vocabulary-sized product, a third of a GPT-2 forward, is skipped. Throws
  // ranklab::Error for encoders given a cache.
  virtual at::Tensor forwardHidden(const at::Tensor& ids, KVCache* cache = nullptr);

  // The stack one layer at a time, for the stages that stream through a model layer by layer and
  // for activation checkpointing. Without a cache and padding, forward(ids) equals
  // head(layer(L - 1, ... layer(0, embed(ids)))) (classify() likewise ends in the classifier).
  //  - embed: ids [B, T] -> hidden states [B, T, hidden] float32 (positions from 0);
  //  - layer: hidden [B, T, hidden] -> [B, T, hidden] through layer `index` in [0, numLayers);
  //    `attentionMask` [B, T] (1 = real token) is for encoders with padded batches (may be undefined);
  //  - head: the final norm and LM head, hidden -> logits [B, T, vocab] (throws ranklab::Error for
  //    an encoder without a masked-LM head).
  virtual at::Tensor embed(const at::Tensor& ids) = 0;
  virtual at::Tensor layer(int64_t index, const at::Tensor& hidden, const at::Tensor& attentionMask = {}) = 0;
  virtual at::Tensor head(const at::Tensor& hidden) = 0;
  // embed and every layer: the hidden states head() turns into logits, [B, T, hidden].
  at::Tensor hiddenStates(const at::Tensor& ids);
  // The parameters layer(index) reads, and those head() reads (activation checkpointing names them
  // to its recomputed pieces).
  virtual std::vector<at::Tensor> layerParameters(int64_t index) const = 0;
  virtual std::vector<at::Tensor> headParameters() const = 0;

  // Activation checkpointing for training through the model (models/recompute.h): when on, the
  // next-token task loss (lowrank::taskLoss) recomputes each decoder layer, and the LM head in chunks,
  // during the backward pass instead of keeping their activations. Off by default; encoders'
  // classification loss ignores it.
  void setActivationCheckpointing(bool on) { m_activationCheckpointing = on; }
  bool activationCheckpointing() const { return m_activationCheckpointing; }

  // Encoders with a classification head: ids [B, T], attentionMask [B, T] (1 = real token,
  // 0 = padding) -> [B, numLabels]. Throws ranklab::Error for models without a classifier.
  virtual at::Tensor classify(const at::Tensor& ids, const at::Tensor& attentionMask);

  // Loads Hugging Face-named tensors (as transformers names them for this architecture). Strict:
  // every tensor the model needs must be present with the right shape; the error names `source`
  // and the tensor. Tensors the model does not use are ignored.
  virtual void loadHfWeights(const io::TensorMap& tensors, const std::string& source) = 0;
  // The model's weights under Hugging Face names (dense weights of the current op implementations),
  // one at a time and always in the same order: `sink(name, tensor)` gets a contiguous CPU tensor in
  // the dtype the model holds it in (a loaded file's stored dtype; float32 for a dense weight computed
  // from factors). A memory-mapped model's tensors are views of its file, and a computed weight lives
  // only for the call, so a writer that converts and writes each tensor as it comes never holds a
  // second copy of the model.
  // With HfPass::Layout, a weight that would be computed (from factors) comes as a meta tensor of its
  // shape and dtype, without being computed: a writer's first pass over the names and shapes.
  using HfWeightSink = std::function<void(const std::string& name, const at::Tensor& tensor)>;
  enum class HfPass { Values, Layout };
  void forEachHfWeight(const HfWeightSink& sink, HfPass pass = HfPass::Values) const {
    visitHfWeights(sink, pass);
  }
  // All of forEachHfWeight's tensors at once.
  io::TensorMap hfWeights() const;

  // Distinct parameters (a tied embedding counts once).
  int64_t totalParams() const;
  c10::Device device() const;

  // Weights loaded from a file keep their stored dtype (fp16, bf16 or fp32; detail::WeightLoader::take)
  // and are computed in float32. Training needs float32 parameters: this converts every floating
  // parameter and buffer that is not float32 (in place, keeping the tensors' identity), so an fp16
  // model then costs what an fp32 one does. Cheap when everything is float32 already.
  void promoteToFloat();
  // Whether the parameter `name` (a named_parameters() key) may keep its stored dtype when loaded:
  // the ops' matrices and the embeddings and heads the model converts per use.
  virtual bool keepsStoredDtype(const std::string& name) const;

 protected:
  // forEachHfWeight's work, per architecture.
  virtual void visitHfWeights(const HfWeightSink& sink, HfPass pass) const = 0;
  // What visitHfWeights hands the sink for an op's weight: its dense weight, or under HfPass::Layout
  // a meta tensor of that weight's shape and dtype when the weight would be computed from factors.
  static at::Tensor hfOpWeight(const LinearOp& op, HfPass pass);
  // A weight as the sink gets it: a contiguous CPU tensor (a meta tensor as it is).
  static at::Tensor forSink(const at::Tensor& t);

  io::ModelConfig m_config;
  OpRegistry m_ops;
  bool m_activationCheckpointing = false;
};

// Builds a model for `config`, randomly initialised, or with uninitialised weights when
// `initialise` is false (the loader's case: every weight is then overwritten, and initialising a
// large model would cost seconds). Throws ranklab::Error for inconsistent configs.
std::shared_ptr<LanguageModel> createModel(const io::ModelConfig& config, bool initialise = true);

}  // namespace ranklab::models
