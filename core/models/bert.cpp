// BERT-family encoder: word + position + token-type embeddings, post-LayerNorm blocks, GELU (erf),
// a masked-LM head tied to the word embeddings (BertForMaskedLM) and/or a pooler + classifier
// (BertForSequenceClassification). Old TensorFlow-converted checkpoints name LayerNorm parameters
// gamma/beta; both spellings load.
#include <torch/torch.h>

#include "common/compat.h"
#include "common/error.h"
#include "models/architectures.h"
#include "models/attention_util.h"

namespace ranklab::models {
namespace {

struct BertBlock : torch::nn::Module {
  std::shared_ptr<OpSlot> q, k, v, o, up, down;
  torch::nn::LayerNorm attnNorm{nullptr}, outNorm{nullptr};
};

at::Tensor activation(const std::string& name, const at::Tensor& x) {
  if (name == "relu") return torch::relu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  return torch::gelu(x);
}

class BertModel : public LanguageModel {
 public:
  BertModel(const io::ModelConfig& c, bool init) : LanguageModel(c) {
    const int64_t d = c.hiddenSize, ff = c.intermediateSize;
    auto lnOptions = torch::nn::LayerNormOptions({d}).eps(c.normEps);
    m_word = register_parameter("word_embeddings", detail::initialWeight({c.vocabSize, d}, init, 0.02));
    m_pos = register_parameter("position_embeddings", detail::initialWeight({c.maxPositions, d}, init, 0.02));
    m_type =
        register_parameter("token_type_embeddings", detail::initialWeight({c.typeVocabSize, d}, init, 0.02));
    m_embNorm = register_module("embeddings_LayerNorm", torch::nn::LayerNorm(lnOptions));
    for (int64_t i = 0; i < c.numLayers; ++i) {
      auto block = std::make_shared<BertBlock>();
      auto addOp = [&](const char* kind, const char* group, int64_t in, int64_t out) {
        return detail::addDenseOp(*block, m_ops, i, group, kind, in, out, /*bias=*/true, init);
      };
      block->q = addOp("q", "attn", d, d);
      block->k = addOp("k", "attn", d, d);
      block->v = addOp("v", "attn", d, d);
      block->o = addOp("o", "attn", d, d);
      block->up = addOp("up", "mlp", d, ff);
      block->down = addOp("down", "mlp", ff, d);
      block->attnNorm = block->register_module("attention_LayerNorm", torch::nn::LayerNorm(lnOptions));
      block->outNorm = block->register_module("output_LayerNorm", torch::nn::LayerNorm(lnOptions));
      m_blocks.push_back(register_module("layer_" + std::to_string(i), block));
    }
    if (c.numLabels > 0) {
      m_pooler = register_module("pooler", torch::nn::Linear(d, d));
      m_classifier = register_module("classifier", torch::nn::Linear(d, c.numLabels));
    } else {
      m_mlmDense = register_module("mlm_dense", torch::nn::Linear(d, d));
      m_mlmNorm = register_module("mlm_LayerNorm", torch::nn::LayerNorm(lnOptions));
      m_mlmBias = register_parameter("mlm_bias", torch::zeros({c.vocabSize}));
    }
  }

  bool isCausal() const override { return false; }
  bool keepsStoredDtype(const std::string& name) const override {
    return name == "word_embeddings" || name == "position_embeddings" || name == "token_type_embeddings" ||
           LanguageModel::keepsStoredDtype(name);
  }
  bool hasLmHead() const override { return !m_mlmDense.is_empty(); }
  bool hasClassifier() const override { return !m_classifier.is_empty(); }

  at::Tensor forward(const at::Tensor& ids, KVCache* cache) override {
    if (cache) throw Error("BERT is an encoder: incremental decoding with a cache is not supported");
    if (!hasLmHead()) throw Error("this BERT model has a classification head, not a masked-LM head");
    return head(encode(ids, {}));
  }

