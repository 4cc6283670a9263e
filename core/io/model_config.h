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
  // Context length: max_position_embeddings (GPT-2 n_positions), capped at config.json's
  // "sliding_window" when that is smaller (Mistral: 4096 of 32768). Sliding-window attention equals full
  // attention for sequences no longer than the window, so RankLab's full attention is exact up to
  // maxPositions and longer inputs are refused rather than computed differently. Ignored for qwen2
  // unless "use_sliding_window" is true (or for any model where it is false).
  int64_t maxPositions = 0;
  double normEps = 1e-5;  // layer_norm_epsilon / rms_norm_eps / layer_norm_eps
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
// a non-positive size (or a hidden size above 2^20), names an architecture RankLab does not support,
// or has a non-null "rope_scaling" ("<file>: rope_scaling type 'llama3' is not supported yet"; only
// rope_type "default" is accepted), since RankLab's RoPE does not implement scaled frequencies.
ModelConfig parseHfConfig(const std::filesystem::path& configJson);
ModelConfig hfConfigFromJson(const nlohmann::json& j, const std::string& context);
// The config.json that transformers would load for this config (GPT2LMHeadModel,
// LlamaForCausalLM, BertForMaskedLM / BertForSequenceClassification).
nlohmann::json toHfConfigJson(const ModelConfig& config);

}  // namespace ranklab::io
