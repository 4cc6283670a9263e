#include "io/model_config.h"
#include "io_test_util.h"
#include "test_paths.h"

namespace ranklab::io {
namespace {

const std::filesystem::path kConfigs = std::filesystem::path(RANKLAB_TEST_DATA_DIR) / "configs";

TEST(ModelConfig, ArchitectureNames) {
  EXPECT_EQ(architectureName(Architecture::Gpt2), "gpt2");
  EXPECT_EQ(architectureName(Architecture::Llama), "llama");
  EXPECT_EQ(architectureName(Architecture::Bert), "bert");
}

TEST(ModelConfig, Gpt2) {
  const ModelConfig c = parseHfConfig(kConfigs / "gpt2.json");
  EXPECT_EQ(c.arch, Architecture::Gpt2);
  EXPECT_EQ(c.modelType, "gpt2");
  EXPECT_EQ(c.vocabSize, 50257);
  EXPECT_EQ(c.hiddenSize, 768);
  EXPECT_EQ(c.numLayers, 12);
  EXPECT_EQ(c.numHeads, 12);
  EXPECT_EQ(c.numKvHeads, 12);
  EXPECT_EQ(c.intermediateSize, 4 * 768) << "n_inner null means 4 * n_embd";
  EXPECT_EQ(c.maxPositions, 1024);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-5) << "layer_norm_epsilon, exact parse";
  EXPECT_EQ(c.hiddenAct, "gelu_new");
  EXPECT_TRUE(c.qkvBias && c.oBias && c.mlpBias);
  EXPECT_TRUE(c.tieWordEmbeddings);
  EXPECT_EQ(c.bosTokenId, 50256);
  EXPECT_EQ(c.eosTokenId, 50256);
  EXPECT_EQ(c.padTokenId, -1);
  EXPECT_EQ(c.headDim(), 64);
}

TEST(ModelConfig, LlamaWithAttentionBias) {
  const ModelConfig c = parseHfConfig(kConfigs / "llama.json");
  EXPECT_EQ(c.arch, Architecture::Llama);
  EXPECT_EQ(c.modelType, "llama");
  EXPECT_EQ(c.numHeads, 8);
  EXPECT_EQ(c.numKvHeads, 8) << "num_key_value_heads defaults to num_attention_heads";
  EXPECT_EQ(c.intermediateSize, 688);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-6) << "rms_norm_eps, exact parse";
  EXPECT_DOUBLE_EQ(c.ropeTheta, 10000.0) << "rope_theta default, exact";
  EXPECT_FALSE(c.tieWordEmbeddings) << "llama default";
  EXPECT_TRUE(c.qkvBias);
  EXPECT_TRUE(c.oBias);
  EXPECT_FALSE(c.mlpBias);
  EXPECT_EQ(c.bosTokenId, 1);
  EXPECT_EQ(c.eosTokenId, 2);
  EXPECT_EQ(c.padTokenId, -1) << "null pad_token_id";
}

TEST(ModelConfig, MistralGqa) {
  const ModelConfig c = parseHfConfig(kConfigs / "mistral_gqa.json");
  EXPECT_EQ(c.arch, Architecture::Llama);
  EXPECT_EQ(c.modelType, "mistral");
  EXPECT_EQ(c.numHeads, 32);
  EXPECT_EQ(c.numKvHeads, 8);
  EXPECT_EQ(c.headDim(), 128);
  EXPECT_DOUBLE_EQ(c.ropeTheta, 1e6) << "rope_theta, exact parse";
  EXPECT_FALSE(c.qkvBias || c.oBias || c.mlpBias);
  EXPECT_FALSE(c.tieWordEmbeddings);
}

TEST(ModelConfig, Qwen2HasQkvBias) {
  const ModelConfig c = parseHfConfig(kConfigs / "qwen2.json");
  EXPECT_EQ(c.arch, Architecture::Llama);
  EXPECT_EQ(c.modelType, "qwen2");
  EXPECT_EQ(c.numHeads, 14);
  EXPECT_EQ(c.numKvHeads, 2);
  EXPECT_TRUE(c.qkvBias);
  EXPECT_FALSE(c.oBias);
  EXPECT_TRUE(c.tieWordEmbeddings);
}

TEST(ModelConfig, Bert) {
  const ModelConfig c = parseHfConfig(kConfigs / "bert.json");
  EXPECT_EQ(c.arch, Architecture::Bert);
  EXPECT_EQ(c.hiddenSize, 128);
  EXPECT_EQ(c.intermediateSize, 512);
  EXPECT_EQ(c.typeVocabSize, 2);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-12) << "layer_norm_eps, exact parse";
  EXPECT_EQ(c.hiddenAct, "gelu");
  EXPECT_TRUE(c.qkvBias && c.oBias && c.mlpBias);
  EXPECT_EQ(c.numLabels, 0) << "masked LM has no classification head";
  EXPECT_EQ(c.padTokenId, 0);
}