  at::Tensor embed(const at::Tensor& ids) override {
    const int64_t t = ids.size(1);
    detail::checkContext(0, t, m_config.maxPositions);
    auto pos = torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
    at::Tensor h = torch::embedding(m_word, ids).to(at::kFloat) +
                   torch::embedding(m_pos, pos).to(at::kFloat) + m_type[0].to(at::kFloat);
    return m_embNorm->forward(h);
  }
  at::Tensor layer(int64_t index, const at::Tensor& h, const at::Tensor& attentionMask) override {
    return block(static_cast<size_t>(index), h, additiveMask(attentionMask, h));
  }
  at::Tensor head(const at::Tensor& hidden) override {
    if (!hasLmHead()) throw Error("this BERT model has a classification head, not a masked-LM head");
    const at::Tensor h = m_mlmNorm->forward(activation(m_config.hiddenAct, m_mlmDense->forward(hidden)));
    return torch::nn::functional::linear(h, computeAs(m_word, h), m_mlmBias);
  }
  std::vector<at::Tensor> layerParameters(int64_t index) const override {
    return m_blocks.at(static_cast<size_t>(index))->parameters();
  }
  std::vector<at::Tensor> headParameters() const override {
    if (!hasLmHead()) return {};
    auto p = m_mlmDense->parameters();
    for (const auto& t : m_mlmNorm->parameters()) p.push_back(t);
    p.push_back(m_word);
    p.push_back(m_mlmBias);
    return p;
  }

  at::Tensor classify(const at::Tensor& ids, const at::Tensor& attentionMask) override {
    if (!hasClassifier()) return LanguageModel::classify(ids, attentionMask);
    auto h = encode(ids, attentionMask);
    auto pooled = torch::tanh(m_pooler->forward(h.select(1, 0)));
    return m_classifier->forward(pooled);
  }

  void loadHfWeights(const io::TensorMap& raw, const std::string& source) override {
    // Normalise the TF-era names (LayerNorm.gamma/beta) and the optional "bert." prefix.
    io::TensorMap tensors;
    for (const auto& [name, t] : raw) {
      std::string n = name;
      auto replaceSuffix = [&](const std::string& from, const std::string& to) {
        if (n.size() >= from.size() && n.compare(n.size() - from.size(), from.size(), from) == 0)
          n = n.substr(0, n.size() - from.size()) + to;
      };
      replaceSuffix("LayerNorm.gamma", "LayerNorm.weight");
      replaceSuffix("LayerNorm.beta", "LayerNorm.bias");
      if (n.rfind("bert.", 0) == 0) n = n.substr(5);
      tensors[n] = t;
    }
    detail::WeightLoader w(tensors, source);
    w.take(m_word, "embeddings.word_embeddings.weight");
    w.take(m_pos, "embeddings.position_embeddings.weight");
    w.take(m_type, "embeddings.token_type_embeddings.weight");
    w.into(m_embNorm->weight, "embeddings.LayerNorm.weight");
    w.into(m_embNorm->bias, "embeddings.LayerNorm.bias");
    for (size_t i = 0; i < m_blocks.size(); ++i) {
      const std::string p = "encoder.layer." + std::to_string(i) + ".";
      auto& blk = *m_blocks[i];
      detail::loadDense(w, *blk.q, p + "attention.self.query");
      detail::loadDense(w, *blk.k, p + "attention.self.key");
      detail::loadDense(w, *blk.v, p + "attention.self.value");
      detail::loadDense(w, *blk.o, p + "attention.output.dense");
      w.into(blk.attnNorm->weight, p + "attention.output.LayerNorm.weight");
      w.into(blk.attnNorm->bias, p + "attention.output.LayerNorm.bias");
      detail::loadDense(w, *blk.up, p + "intermediate.dense");
      detail::loadDense(w, *blk.down, p + "output.dense");
      w.into(blk.outNorm->weight, p + "output.LayerNorm.weight");
      w.into(blk.outNorm->bias, p + "output.LayerNorm.bias");
    }
    if (hasClassifier()) {
      w.into(m_pooler->weight, "pooler.dense.weight");
      w.into(m_pooler->bias, "pooler.dense.bias");
      w.into(m_classifier->weight, "classifier.weight");
      w.into(m_classifier->bias, "classifier.bias");
    } else {
      w.into(m_mlmDense->weight, "cls.predictions.transform.dense.weight");
      w.into(m_mlmDense->bias, "cls.predictions.transform.dense.bias");
      w.into(m_mlmNorm->weight, "cls.predictions.transform.LayerNorm.weight");
      w.into(m_mlmNorm->bias, "cls.predictions.transform.LayerNorm.bias");
      w.into(m_mlmBias, "cls.predictions.bias");
    }
  }

