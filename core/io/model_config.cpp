#include "io/model_config.h"

#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"

namespace ranklab::io {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& context, const std::string& message) {
  throw Error(errorIn(context, message));
}

const json& require(const json& j, const char* key, const std::string& context) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) fail(context, std::string("missing required field '") + key + "'");
  return *it;
}

int64_t requireInt(const json& j, const char* key, const std::string& context) {
  const json& v = require(j, key, context);
  if (!v.is_number_integer()) fail(context, std::string("field '") + key + "' must be an integer");
  return v.get<int64_t>();
}

int64_t optionalInt(const json& j, const char* key, int64_t fallback, const std::string& context) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) fail(context, std::string("field '") + key + "' must be an integer");
  return it->get<int64_t>();
}

double optionalDouble(const json& j, const char* key, double fallback, const std::string& context) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) fail(context, std::string("field '") + key + "' must be a number");
  return it->get<double>();
}

bool optionalBool(const json& j, const char* key, bool fallback, const std::string& context) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(context, std::string("field '") + key + "' must be true or false");
  return it->get<bool>();
}

std::string optionalString(const json& j, const char* key, const std::string& fallback,
                           const std::string& context) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(context, std::string("field '") + key + "' must be a string");
  return it->get<std::string>();
}

// Special token ids may be absent, null, or (in some configs) a list of ids; a list keeps its first.
int64_t tokenId(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return -1;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) return (*it)[0].get<int64_t>();
  return -1;
}

bool hasArchitecture(const json& j, const std::string& name) {
  auto it = j.find("architectures");
  if (it == j.end() || !it->is_array()) return false;
  for (const json& a : *it)
    if (a.is_string() && a.get<std::string>() == name) return true;
  return false;
}

// Hidden sizes of real models are at most a few tens of thousands.
constexpr int64_t kMaxHiddenSize = int64_t{1} << 20;

void checkHiddenSize(int64_t v, const char* field, const std::string& ctx) {
  if (v <= 0) fail(ctx, std::string(field) + " must be positive, got " + std::to_string(v));
  if (v > kMaxHiddenSize)
    fail(ctx, std::string(field) + " " + std::to_string(v) + " is larger than the limit of " +
                  std::to_string(kMaxHiddenSize));
}

// rope_scaling (Llama 3.1/3.2 "llama3", "linear", "dynamic", "yarn", ...) changes the rotary
// frequencies; RankLab's RoPE does not implement it, so such a model is refused rather than run with
// silently wrong results. null, absent, or rope_type "default" (no scaling) is accepted.
void checkRopeScaling(const json& j, const std::string& ctx) {
  auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) return;
  std::string type;
  if (it->is_object()) {
    for (const char* key : {"rope_type", "type"}) {
      auto t = it->find(key);
      if (t != it->end() && t->is_string()) {
        type = t->get<std::string>();
        break;
      }
    }
  }
  if (type == "default") return;
  fail(ctx, "rope_scaling type '" + (type.empty() ? it->dump() : type) + "' is not supported yet");
}

void parseGpt2(const json& j, const std::string& ctx, ModelConfig& c) {
  c.arch = Architecture::Gpt2;
  c.vocabSize = requireInt(j, "vocab_size", ctx);
  c.hiddenSize = requireInt(j, "n_embd", ctx);
  // Checked before 4 * n_embd is formed: a corrupt n_embd would overflow it (undefined behaviour).
  checkHiddenSize(c.hiddenSize, "n_embd", ctx);
  c.numLayers = requireInt(j, "n_layer", ctx);
  c.numHeads = requireInt(j, "n_head", ctx);
  c.numKvHeads = c.numHeads;
  c.intermediateSize = optionalInt(j, "n_inner", 4 * c.hiddenSize, ctx);
  c.maxPositions = optionalInt(j, "n_positions", 1024, ctx);
  c.normEps = optionalDouble(j, "layer_norm_epsilon", 1e-5, ctx);
  c.hiddenAct = optionalString(j, "activation_function", "gelu_new", ctx);
  // GPT-2 has no switches for these: every projection carries a bias and the head is the embedding.
  c.qkvBias = c.oBias = c.mlpBias = true;
  c.tieWordEmbeddings = true;
}

