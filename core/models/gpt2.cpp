// GPT-2 decoder: learned positions, pre-LayerNorm blocks, GELU (tanh approximation, "gelu_new"),
// LM head tied to the token embedding. Hugging Face stores attention and MLP weights as Conv1D
// ([in, out]) with q, k and v fused in c_attn; RankLab splits c_attn into separate q, k, v ops so
// each can get its own rank, and fuses them again on export.
#include <torch/torch.h>

#include <algorithm>

#include "common/compat.h"
#include "common/error.h"
#include "models/architectures.h"
#include "models/attention_util.h"

namespace ranklab::models {
namespace {

// The shape and dtype of cat(parts, 1) as a meta tensor (a layout pass's c_attn, when a part is
// computed from factors and so comes as a meta tensor itself).
at::Tensor metaCat(const std::vector<at::Tensor>& parts) {
  int64_t cols = 0;
  auto dtype = parts.front().scalar_type();
  for (const auto& t : parts) {
    cols += t.size(1);
    dtype = at::promote_types(dtype, t.scalar_type());
  }
  return at::empty({parts.front().size(0), cols}, at::TensorOptions().dtype(dtype).device(at::kMeta));
}

struct Gpt2Block : torch::nn::Module {
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  std::shared_ptr<OpSlot> q, k, v, o, up, down;
};

at::Tensor activation(const std::string& name, const at::Tensor& x) {
  if (name == "gelu") return torch::gelu(x);
  if (name == "relu") return torch::relu(x);
  return torch::gelu(x, "tanh");  // gelu_new, gelu_pytorch_tanh, gelu_fast
}

class Gpt2Model : public LanguageModel {
 public:
  Gpt2Model(const io::ModelConfig& c, bool init) : LanguageModel(c) {
    const int64_t d = c.hiddenSize, ff = c.intermediateSize;
    m_wte = register_parameter("wte", detail::initialWeight({c.vocabSize, d}, init, 0.02));
    m_wpe = register_parameter("wpe", detail::initialWeight({c.maxPositions, d}, init, 0.01));
    auto lnOptions = torch::nn::LayerNormOptions({d}).eps(c.normEps);
    for (int64_t i = 0; i < c.numLayers; ++i) {
      auto block = std::make_shared<Gpt2Block>();
      block->ln1 = block->register_module("ln_1", torch::nn::LayerNorm(lnOptions));
      block->ln2 = block->register_module("ln_2", torch::nn::LayerNorm(lnOptions));
      auto addOp = [&](const char* kind, const char* group, int64_t in, int64_t out) {
        return detail::addDenseOp(*block, m_ops, i, group, kind, in, out, /*bias=*/true, init);
      };
      block->q = addOp("q", "attn", d, d);
      block->k = addOp("k", "attn", d, d);
      block->v = addOp("v", "attn", d, d);
      block->o = addOp("o", "attn", d, d);
      block->up = addOp("up", "mlp", d, ff);
      block->down = addOp("down", "mlp", ff, d);
      m_blocks.push_back(register_module("h_" + std::to_string(i), block));
    }
    m_lnf = register_module("ln_f", torch::nn::LayerNorm(lnOptions));
  }

  bool isCausal() const override { return true; }
  bool keepsStoredDtype(const std::string& name) const override {
    return name == "wte" || name == "wpe" || LanguageModel::keepsStoredDtype(name);
  }

  at::Tensor forward(const at::Tensor& ids, KVCache* cache) override {
    return head(forwardHidden(ids, cache));
  }
  at::Tensor forwardHidden(const at::Tensor& ids, KVCache* cache) override {
    const int64_t t = ids.size(1);
    const int64_t past = cache ? cache->length : 0;
    at::Tensor h = embedAt(ids, past);
    for (size_t l = 0; l < m_blocks.size(); ++l) h = block(l, h, past, cache);
    if (cache) cache->length += t;
    return h;
  }

  at::Tensor embed(const at::Tensor& ids) override { return embedAt(ids, 0); }
  at::Tensor layer(int64_t index, const at::Tensor& h, const at::Tensor&) override {
    return block(static_cast<size_t>(index), h, 0, nullptr);
  }
  at::Tensor head(const at::Tensor& hidden) override {
    const at::Tensor h = m_lnf->forward(hidden);
    return torch::nn::functional::linear(h, computeAs(m_wte, h));
  }
  std::vector<at::Tensor> layerParameters(int64_t index) const override {
    return m_blocks.at(static_cast<size_t>(index))->parameters();
  }
  std::vector<at::Tensor> headParameters() const override {
    auto p = m_lnf->parameters();
    p.push_back(m_wte);
    return p;
  }

