// Parity with a real pretrained model: Karpathy's stories260K (llama2.c format), read from
// ../shared/reference. Greedy generation must reproduce the documented output byte for byte, and
// perplexity on the first 69 TinyStories validation stories must match the independently measured
// 3.44 (mean NLL 1.2349 nats over 22,045 predicted tokens).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "eval/perplexity.h"
#include "io/gguf.h"
#include "models/generate.h"
#include "models/loader.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;

namespace {

fs::path refDir() { return fs::path(RANKLAB_REFERENCE_DIR) / "stories260K"; }

std::string readAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class ReferenceModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(refDir() / "stories260K.bin"))
      GTEST_SKIP() << "reference model not found at " << refDir()
                   << " (CI has it; see ../shared/reference/README.md)";
  }
  models::LoadedModel loadRef() const {
    models::LoadOptions o;
    o.device = "cpu";
    o.tokenizerPath = refDir() / "tok512.bin";
    return models::loadModel(refDir() / "stories260K.bin", o);
  }
  static fs::path scratch(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("ranklab_parity_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
  }
};

TEST_F(ReferenceModel, OpRegistryNamesEveryLinear) {
  auto m = loadRef();
  const auto& ops = m.model->ops();
  ASSERT_EQ(ops.size(), 35u);  // 5 layers x (q, k, v, o, gate, up, down)
  EXPECT_EQ(ops.entries().front().info.name, "layers.0.attn.q");
  EXPECT_EQ(ops.at("layers.4.mlp.down").info.inFeatures, 172);
  EXPECT_EQ(ops.at("layers.4.mlp.down").info.outFeatures, 64);
  EXPECT_EQ(ops.at("layers.2.attn.k").info.outFeatures, 32);  // GQA: 4 kv heads of 8 dims
  // Compressible: per layer 2*64*64 + 2*64*32 + 3*64*172 = 45,312.
  EXPECT_EQ(ops.compressibleParams(), 5 * 45312);
}

TEST_F(ReferenceModel, GreedyGenerationMatchesReferenceByteForByte) {
  auto m = loadRef();
  models::GenerateOptions o;
  o.steps = 256;
  o.temperature = 0.0;
  auto r = models::generate(*m.model, *m.tokenizer, "", o);
  EXPECT_EQ(r.generatedIds.size(), 256u);
  EXPECT_EQ(r.text, readAll(refDir() / "reference_greedy_t0.txt"));
}

TEST_F(ReferenceModel, PerplexityOnTinyStoriesMatchesIndependentMeasurement) {
  auto m = loadRef();
  // The reference protocol: each story cut to the 512-token context (BOS included).
  eval::PerplexityOptions o;
  o.context = 512;
  o.truncate = true;
  o.batchSize = 16;
  auto r = eval::perplexityOfFile(*m.model, *m.tokenizer, refDir() / "TinyStories-valid.first69.txt", o);
  EXPECT_EQ(r.documents, 69);
  EXPECT_EQ(r.tokens, 22045);
  // Metric: perplexity, relative tolerance 0.5% against 3.44; mean NLL within 1e-3 nats of 1.2349.
  EXPECT_NEAR(r.perplexity, 3.44, 3.44 * 0.005);
  EXPECT_NEAR(r.meanNll, 1.2349, 1e-3);
  // Default windows: the tail of long stories is scored too, each token exactly once.
  o.truncate = false;
  auto windowed =
      eval::perplexityOfFile(*m.model, *m.tokenizer, refDir() / "TinyStories-valid.first69.txt", o);
  EXPECT_GT(windowed.tokens, r.tokens);
  EXPECT_NEAR(windowed.perplexity, 3.44, 3.44 * 0.01);
}

TEST_F(ReferenceModel, SafetensorsConversionGivesIdenticalLogits) {
  auto m = loadRef();
  const auto dir = scratch("hf");
  models::saveHfDirectory(m, dir);
  ASSERT_TRUE(fs::exists(dir / "config.json"));
  ASSERT_TRUE(fs::exists(dir / "model.safetensors"));
  ASSERT_TRUE(fs::exists(dir / "tokenizer.bin"));
  models::LoadOptions o;
  o.device = "cpu";
  auto hf = models::loadModel(dir, o);
  ASSERT_TRUE(hf.tokenizer);
  torch::InferenceMode guard;
  auto ids = torch::tensor(std::vector<int64_t>(m.tokenizer->encode("Once upon a time, there was a cat.")),
                           torch::kLong)
                 .unsqueeze(0);
  auto a = m.model->forward(ids, nullptr), b = hf.model->forward(ids, nullptr);
  // Metric: max absolute logit difference; the weights are copied exactly (F32), so 0.
  EXPECT_EQ((a - b).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(hf.tokenizer->encode("Lily and Tom"), m.tokenizer->encode("Lily and Tom"));
  fs::remove_all(dir);
}

TEST_F(ReferenceModel, GgufConversionGivesIdenticalLogitsAndTokenizer) {
  auto m = loadRef();
  const auto file = scratch("stories260K.gguf");
  models::saveGguf(m, file);
  models::LoadOptions o;
  o.device = "cpu";
  auto g = models::loadModel(file, o);
  ASSERT_TRUE(g.tokenizer) << "GGUF must carry its tokenizer";
  const std::string text = "Once upon a time, there was a little dog named Max.";
  EXPECT_EQ(g.tokenizer->encode(text), m.tokenizer->encode(text));
  torch::InferenceMode guard;
  auto ids = torch::tensor(m.tokenizer->encode(text), torch::kLong).unsqueeze(0);
  auto a = m.model->forward(ids, nullptr), b = g.model->forward(ids, nullptr);
  // Metric: max absolute logit difference, F32 GGUF round trip: exactly 0.
  EXPECT_EQ((a - b).abs().max().item<float>(), 0.0f);
  fs::remove(file);
}

TEST_F(ReferenceModel, ATokenizerLargerThanTheModelVocabularyIsRefused) {
  models::LoadOptions o;
  o.device = "cpu";
  o.tokenizerPath = fs::path(RANKLAB_SOURCE_DIR) / "resources" / "tokenizers" / "gpt2";
  try {
    models::loadModel(refDir() / "stories260K.bin", o);
    FAIL() << "expected ranklab::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("50257"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("512"));
  }
}

TEST_F(ReferenceModel, KvCacheDecodingMatchesFullForward) {
  auto m = loadRef();
  torch::InferenceMode guard;
  auto ids = torch::tensor(m.tokenizer->encode("The sun was shining and the birds sang."), torch::kLong)
                 .unsqueeze(0);
  auto full = m.model->forward(ids, nullptr);
  models::KVCache cache;
  std::vector<at::Tensor> steps;
  for (int64_t t = 0; t < ids.size(1); ++t) steps.push_back(m.model->forward(ids.narrow(1, t, 1), &cache));
  auto incremental = torch::cat(steps, 1);
  // Metric: max absolute logit difference, tolerance 1e-4 (different summation order only).
  EXPECT_LT((full - incremental).abs().max().item<float>(), 1e-4f);
  EXPECT_EQ(cache.length, ids.size(1));
}

}  // namespace