void parseLlamaFamily(const json& j, const std::string& ctx, ModelConfig& c) {
  c.arch = Architecture::Llama;
  c.vocabSize = requireInt(j, "vocab_size", ctx);
  c.hiddenSize = requireInt(j, "hidden_size", ctx);
  c.numLayers = requireInt(j, "num_hidden_layers", ctx);
  c.numHeads = requireInt(j, "num_attention_heads", ctx);
  c.numKvHeads = optionalInt(j, "num_key_value_heads", c.numHeads, ctx);
  c.intermediateSize = requireInt(j, "intermediate_size", ctx);
  c.maxPositions = optionalInt(j, "max_position_embeddings", 2048, ctx);
  // Sliding-window attention (Mistral): within the window it equals full attention, so the context is
  // capped at the window rather than computing something else beyond it. Qwen2 configs carry a
  // sliding_window that is off unless use_sliding_window is true.
  const int64_t window = optionalInt(j, "sliding_window", 0, ctx);
  const bool windowOn = optionalBool(j, "use_sliding_window", c.modelType != "qwen2", ctx);
  if (windowOn && j.contains("sliding_window") && !j["sliding_window"].is_null()) {
    if (window <= 0) fail(ctx, "sliding_window must be positive, got " + std::to_string(window));
    if (window < c.maxPositions) c.maxPositions = window;
  }
  c.normEps = optionalDouble(j, "rms_norm_eps", 1e-6, ctx);
  c.ropeTheta = optionalDouble(j, "rope_theta", 10000.0, ctx);
  c.hiddenAct = optionalString(j, "hidden_act", "silu", ctx);
  c.tieWordEmbeddings = optionalBool(j, "tie_word_embeddings", false, ctx);
  const bool attentionBias = optionalBool(j, "attention_bias", false, ctx);
  c.qkvBias = attentionBias;
  c.oBias = attentionBias;
  c.mlpBias = optionalBool(j, "mlp_bias", false, ctx);
  // Qwen2 hard-codes bias on q/k/v (and none on o_proj) rather than reading attention_bias.
  if (c.modelType == "qwen2") {
    c.qkvBias = true;
    c.oBias = false;
  }
}

void parseBert(const json& j, const std::string& ctx, ModelConfig& c) {
  c.arch = Architecture::Bert;
  c.vocabSize = requireInt(j, "vocab_size", ctx);
  c.hiddenSize = requireInt(j, "hidden_size", ctx);
  c.numLayers = requireInt(j, "num_hidden_layers", ctx);
  c.numHeads = requireInt(j, "num_attention_heads", ctx);
  c.numKvHeads = c.numHeads;
  c.intermediateSize = requireInt(j, "intermediate_size", ctx);
  c.maxPositions = optionalInt(j, "max_position_embeddings", 512, ctx);
  c.normEps = optionalDouble(j, "layer_norm_eps", 1e-12, ctx);
  c.typeVocabSize = optionalInt(j, "type_vocab_size", 2, ctx);
  if (c.typeVocabSize <= 0)
    fail(ctx, "type_vocab_size must be positive, got " + std::to_string(c.typeVocabSize));
  c.hiddenAct = optionalString(j, "hidden_act", "gelu", ctx);
  c.qkvBias = c.oBias = c.mlpBias = true;
  c.tieWordEmbeddings = optionalBool(j, "tie_word_embeddings", true, ctx);
  if (hasArchitecture(j, "BertForSequenceClassification")) {
    auto labels = j.find("id2label");
    std::map<int64_t, std::string> byId;
    if (labels != j.end() && labels->is_object()) {
      for (auto it = labels->begin(); it != labels->end(); ++it) {
        int64_t id = 0;
        try {
          id = std::stoll(it.key());
        } catch (const std::exception&) {
          fail(ctx, "id2label key '" + it.key() + "' is not an integer");
        }
        byId[id] = it->is_string() ? it->get<std::string>() : it->dump();
      }
    }
    const int64_t fallback = byId.empty() ? 2 : static_cast<int64_t>(byId.size());
    c.numLabels = optionalInt(j, "num_labels", fallback, ctx);
    if (c.numLabels <= 0) fail(ctx, "num_labels must be positive, got " + std::to_string(c.numLabels));
    c.id2label.clear();
    for (int64_t i = 0; i < c.numLabels; ++i) {
      auto it = byId.find(i);
      c.id2label.push_back(it != byId.end() ? it->second : "LABEL_" + std::to_string(i));
    }
  }
}

void validate(const ModelConfig& c, const std::string& ctx) {
  auto positive = [&](int64_t v, const char* what) {
    if (v <= 0) fail(ctx, std::string(what) + " must be positive, got " + std::to_string(v));
  };
  positive(c.vocabSize, "vocab_size");
  checkHiddenSize(c.hiddenSize, "hidden size", ctx);
  positive(c.numLayers, "number of layers");
  positive(c.numHeads, "number of attention heads");
  positive(c.numKvHeads, "number of key/value heads");
  positive(c.intermediateSize, "intermediate size");
  positive(c.maxPositions, "max positions");
  if (c.hiddenSize % c.numHeads != 0)
    fail(ctx, "hidden size " + std::to_string(c.hiddenSize) + " is not divisible by " +
                  std::to_string(c.numHeads) + " attention heads");
  if (c.numHeads % c.numKvHeads != 0)
    fail(ctx, std::to_string(c.numHeads) + " attention heads are not divisible by " +
                  std::to_string(c.numKvHeads) + " key/value heads");
  if (!(c.normEps > 0.0)) fail(ctx, "norm epsilon must be positive");
}

}  // namespace

std::string architectureName(Architecture a) {
  switch (a) {
    case Architecture::Gpt2:
      return "gpt2";
    case Architecture::Llama:
      return "llama";
    case Architecture::Bert:
      return "bert";
  }
  return "unknown";
}