  void loadHfWeights(const io::TensorMap& tensors, const std::string& source) override {
    // GPT2LMHeadModel prefixes "transformer."; a bare GPT2Model does not.
    const std::string root = tensors.count("transformer.wte.weight") ? "transformer." : "";
    detail::WeightLoader w(tensors, source);
    const auto& c = m_config;
    const int64_t d = c.hiddenSize, ff = c.intermediateSize;
    w.take(m_wte, root + "wte.weight");
    w.take(m_wpe, root + "wpe.weight");
    for (size_t i = 0; i < m_blocks.size(); ++i) {
      const std::string p = root + "h." + std::to_string(i) + ".";
      auto& blk = *m_blocks[i];
      w.into(blk.ln1->weight, p + "ln_1.weight");
      w.into(blk.ln1->bias, p + "ln_1.bias");
      w.into(blk.ln2->weight, p + "ln_2.weight");
      w.into(blk.ln2->bias, p + "ln_2.bias");
      // Conv1D stores [in, out]; c_attn's out is q | k | v.
      auto cAttnW = w.get(p + "attn.c_attn.weight", {d, 3 * d});
      auto cAttnB = w.get(p + "attn.c_attn.bias", {3 * d});
      setDense(*blk.q, cAttnW.narrow(1, 0, d).t(), cAttnB.narrow(0, 0, d));
      setDense(*blk.k, cAttnW.narrow(1, d, d).t(), cAttnB.narrow(0, d, d));
      setDense(*blk.v, cAttnW.narrow(1, 2 * d, d).t(), cAttnB.narrow(0, 2 * d, d));
      setDense(*blk.o, w.get(p + "attn.c_proj.weight", {d, d}).t(), w.get(p + "attn.c_proj.bias", {d}));
      setDense(*blk.up, w.get(p + "mlp.c_fc.weight", {d, ff}).t(), w.get(p + "mlp.c_fc.bias", {ff}));
      setDense(*blk.down, w.get(p + "mlp.c_proj.weight", {ff, d}).t(), w.get(p + "mlp.c_proj.bias", {d}));
    }
    w.into(m_lnf->weight, root + "ln_f.weight");
    w.into(m_lnf->bias, root + "ln_f.bias");
  }

  void visitHfWeights(const HfWeightSink& sink, HfPass pass) const override {
    auto put = [&](const std::string& name, const at::Tensor& t) { sink(name, forSink(t)); };
    put("transformer.wte.weight", m_wte);
    put("transformer.wpe.weight", m_wpe);
    for (size_t i = 0; i < m_blocks.size(); ++i) {
      const std::string p = "transformer.h." + std::to_string(i) + ".";
      const auto& blk = *m_blocks[i];
      put(p + "ln_1.weight", blk.ln1->weight);
      put(p + "ln_1.bias", blk.ln1->bias);
      put(p + "ln_2.weight", blk.ln2->weight);
      put(p + "ln_2.bias", blk.ln2->bias);
      auto wOf = [&](const OpSlot& s) {
        return hfOpWeight(*s.impl(), pass).detach().t();
      };  // back to Conv1D [in, out]
      auto bOf = [](const OpSlot& s) { return s.impl()->bias().detach(); };
      const std::vector<at::Tensor> qkv = {wOf(*blk.q), wOf(*blk.k), wOf(*blk.v)};
      put(p + "attn.c_attn.weight",
          std::any_of(qkv.begin(), qkv.end(), [](const at::Tensor& t) { return t.is_meta(); })
              ? metaCat(qkv)
              : torch::cat(qkv, 1));
      put(p + "attn.c_attn.bias", torch::cat({bOf(*blk.q), bOf(*blk.k), bOf(*blk.v)}, 0));
      put(p + "attn.c_proj.weight", wOf(*blk.o));
      put(p + "attn.c_proj.bias", bOf(*blk.o));
      put(p + "mlp.c_fc.weight", wOf(*blk.up));
      put(p + "mlp.c_fc.bias", bOf(*blk.up));
      put(p + "mlp.c_proj.weight", wOf(*blk.down));
      put(p + "mlp.c_proj.bias", bOf(*blk.down));
    }
    put("transformer.ln_f.weight", m_lnf->weight);
    put("transformer.ln_f.bias", m_lnf->bias);
  }

 private:
  at::Tensor embedAt(const at::Tensor& ids, int64_t past) {
    const int64_t t = ids.size(1);
    detail::checkContext(past, t, m_config.maxPositions);
    auto pos = torch::arange(past, past + t, torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
    return torch::embedding(m_wte, ids).to(at::kFloat) + torch::embedding(m_wpe, pos).to(at::kFloat);
  }

  at::Tensor block(size_t l, at::Tensor h, int64_t past, KVCache* cache) {
    const auto& c = m_config;
    auto& blk = *m_blocks.at(l);
    auto x = blk.ln1->forward(h);
    auto q = detail::splitHeads(blk.q->forward(x), c.numHeads);
    auto k = detail::splitHeads(blk.k->forward(x), c.numHeads);
    auto v = detail::splitHeads(blk.v->forward(x), c.numHeads);
    std::tie(k, v) = detail::appendCache(cache, l, k, v);
    h = h + blk.o->forward(detail::mergeHeads(detail::causalAttention(q, k, v, past)));
    x = blk.ln2->forward(h);
    return h + blk.down->forward(activation(c.hiddenAct, blk.up->forward(x)));
  }

  static void setDense(OpSlot& slot, const at::Tensor& weight, const at::Tensor& bias) {
    auto dense = std::dynamic_pointer_cast<DenseLinear>(slot.impl());
    if (!dense) throw Error("loading GPT-2 weights: op is not dense (weights load before compression)");
    detail::WeightLoader::share(dense->weight(), weight);
    detail::WeightLoader::copy(dense->mutableBias(), bias);
  }

  std::vector<std::shared_ptr<Gpt2Block>> m_blocks;
  torch::nn::LayerNorm m_lnf{nullptr};
  at::Tensor m_wte, m_wpe;
};

}  // namespace

std::shared_ptr<LanguageModel> createGpt2(const io::ModelConfig& config, bool initialise) {
  return std::make_shared<Gpt2Model>(config, initialise);
}

}  // namespace ranklab::models
