// ModelConfig: the architecture hyper-parameters RankLab's models need, read from a Hugging Face
// config.json (GPT-2, LLaMA-family: llama/mistral/qwen2, BERT-family) or derived from GGUF metadata
// and llama2.c headers. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ranklab::io {

enum class Architecture { Gpt2, Llama, Bert };

std::string architectureName(Architecture a);  // "gpt2", "llama", "bert"

struct ModelConfig {
  Architecture arch = Architecture::Llama;
  std::string modelType;  // config.json "model_type": gpt2, llama, mistral, qwen2, bert, ...
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;        // == numHeads unless GQA
  int64_t intermediateSize = 0;  // MLP width (GPT-2: n_inner or 4*hidden)
  int64_t maxPositions = 0;      // context length
  double normEps = 1e-5;         // layer_norm_epsilon / rms_norm_eps / layer_norm_eps
  double ropeTheta = 10000.0;
  bool tieWordEmbeddings = true;
  std::string hiddenAct;      // "gelu_new", "gelu", "silu"
  bool qkvBias = false;       // bias on q/k/v projections (GPT-2, BERT, qwen2)
  bool oBias = false;         // bias on the attention output projection (GPT-2, BERT)
  bool mlpBias = false;       // bias on MLP projections (GPT-2, BERT)
  int64_t typeVocabSize = 2;  // BERT token types
  int64_t numLabels = 0;      // BERT sequence-classification head size; 0 = no head
  std::vector<std::string> id2label;
  int64_t bosTokenId = -1;
  int64_t eosTokenId = -1;
  int64_t padTokenId = -1;

  int64_t headDim() const { return numHeads > 0 ? hiddenSize / numHeads : 0; }
};

// Throws ranklab::Error naming the file when it is missing, not JSON, lacks a required field, has
// a non-positive size, or names an architecture RankLab does not support.
ModelConfig parseHfConfig(const std::filesystem::path& configJson);
ModelConfig hfConfigFromJson(const nlohmann::json& j, const std::string& context);
// The config.json that transformers would load for this config (GPT2LMHeadModel,
// LlamaForCausalLM, BertForMaskedLM / BertForSequenceClassification).
nlohmann::json toHfConfigJson(const ModelConfig& config);

}  // namespace ranklab::io