  void visitHfWeights(const HfWeightSink& sink, HfPass pass) const override {
    auto put = [&](const std::string& name, const at::Tensor& t) { sink(name, forSink(t)); };
    put("bert.embeddings.word_embeddings.weight", m_word);
    put("bert.embeddings.position_embeddings.weight", m_pos);
    put("bert.embeddings.token_type_embeddings.weight", m_type);
    put("bert.embeddings.LayerNorm.weight", m_embNorm->weight);
    put("bert.embeddings.LayerNorm.bias", m_embNorm->bias);
    for (size_t i = 0; i < m_blocks.size(); ++i) {
      const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
      const auto& blk = *m_blocks[i];
      const std::pair<const char*, const OpSlot*> slots[] = {
          {"attention.self.query", blk.q.get()}, {"attention.self.key", blk.k.get()},
          {"attention.self.value", blk.v.get()}, {"attention.output.dense", blk.o.get()},
          {"intermediate.dense", blk.up.get()},  {"output.dense", blk.down.get()}};
      for (const auto& [name, slot] : slots) {
        put(p + name + ".weight", hfOpWeight(*slot->impl(), pass));
        put(p + name + ".bias", slot->impl()->bias());
      }
      put(p + "attention.output.LayerNorm.weight", blk.attnNorm->weight);
      put(p + "attention.output.LayerNorm.bias", blk.attnNorm->bias);
      put(p + "output.LayerNorm.weight", blk.outNorm->weight);
      put(p + "output.LayerNorm.bias", blk.outNorm->bias);
    }
    if (hasClassifier()) {
      put("bert.pooler.dense.weight", m_pooler->weight);
      put("bert.pooler.dense.bias", m_pooler->bias);
      put("classifier.weight", m_classifier->weight);
      put("classifier.bias", m_classifier->bias);
    } else {
      put("cls.predictions.transform.dense.weight", m_mlmDense->weight);
      put("cls.predictions.transform.dense.bias", m_mlmDense->bias);
      put("cls.predictions.transform.LayerNorm.weight", m_mlmNorm->weight);
      put("cls.predictions.transform.LayerNorm.bias", m_mlmNorm->bias);
      put("cls.predictions.bias", m_mlmBias);
      put("cls.predictions.decoder.weight", m_word);
      put("cls.predictions.decoder.bias", m_mlmBias);
    }
  }

 private:
  // ids [B, T], attentionMask [B, T] (may be undefined = all tokens real) -> hidden [B, T, d].
  at::Tensor encode(const at::Tensor& ids, const at::Tensor& attentionMask) {
    at::Tensor h = embed(ids);
    const at::Tensor mask = additiveMask(attentionMask, h);
    for (size_t l = 0; l < m_blocks.size(); ++l) h = block(l, h, mask);
    return h;
  }

  // [B, 1, 1, T]: padding keys get a large negative score (HF uses the dtype's minimum); undefined
  // when every token is real.
  static at::Tensor additiveMask(const at::Tensor& attentionMask, const at::Tensor& h) {
    if (!attentionMask.defined()) return {};
    return (1.0 - attentionMask.to(h.scalar_type())).view({h.size(0), 1, 1, h.size(1)}) * -1e9;
  }

  at::Tensor block(size_t l, at::Tensor h, const at::Tensor& mask) {
    const auto& c = m_config;
    auto& blk = *m_blocks.at(l);
    auto q = detail::splitHeads(blk.q->forward(h), c.numHeads);
    auto k = detail::splitHeads(blk.k->forward(h), c.numHeads);
    auto v = detail::splitHeads(blk.v->forward(h), c.numHeads);
    auto attn = blk.o->forward(detail::mergeHeads(compat::attention(q, k, v, mask)));
    h = blk.attnNorm->forward(h + attn);
    return blk.outNorm->forward(h + blk.down->forward(activation(c.hiddenAct, blk.up->forward(h))));
  }

  std::vector<std::shared_ptr<BertBlock>> m_blocks;
  at::Tensor m_word, m_pos, m_type, m_mlmBias;
  torch::nn::LayerNorm m_embNorm{nullptr}, m_mlmNorm{nullptr};
  torch::nn::Linear m_pooler{nullptr}, m_classifier{nullptr}, m_mlmDense{nullptr};
};

}  // namespace

std::shared_ptr<LanguageModel> createBert(const io::ModelConfig& config, bool initialise) {
  return std::make_shared<BertModel>(config, initialise);
}

}  // namespace ranklab::models