ModelConfig hfConfigFromJson(const nlohmann::json& j, const std::string& context) {
  if (!j.is_object()) fail(context, "config is not a JSON object");
  ModelConfig c;
  c.modelType = optionalString(j, "model_type", "", context);
  checkRopeScaling(j, context);
  if (c.modelType == "gpt2") {
    parseGpt2(j, context, c);
  } else if (c.modelType == "llama" || c.modelType == "mistral" || c.modelType == "qwen2") {
    parseLlamaFamily(j, context, c);
  } else if (c.modelType == "bert") {
    parseBert(j, context, c);
  } else {
    fail(context,
         "model_type '" + c.modelType + "' is not supported (supported: gpt2, llama, mistral, qwen2, bert)");
  }
  c.bosTokenId = tokenId(j, "bos_token_id");
  c.eosTokenId = tokenId(j, "eos_token_id");
  c.padTokenId = tokenId(j, "pad_token_id");
  validate(c, context);
  return c;
}

ModelConfig parseHfConfig(const std::filesystem::path& configJson) {
  const std::string ctx = configJson.string();
  std::ifstream in(configJson, std::ios::binary);
  if (!in) fail(ctx, "cannot open file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(ctx, std::string("not valid JSON: ") + e.what());
  }
  return hfConfigFromJson(j, ctx);
}

nlohmann::json toHfConfigJson(const ModelConfig& c) {
  using nlohmann::json;
  json j;
  j["model_type"] = c.modelType.empty() ? architectureName(c.arch) : c.modelType;
  j["vocab_size"] = c.vocabSize;
  j["torch_dtype"] = "float32";
  switch (c.arch) {
    case Architecture::Gpt2:
      j["architectures"] = json::array({"GPT2LMHeadModel"});
      j["model_type"] = "gpt2";
      j["n_embd"] = c.hiddenSize;
      j["n_layer"] = c.numLayers;
      j["n_head"] = c.numHeads;
      j["n_positions"] = c.maxPositions;
      j["n_ctx"] = c.maxPositions;
      j["n_inner"] = c.intermediateSize;
      j["layer_norm_epsilon"] = c.normEps;
      j["activation_function"] = c.hiddenAct.empty() ? "gelu_new" : c.hiddenAct;
      j["tie_word_embeddings"] = true;
      break;
    case Architecture::Llama: {
      const std::string& type = j["model_type"].get_ref<const std::string&>();
      if (type == "mistral")
        j["architectures"] = json::array({"MistralForCausalLM"});
      else if (type == "qwen2")
        j["architectures"] = json::array({"Qwen2ForCausalLM"});
      else
        j["architectures"] = json::array({"LlamaForCausalLM"});
      j["hidden_size"] = c.hiddenSize;
      j["num_hidden_layers"] = c.numLayers;
      j["num_attention_heads"] = c.numHeads;
      j["num_key_value_heads"] = c.numKvHeads;
      j["intermediate_size"] = c.intermediateSize;
      j["max_position_embeddings"] = c.maxPositions;
      j["rms_norm_eps"] = c.normEps;
      j["rope_theta"] = c.ropeTheta;
      j["hidden_act"] = c.hiddenAct.empty() ? "silu" : c.hiddenAct;
      j["tie_word_embeddings"] = c.tieWordEmbeddings;
      if (type != "qwen2") j["attention_bias"] = c.qkvBias;
      j["mlp_bias"] = c.mlpBias;
      break;
    }
    case Architecture::Bert:
      j["model_type"] = "bert";
      j["hidden_size"] = c.hiddenSize;
      j["num_hidden_layers"] = c.numLayers;
      j["num_attention_heads"] = c.numHeads;
      j["intermediate_size"] = c.intermediateSize;
      j["max_position_embeddings"] = c.maxPositions;
      j["layer_norm_eps"] = c.normEps;
      j["type_vocab_size"] = c.typeVocabSize;
      j["hidden_act"] = c.hiddenAct.empty() ? "gelu" : c.hiddenAct;
      if (c.numLabels > 0) {
        j["architectures"] = json::array({"BertForSequenceClassification"});
        j["num_labels"] = c.numLabels;
        json id2label = json::object();
        json label2id = json::object();
        for (int64_t i = 0; i < c.numLabels; ++i) {
          const std::string label = i < static_cast<int64_t>(c.id2label.size())
                                        ? c.id2label[static_cast<size_t>(i)]
                                        : "LABEL_" + std::to_string(i);
          id2label[std::to_string(i)] = label;
          label2id[label] = i;
        }
        j["id2label"] = id2label;
        j["label2id"] = label2id;
      } else {
        j["architectures"] = json::array({"BertForMaskedLM"});
      }
      break;
  }
  if (c.bosTokenId >= 0) j["bos_token_id"] = c.bosTokenId;
  if (c.eosTokenId >= 0) j["eos_token_id"] = c.eosTokenId;
  if (c.padTokenId >= 0) j["pad_token_id"] = c.padTokenId;
  return j;
}

}  // namespace ranklab::io
