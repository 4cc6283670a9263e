// LLaMA-family decoder (llama, mistral, qwen2-style): RMSNorm, rotary position embeddings in the
// Hugging Face rotate-half layout, grouped-query attention, SwiGLU MLP, tied or untied LM head.
// llama2.c and GGUF weights are permuted into this layout by their readers.
#include <torch/torch.h>

#include "common/compat.h"
#include "common/error.h"
#include "models/architectures.h"
#include "models/attention_util.h"
#include "models/weight_loader.h"

namespace ranklab::models {
namespace {

class RmsNorm : public torch::nn::Module {
 public:
  RmsNorm(int64_t dim, double eps) : m_eps(eps) { weight = register_parameter("weight", torch::ones({dim})); }
  at::Tensor forward(const at::Tensor& x) {
    auto xf = x.to(at::kFloat);
    auto normed = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + m_eps);
    return normed.to(x.scalar_type()) * weight;
  }
  at::Tensor weight;

 private:
  double m_eps;
};

at::Tensor rotateHalf(const at::Tensor& x) {
  const auto half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

struct LlamaBlock : torch::nn::Module {
  std::shared_ptr<RmsNorm> attnNorm, mlpNorm;
  std::shared_ptr<OpSlot> q, k, v, o, gate, up, down;
};

class LlamaModel : public LanguageModel {
 public:
  LlamaModel(const io::ModelConfig& c, bool init) : LanguageModel(c) {
    const int64_t d = c.hiddenSize, hd = c.headDim(), kvDim = c.numKvHeads * hd, ff = c.intermediateSize;
    m_embed = register_parameter("embed_tokens", detail::initialWeight({c.vocabSize, d}, init, 0.02));
    for (int64_t i = 0; i < c.numLayers; ++i) {
      auto block = std::make_shared<LlamaBlock>();
      block->attnNorm = block->register_module("input_layernorm", std::make_shared<RmsNorm>(d, c.normEps));
      block->mlpNorm =
          block->register_module("post_attention_layernorm", std::make_shared<RmsNorm>(d, c.normEps));
      auto addOp = [&](const char* kind, const char* group, int64_t in, int64_t out, bool bias) {
        return detail::addDenseOp(*block, m_ops, i, group, kind, in, out, bias, init);
      };
      block->q = addOp("q", "attn", d, d, c.qkvBias);
      block->k = addOp("k", "attn", d, kvDim, c.qkvBias);
      block->v = addOp("v", "attn", d, kvDim, c.qkvBias);
      block->o = addOp("o", "attn", d, d, c.oBias);
      block->gate = addOp("gate", "mlp", d, ff, c.mlpBias);
      block->up = addOp("up", "mlp", d, ff, c.mlpBias);
      block->down = addOp("down", "mlp", ff, d, c.mlpBias);
      m_blocks.push_back(register_module("layers_" + std::to_string(i), block));
    }
    m_norm = register_module("norm", std::make_shared<RmsNorm>(d, c.normEps));
    if (!c.tieWordEmbeddings)
      m_lmHead = register_parameter("lm_head", detail::initialWeight({c.vocabSize, d}, init, 0.02));
    auto invFreq =
        1.0 / torch::pow(c.ropeTheta, torch::arange(0, hd, 2, torch::kDouble) / static_cast<double>(hd));
    m_invFreq = register_buffer("inv_freq", invFreq.to(torch::kFloat));
  }

  bool isCausal() const override { return true; }
  bool keepsStoredDtype(const std::string& name) const override {
    return name == "embed_tokens" || name == "lm_head" || LanguageModel::keepsStoredDtype(name);
  }

  at::Tensor forward(const at::Tensor& ids, KVCache* cache) override {
    return head(forwardHidden(ids, cache));
  }
  at::Tensor forwardHidden(const at::Tensor& ids, KVCache* cache) override {
    const int64_t t = ids.size(1);
    const int64_t past = cache ? cache->length : 0;
    detail::checkContext(past, t, m_config.maxPositions);
    at::Tensor h = torch::embedding(m_embed, ids).to(at::kFloat);
    const auto rope = rotary(past, t, h);
    for (size_t l = 0; l < m_blocks.size(); ++l) h = block(l, h, rope, past, cache);
    if (cache) cache->length += t;
    return h;
  }

  at::Tensor embed(const at::Tensor& ids) override {
    detail::checkContext(0, ids.size(1), m_config.maxPositions);
    return torch::embedding(m_embed, ids).to(at::kFloat);
  }
  at::Tensor layer(int64_t index, const at::Tensor& h, const at::Tensor&) override {
    const int64_t t = h.size(1);
    return block(static_cast<size_t>(index), h, rotary(0, t, h), 0, nullptr);
  }
  at::Tensor head(const at::Tensor& hidden) override {
    const at::Tensor h = m_norm->forward(hidden);
    return torch::nn::functional::linear(h, computeAs(m_lmHead.defined() ? m_lmHead : m_embed, h));
  }
  std::vector<at::Tensor> layerParameters(int64_t index) const override {
    return m_blocks.at(static_cast<size_t>(index))->parameters();
  }
  std::vector<at::Tensor> headParameters() const override {
    return {m_norm->weight, m_lmHead.defined() ? m_lmHead : m_embed};
  }

  void loadHfWeights(const io::TensorMap& tensors, const std::string& source) override {
    detail::WeightLoader w(tensors, source);
    w.take(m_embed, "model.embed_tokens.weight");
    for (size_t i = 0; i < m_blocks.size(); ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      auto& blk = *m_blocks[i];
      w.into(blk.attnNorm->weight, p + "input_layernorm.weight");
      w.into(blk.mlpNorm->weight, p + "post_attention_layernorm.weight");
      loadDense(w, *blk.q, p + "self_attn.q_proj");
      loadDense(w, *blk.k, p + "self_attn.k_proj");
      loadDense(w, *blk.v, p + "self_attn.v_proj");
      loadDense(w, *blk.o, p + "self_attn.o_proj");
      loadDense(w, *blk.gate, p + "mlp.gate_proj");
      loadDense(w, *blk.up, p + "mlp.up_proj");
      loadDense(w, *blk.down, p + "mlp.down_proj");
    }
    w.into(m_norm->weight, "model.norm.weight");
    if (m_lmHead.defined()) w.take(m_lmHead, "lm_head.weight");
  }

  void visitHfWeights(const HfWeightSink& sink, HfPass pass) const override {
    auto put = [&](const std::string& name, const at::Tensor& t) { sink(name, forSink(t)); };
    put("model.embed_tokens.weight", m_embed);
    for (size_t i = 0; i < m_blocks.size(); ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      const auto& blk = *m_blocks[i];
      put(p + "input_layernorm.weight", blk.attnNorm->weight);
      put(p + "post_attention_layernorm.weight", blk.mlpNorm->weight);
      const std::pair<const char*, const OpSlot*> slots[] = {
          {"self_attn.q_proj", blk.q.get()}, {"self_attn.k_proj", blk.k.get()},
          {"self_attn.v_proj", blk.v.get()}, {"self_attn.o_proj", blk.o.get()},
          {"mlp.gate_proj", blk.gate.get()}, {"mlp.up_proj", blk.up.get()},
          {"mlp.down_proj", blk.down.get()}};
      for (const auto& [name, slot] : slots) {
        put(p + name + ".weight", hfOpWeight(*slot->impl(), pass));
        if (slot->impl()->bias().defined()) put(p + name + ".bias", slot->impl()->bias());
      }
    }
    put("model.norm.weight", m_norm->weight);
    if (m_lmHead.defined()) put("lm_head.weight", m_lmHead);
  }

 private:
  // Rotary tables for positions past..past+t-1: cos and sin [t, headDim] (frequencies repeated for
  // both halves), in h's dtype and on its device.
  std::pair<at::Tensor, at::Tensor> rotary(int64_t past, int64_t t, const at::Tensor& h) const {
    auto pos = torch::arange(past, past + t, torch::TensorOptions().dtype(torch::kFloat).device(h.device()));
    auto freqs = torch::outer(pos, m_invFreq);
    auto emb = torch::cat({freqs, freqs}, -1);
    return {emb.cos().to(h.scalar_type()), emb.sin().to(h.scalar_type())};
  }

  at::Tensor block(size_t l, at::Tensor h, const std::pair<at::Tensor, at::Tensor>& rope, int64_t past,
                   KVCache* cache) {
    const auto& c = m_config;
    const auto& [cos, sin] = rope;
    auto& blk = *m_blocks.at(l);
    auto x = blk.attnNorm->forward(h);
    auto q = detail::splitHeads(blk.q->forward(x), c.numHeads);
    auto k = detail::splitHeads(blk.k->forward(x), c.numKvHeads);
    auto v = detail::splitHeads(blk.v->forward(x), c.numKvHeads);
    q = q * cos + rotateHalf(q) * sin;
    k = k * cos + rotateHalf(k) * sin;
    std::tie(k, v) = detail::appendCache(cache, l, k, v);
    h = h + blk.o->forward(detail::mergeHeads(detail::causalAttention(q, k, v, past)));
    x = blk.mlpNorm->forward(h);
    return h + blk.down->forward(torch::silu(blk.gate->forward(x)) * blk.up->forward(x));
  }

  std::vector<std::shared_ptr<LlamaBlock>> m_blocks;
  std::shared_ptr<RmsNorm> m_norm;
  at::Tensor m_embed, m_lmHead, m_invFreq;
};

}  // namespace

std::shared_ptr<LanguageModel> createLlama(const io::ModelConfig& config, bool initialise) {
  return std::make_shared<LlamaModel>(config, initialise);
}

}  // namespace ranklab::models