TEST(ModelConfig, BertSequenceClassification) {
  const ModelConfig c = parseHfConfig(kConfigs / "bert_classifier.json");
  EXPECT_EQ(c.numLabels, 3) << "taken from the id2label size";
  EXPECT_EQ(c.id2label, (std::vector<std::string>{"negative", "neutral", "positive"}));

  nlohmann::json j = nlohmann::json::parse(R"({"model_type": "bert", "vocab_size": 10, "hidden_size": 8,
      "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16,
      "architectures": ["BertForSequenceClassification"]})");
  const ModelConfig d = hfConfigFromJson(j, "inline");
  EXPECT_EQ(d.numLabels, 2) << "default label count";
  EXPECT_EQ(d.id2label, (std::vector<std::string>{"LABEL_0", "LABEL_1"}));
}

TEST(ModelConfig, UnknownModelType) {
  EXPECT_RANKLAB_ERROR(parseHfConfig(kConfigs / "unknown_type.json"), "unknown_type.json",
                       "model_type 'xyz' is not supported (supported: gpt2, llama, mistral, qwen2, bert)");
}

TEST(ModelConfig, Validation) {
  EXPECT_RANKLAB_ERROR(parseHfConfig(kConfigs / "bad_heads.json"), "bad_heads.json", "not divisible");
  EXPECT_RANKLAB_ERROR(parseHfConfig(kConfigs / "missing.json"), "missing.json");

  nlohmann::json gqa = nlohmann::json::parse(R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 64,
      "num_hidden_layers": 1, "num_attention_heads": 8, "num_key_value_heads": 3, "intermediate_size": 16})");
  EXPECT_RANKLAB_ERROR(hfConfigFromJson(gqa, "ctx.json"), "ctx.json", "key/value heads");
  gqa["num_key_value_heads"] = 4;
  gqa["hidden_size"] = 0;
  EXPECT_RANKLAB_ERROR(hfConfigFromJson(gqa, "ctx.json"), "ctx.json", "must be positive");
  gqa.erase("hidden_size");
  EXPECT_RANKLAB_ERROR(hfConfigFromJson(gqa, "ctx.json"), "missing required field 'hidden_size'");

  test::ScratchDir dir;
  std::ofstream(dir / "config.json") << "{ not json";
  EXPECT_RANKLAB_ERROR(parseHfConfig(dir / "config.json"), "config.json", "not valid JSON");
}

TEST(ModelConfig, ToHfConfigJsonRoundTrips) {
  for (const char* name :
       {"gpt2.json", "llama.json", "mistral_gqa.json", "qwen2.json", "bert.json", "bert_classifier.json"}) {
    SCOPED_TRACE(name);
    const ModelConfig a = parseHfConfig(kConfigs / name);
    const nlohmann::json j = toHfConfigJson(a);
    EXPECT_EQ(j.at("torch_dtype"), "float32");
    const ModelConfig b = hfConfigFromJson(j, name);
    EXPECT_EQ(b.arch, a.arch);
    EXPECT_EQ(b.modelType, a.modelType);
    EXPECT_EQ(b.vocabSize, a.vocabSize);
    EXPECT_EQ(b.hiddenSize, a.hiddenSize);
    EXPECT_EQ(b.numLayers, a.numLayers);
    EXPECT_EQ(b.numHeads, a.numHeads);
    EXPECT_EQ(b.numKvHeads, a.numKvHeads);
    EXPECT_EQ(b.intermediateSize, a.intermediateSize);
    EXPECT_EQ(b.maxPositions, a.maxPositions);
    EXPECT_DOUBLE_EQ(b.normEps, a.normEps) << "exact round trip through JSON";
    EXPECT_DOUBLE_EQ(b.ropeTheta, a.ropeTheta) << "exact round trip through JSON";
    EXPECT_EQ(b.tieWordEmbeddings, a.tieWordEmbeddings);
    EXPECT_EQ(b.hiddenAct, a.hiddenAct);
    EXPECT_EQ(b.qkvBias, a.qkvBias);
    EXPECT_EQ(b.oBias, a.oBias);
    EXPECT_EQ(b.mlpBias, a.mlpBias);
    EXPECT_EQ(b.typeVocabSize, a.typeVocabSize);
    EXPECT_EQ(b.numLabels, a.numLabels);
    EXPECT_EQ(b.id2label, a.id2label);
    EXPECT_EQ(b.bosTokenId, a.bosTokenId);
    EXPECT_EQ(b.eosTokenId, a.eosTokenId);
    EXPECT_EQ(b.padTokenId, a.padTokenId);
  }
  EXPECT_EQ(toHfConfigJson(parseHfConfig(kConfigs / "gpt2.json")).at("architectures")[0], "GPT2LMHeadModel");
  EXPECT_EQ(toHfConfigJson(parseHfConfig(kConfigs / "llama.json")).at("architectures")[0],
            "LlamaForCausalLM");
  EXPECT_EQ(toHfConfigJson(parseHfConfig(kConfigs / "bert.json")).at("architectures")[0], "BertForMaskedLM");
  const nlohmann::json cls = toHfConfigJson(parseHfConfig(kConfigs / "bert_classifier.json"));
  EXPECT_EQ(cls.at("architectures")[0], "BertForSequenceClassification");
  EXPECT_EQ(cls.at("id2label").at("2"), "positive");
  EXPECT_EQ(cls.at("label2id").at("neutral"), 1);
}

}  // namespace
}  // namespace ranklab::io

namespace ranklab::io {
namespace {

const std::filesystem::path kMoreConfigs = std::filesystem::path(RANKLAB_TEST_DATA_DIR) / "configs";

TEST(ModelConfigLimits, RopeScalingIsRefused) {
  // Llama 3.1/3.2 scale RoPE frequencies; computing without that would be silently wrong.
  EXPECT_RANKLAB_ERROR(parseHfConfig(kMoreConfigs / "llama31_rope_scaling.json"), "llama31_rope_scaling.json",
                       "rope_scaling type 'llama3' is not supported yet");
  nlohmann::json j = nlohmann::json::parse(R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 64,
      "num_hidden_layers": 1, "num_attention_heads": 8, "intermediate_size": 16})");
  for (const char* type : {"linear", "dynamic", "yarn"}) {
    j["rope_scaling"] = {{"type", type}, {"factor", 2.0}};
    EXPECT_RANKLAB_ERROR(hfConfigFromJson(j, "ctx.json"), "ctx.json",
                         std::string("rope_scaling type '") + type + "' is not supported yet");
  }
  j["rope_scaling"] = nullptr;
  EXPECT_NO_THROW(hfConfigFromJson(j, "ctx.json")) << "null rope_scaling means none";
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_NO_THROW(hfConfigFromJson(j, "ctx.json")) << "rope_type default means no scaling";
}

TEST(ModelConfigLimits, SlidingWindowCapsContext) {
  const ModelConfig c = parseHfConfig(kMoreConfigs / "mistral_sliding_window.json");
  EXPECT_EQ(c.maxPositions, 4096) << "full attention is exact only within the 4096-token window";
  const ModelConfig q = parseHfConfig(kMoreConfigs / "qwen2_sliding_window_off.json");
  EXPECT_EQ(q.maxPositions, 32768) << "use_sliding_window false: the window is not used";
  const ModelConfig m = parseHfConfig(kMoreConfigs / "mistral_gqa.json");
  EXPECT_EQ(m.maxPositions, 32768) << "no sliding_window";

  nlohmann::json j = nlohmann::json::parse(R"({"model_type": "mistral", "vocab_size": 10, "hidden_size": 64,
      "num_hidden_layers": 1, "num_attention_heads": 8, "intermediate_size": 16,
      "max_position_embeddings": 2048, "sliding_window": 8192})");
  EXPECT_EQ(hfConfigFromJson(j, "ctx.json").maxPositions, 2048)
      << "a window wider than the context changes nothing";
  j["sliding_window"] = nullptr;
  EXPECT_EQ(hfConfigFromJson(j, "ctx.json").maxPositions, 2048);
  j["sliding_window"] = 0;
  EXPECT_RANKLAB_ERROR(hfConfigFromJson(j, "ctx.json"), "ctx.json", "sliding_window must be positive");
}

TEST(ModelConfigLimits, BertTypeVocabSizeMustBePositive) {
  EXPECT_RANKLAB_ERROR(parseHfConfig(kMoreConfigs / "bert_zero_type_vocab.json"), "bert_zero_type_vocab.json",
                       "type_vocab_size must be positive, got 0");
}

TEST(ModelConfigLimits, HugeGpt2EmbeddingIsRefusedBeforeOverflow) {
  // 4 * 2^62 overflows int64 (the default n_inner); the range check must come first.
  EXPECT_RANKLAB_ERROR(parseHfConfig(kMoreConfigs / "gpt2_huge_n_embd.json"), "gpt2_huge_n_embd.json",
                       "n_embd 4611686018427387904 is larger than the limit");
  nlohmann::json j = nlohmann::json::parse(R"({"model_type": "llama", "vocab_size": 10,
      "hidden_size": 2097152, "num_hidden_layers": 1, "num_attention_heads": 8, "intermediate_size": 16})");
  EXPECT_RANKLAB_ERROR(hfConfigFromJson(j, "ctx.json"), "ctx.json",
                       "hidden size 2097152 is larger than the limit");
}

}  // namespace
}  // namespace ranklab::io
