// Tiny randomly initialised models built in the test: shapes, determinism, op registry, cache,
// Hugging Face weight round trips.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/error.h"
#include "io/safetensors.h"
#include "models/language_model.h"
#include "models/loader.h"
#include "models/low_rank_linear.h"
#include "support/tiny_config.h"

namespace fs = std::filesystem;
using namespace ranklab;
using ::testing::HasSubstr;

namespace {

io::ModelConfig tinyGpt2() { return test::tinyConfig(io::Architecture::Gpt2, {97, 32, 2, 4, 0, 128, 64}); }

io::ModelConfig tinyBert(int64_t labels) {
  return test::tinyConfig(io::Architecture::Bert, {101, 32, 2, 4, 0, 64, 40}, labels);
}

io::ModelConfig tinyLlama() {
  auto c = test::tinyConfig(io::Architecture::Llama, {50, 32, 2, 4, 2, 48, 32});
  c.tieWordEmbeddings = false;
  return c;
}

at::Tensor randomIds(int64_t b, int64_t t, int64_t vocab) {
  return torch::randint(0, vocab, {b, t}, torch::TensorOptions().dtype(torch::kLong));
}

TEST(TinyModels, Gpt2ForwardIsShapeCorrectAndDeterministic) {
  torch::manual_seed(1);
  auto model = models::createModel(tinyGpt2());
  model->eval();
  auto ids = randomIds(3, 10, 97);
  torch::InferenceMode guard;
  auto a = model->forward(ids, nullptr);
  auto b = model->forward(ids, nullptr);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{3, 10, 97}));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(torch::isfinite(a).all().item<bool>());
  // A causal model: the logits at position t do not depend on later tokens.
  auto changed = ids.clone();
  changed.narrow(1, 7, 3).fill_(5);
  auto c = model->forward(changed, nullptr);
  // Metric: max abs difference of the first 7 positions, tolerance 1e-6.
  EXPECT_LT((a.narrow(1, 0, 7) - c.narrow(1, 0, 7)).abs().max().item<float>(), 1e-6f);
}

TEST(TinyModels, Gpt2OpsAndParameterCounts) {
  auto model = models::createModel(tinyGpt2());
  const auto infos = model->ops().infos();
  ASSERT_EQ(infos.size(), 12u);
  EXPECT_EQ(infos[0].name, "layers.0.attn.q");
  EXPECT_EQ(infos[4].name, "layers.0.mlp.up");
  EXPECT_EQ(infos[4].outFeatures, 128);
  EXPECT_EQ(model->ops().compressibleParams(), 2 * (4 * 32 * 32 + 2 * 32 * 128));
  // wte + wpe + per layer (2 LN + 4 attn linears + 2 mlp linears) + ln_f; the LM head is tied.
  const int64_t perLayer = 2 * 64 + 4 * (32 * 32 + 32) + (32 * 128 + 128) + (128 * 32 + 32);
  EXPECT_EQ(model->totalParams(), 97 * 32 + 64 * 32 + 2 * perLayer + 64);
}

TEST(TinyModels, Gpt2HuggingFaceWeightsRoundTrip) {
  torch::manual_seed(2);
  auto a = models::createModel(tinyGpt2());
  auto b = models::createModel(tinyGpt2());
  auto weights = a->hfWeights();
  // Conv1D layout with fused q|k|v, as transformers stores it.
  EXPECT_EQ(weights.at("transformer.h.0.attn.c_attn.weight").sizes(), (std::vector<int64_t>{32, 96}));
  EXPECT_EQ(weights.at("transformer.h.1.mlp.c_fc.weight").sizes(), (std::vector<int64_t>{32, 128}));
  b->loadHfWeights(weights, "test");
  // Every op's weight comes back bit for bit (b views the Conv1D tensors transposed, without a copy).
  for (size_t i = 0; i < a->ops().size(); ++i)
    EXPECT_TRUE(torch::equal(a->ops().entries()[i].slot->impl()->denseWeight(),
                             b->ops().entries()[i].slot->impl()->denseWeight()))
        << a->ops().entries()[i].info.name;
  torch::InferenceMode guard;
  auto ids = randomIds(2, 12, 97);
  // The products run on the other memory layout, so logits agree to float32 rounding. Metric: max
  // abs difference of the logits; tolerance 1e-5.
  EXPECT_LT((a->forward(ids, nullptr) - b->forward(ids, nullptr)).abs().max().item<float>(), 1e-5f);
}

TEST(TinyModels, MissingOrMisshapenWeightNamesTheTensor) {
  auto model = models::createModel(tinyGpt2());
  auto weights = model->hfWeights();
  weights.erase("transformer.h.1.ln_2.bias");
  try {
    model->loadHfWeights(weights, "weights.safetensors");
    FAIL() << "expected ranklab::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("weights.safetensors"));
    EXPECT_THAT(e.what(), HasSubstr("transformer.h.1.ln_2.bias"));
  }
  weights = model->hfWeights();
  weights["transformer.wpe.weight"] = torch::zeros({10, 32});
  EXPECT_THROW(model->loadHfWeights(weights, "w"), Error);
  weights = model->hfWeights();
  weights["transformer.h.0.mlp.c_fc.weight"][3][5] = std::numeric_limits<float>::quiet_NaN();
  try {
    model->loadHfWeights(weights, "nan.safetensors");
    FAIL() << "NaN weights must be refused";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("transformer.h.0.mlp.c_fc.weight"));
    EXPECT_THAT(e.what(), HasSubstr("NaN"));
  }
}

TEST(TinyModels, LlamaGqaCacheMatchesFullForward) {
  torch::manual_seed(3);
  auto model = models::createModel(tinyLlama());
  model->eval();
  torch::InferenceMode guard;
  auto ids = randomIds(2, 9, 50);
  auto full = model->forward(ids, nullptr);
  EXPECT_EQ(full.sizes(), (std::vector<int64_t>{2, 9, 50}));
  models::KVCache cache;
  auto first = model->forward(ids.narrow(1, 0, 5), &cache);
  auto rest = model->forward(ids.narrow(1, 5, 4), &cache);
  // Metric: max abs logit difference between chunked-cached and full forward, tolerance 1e-5.
  EXPECT_LT((torch::cat({first, rest}, 1) - full).abs().max().item<float>(), 1e-5f);
  EXPECT_EQ(model->ops().at("layers.1.attn.k").info.outFeatures, 16);  // 2 kv heads x 8
  EXPECT_THROW(model->forward(randomIds(1, 33, 50), nullptr), Error);  // beyond the context
}

TEST(TinyModels, BertMaskedLmAndClassifierShapes) {
  torch::manual_seed(4);
  auto mlm = models::createModel(tinyBert(0));
  mlm->eval();
  torch::InferenceMode guard;
  auto ids = randomIds(2, 7, 101);
  auto logits = mlm->forward(ids, nullptr);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 7, 101}));
  EXPECT_TRUE(torch::equal(logits, mlm->forward(ids, nullptr)));
  EXPECT_FALSE(mlm->isCausal());
  EXPECT_THROW(mlm->classify(ids, torch::ones_like(ids)), Error);

  auto cls = models::createModel(tinyBert(3));
  cls->eval();
  auto mask = torch::ones_like(ids);
  auto out = cls->classify(ids, mask);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3}));
  // Padding must not change the result when masked out.
  auto padded = torch::cat({ids, torch::zeros({2, 3}, torch::kLong)}, 1);
  auto paddedMask = torch::cat({mask, torch::zeros({2, 3}, torch::kLong)}, 1);
  // Metric: max abs difference of class logits, tolerance 1e-5.
  EXPECT_LT((cls->classify(padded, paddedMask) - out).abs().max().item<float>(), 1e-5f);
  EXPECT_EQ(cls->ops().size(), 12u);
}

TEST(TinyModels, BertHuggingFaceWeightsRoundTripIncludingTfNames) {
  torch::manual_seed(5);
  auto a = models::createModel(tinyBert(2));
  auto b = models::createModel(tinyBert(2));
  auto weights = a->hfWeights();
  // Old TF-converted checkpoints spell LayerNorm parameters gamma/beta.
  weights["bert.embeddings.LayerNorm.gamma"] = weights.at("bert.embeddings.LayerNorm.weight");
  weights.erase("bert.embeddings.LayerNorm.weight");
  b->loadHfWeights(weights, "test");
  torch::InferenceMode guard;
  auto ids = randomIds(2, 6, 101);
  auto mask = torch::ones_like(ids);
  EXPECT_TRUE(torch::equal(a->classify(ids, mask), b->classify(ids, mask)));
}

TEST(TinyModels, OpReplacementIsCheckedAndTakesEffect) {
  torch::manual_seed(6);
  auto model = models::createModel(tinyLlama());
  model->eval();
  EXPECT_THROW(model->ops().replace("layers.0.attn.q", std::make_shared<models::DenseLinear>(32, 16, false)),
               Error);
  EXPECT_THROW(model->ops().at("layers.9.attn.q"), Error);
  torch::InferenceMode guard;
  auto ids = randomIds(1, 6, 50);
  auto before = model->forward(ids, nullptr);
  auto zero = std::make_shared<models::DenseLinear>(32, 32, false);
  zero->weight().zero_();
  model->ops().replace("layers.0.attn.o", zero);
  EXPECT_EQ(model->ops().at("layers.0.attn.o").slot->impl(), zero);
  EXPECT_FALSE(torch::equal(before, model->forward(ids, nullptr)));
}

TEST(TinyModels, HfDirectoryRoundTripThroughTheLoader) {
  torch::manual_seed(7);
  models::LoadedModel m;
  m.model = models::createModel(tinyLlama());
  m.model->eval();
  m.source = "tiny";
  const auto dir = fs::temp_directory_path() / ("ranklab_tiny_hf_" + std::to_string(::getpid()));
  models::saveHfDirectory(m, dir);
  auto back = models::loadModel(dir, {"cpu", {}});
  EXPECT_EQ(back.format, "hf-safetensors");
  EXPECT_EQ(back.summary().ops.size(), 14u);
  torch::InferenceMode guard;
  auto ids = randomIds(1, 8, 50);
  EXPECT_TRUE(torch::equal(m.model->forward(ids, nullptr), back.model->forward(ids, nullptr)));
  fs::remove_all(dir);
}

// Exporting a loaded model hands out its own tensors, in their stored dtype: an fp16 file's weights
// stay fp16 views of the mapping, and nothing is copied (convert and the job's dense export stream
// them to the writer one at a time). Then an fp32 export of that fp16 model holds exactly the
// fp16-rounded values, and an fp16 export is the same tensors again.
TEST(TinyModels, ExportHandsOutTheModelsOwnTensorsInTheirStoredDtype) {
  torch::manual_seed(8);
  models::LoadedModel m;
  m.model = models::createModel(tinyLlama());
  m.source = "tiny";
  const auto dir = fs::temp_directory_path() / ("ranklab_tiny_export_" + std::to_string(::getpid()));
  models::saveHfDirectory(m, dir / "fp16", at::kHalf);
  auto half = models::loadModel(dir / "fp16", {"cpu", {}});
  std::set<const void*> held;
  for (const auto& p : half.model->parameters()) held.insert(p.data_ptr());
  int64_t count = 0, fp16 = 0;
  half.model->forEachHfWeight([&](const std::string& name, const at::Tensor& t) {
    ++count;
    fp16 += t.scalar_type() == at::kHalf;
    EXPECT_TRUE(held.count(t.data_ptr())) << name << " is a copy, not the model's tensor";
  });
  EXPECT_EQ(count, static_cast<int64_t>(half.model->hfWeights().size()));
  EXPECT_GE(fp16, 14) << "the 14 linear ops' weights stay in the file's float16";

  models::saveHfDirectory(half, dir / "fp32");
  auto wide = models::loadModel(dir / "fp32", {"cpu", {}});
  const auto original = m.model->hfWeights(), widened = wide.model->hfWeights();
  for (const auto& [name, t] : original)
    EXPECT_TRUE(torch::equal(t.to(at::kHalf).to(at::kFloat), widened.at(name).to(at::kFloat))) << name;
  fs::remove_all(dir);
}

TEST(TinyModels, ConfigDescribingABiggerModelThanItsWeightsIsRefusedBeforeAllocating) {
  torch::manual_seed(8);
  models::LoadedModel m;
  m.model = models::createModel(tinyLlama());
  m.source = "tiny";
  const auto dir = fs::temp_directory_path() / ("ranklab_tiny_big_" + std::to_string(::getpid()));
  models::saveHfDirectory(m, dir);
  // Same weights, a config claiming 4096 layers of width 4096.
  auto cfg = io::toHfConfigJson(m.model->config());
  cfg["num_hidden_layers"] = 4096;
  cfg["hidden_size"] = 4096;
  cfg["intermediate_size"] = 11008;
  cfg["num_attention_heads"] = 32;
  cfg["num_key_value_heads"] = 32;
  std::ofstream(dir / "config.json") << cfg.dump();
  try {
    models::loadModel(dir, {"cpu", {}});
    FAIL() << "expected ranklab::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir.string()));
    EXPECT_THAT(e.what(), HasSubstr("weights hold"));
  }
  fs::remove_all(dir);
}

TEST(TinyModels, GgufRoundTripKeepsQkvBiasesAndRefusesOtherBiases) {
  torch::manual_seed(9);
  auto cfg = tinyLlama();
  cfg.modelType = "qwen2";
  cfg.qkvBias = true;  // qwen2-style: biases on q, k, v only
  models::LoadedModel m;
  m.model = models::createModel(cfg);
  m.model->eval();
  m.source = "tiny-qwen";
  const auto file = fs::temp_directory_path() / ("ranklab_tiny_qkv_" + std::to_string(::getpid()) + ".gguf");
  models::saveGguf(m, file);
  auto back = models::loadModel(file, {"cpu", {}});
  EXPECT_TRUE(back.model->config().qkvBias);
  torch::InferenceMode guard;
  auto ids = randomIds(1, 7, 50);
  // Metric: max abs logit difference after the F32 GGUF round trip (biases permuted both ways): 0.
  EXPECT_EQ((m.model->forward(ids, nullptr) - back.model->forward(ids, nullptr)).abs().max().item<float>(),
            0.0f);
  fs::remove(file);
  cfg.mlpBias = true;
  m.model = models::createModel(cfg);
  EXPECT_THROW(models::saveGguf(m, file), Error);
  EXPECT_FALSE(fs::exists(file));
}

// Every other op of `model` (q first) replaced by rank-3 factors of `dtype` with a mask that switches
// one direction off: a compressed model whose dense weights exist only when computed.
void factorizeEveryOtherOp(models::LanguageModel& model, at::ScalarType dtype) {
  const auto& entries = model.ops().entries();
  for (size_t i = 0; i < entries.size(); i += 2) {
    const auto& info = entries[i].info;
    auto op = std::make_shared<models::LowRankLinear>(at::randn({info.inFeatures, 3}).to(dtype),
                                                      at::randn({3, info.outFeatures}).to(dtype),
                                                      entries[i].slot->impl()->bias());
    op->setMask(torch::tensor({1.0f, 0.0f, 1.0f}));
    model.ops().replace(info.name, op);
  }
}

// The layout pass of an export names every weight, in the same order, shape and dtype as the values
// pass, without computing a weight from factors: those come as meta tensors, and the rest are the
// model's own tensors.
// Float16 factors (an fp16 model's compression) give float32 weights in both passes.
TEST(TinyModels, LayoutPassDescribesComputedWeightsWithoutComputingThem) {
  const std::vector<std::pair<io::ModelConfig, at::ScalarType>> cases = {{tinyGpt2(), at::kFloat},
                                                                         {tinyLlama(), at::kFloat},
                                                                         {tinyBert(0), at::kFloat},
                                                                         {tinyLlama(), at::kHalf}};
  for (const auto& [cfg, dtype] : cases) {
    const std::string arch = io::architectureName(cfg.arch) + " " + c10::toString(dtype);
    torch::manual_seed(12);
    auto model = models::createModel(cfg);
    factorizeEveryOtherOp(*model, dtype);
    std::vector<std::string> names, layoutNames;
    std::vector<at::Tensor> values, layout;
    model->forEachHfWeight([&](const std::string& n, const at::Tensor& t) {
      names.push_back(n);
      values.push_back(t);
    });
    model->forEachHfWeight(
        [&](const std::string& n, const at::Tensor& t) {
          layoutNames.push_back(n);
          layout.push_back(t);
        },
        models::LanguageModel::HfPass::Layout);
    ASSERT_EQ(layoutNames, names) << arch;
    int64_t meta = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      EXPECT_EQ(layout[i].sizes(), values[i].sizes()) << arch << " " << names[i];
      EXPECT_EQ(layout[i].scalar_type(), values[i].scalar_type()) << arch << " " << names[i];
      EXPECT_FALSE(values[i].is_meta()) << arch << " " << names[i];
      if (layout[i].is_meta()) EXPECT_EQ(values[i].scalar_type(), at::kFloat) << arch << " " << names[i];
      if (layout[i].is_meta())
        ++meta;
      else
        EXPECT_TRUE(torch::equal(layout[i], values[i])) << arch << " " << names[i];
    }
    // gpt2's ops per block are q k v o up down, so q, v and up are factorized; it fuses q, k and v
    // into c_attn, which (k being dense) is then described by shape alone.
    const int64_t factorized = (static_cast<int64_t>(model->ops().entries().size()) + 1) / 2;
    if (cfg.arch == io::Architecture::Gpt2)
      EXPECT_EQ(meta, 2 * cfg.numLayers) << arch << ": c_attn and c_fc of each block";
    else
      EXPECT_EQ(meta, factorized) << arch << ": one meta tensor per factorized op";
  }
}

// A factorized llama exported to GGUF (float32) and to a Hugging Face directory reloads as the
// dense model those factors compute: the exports compute each weight as they write it.
// Float16 factors too (an fp16 model's compression; LibTorch has no CPU float16 product).
TEST(TinyModels, FactorizedModelExportsItsComputedWeights) {
  for (const auto dtype : {at::kFloat, at::kHalf}) {
    torch::manual_seed(13);
    models::LoadedModel m;
    m.model = models::createModel(tinyLlama());
    m.model->eval();
    m.source = "tiny-factorized";
    factorizeEveryOtherOp(*m.model, dtype);
    const auto dir = fs::temp_directory_path() / ("ranklab_tiny_fact_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    models::saveGguf(m, dir / "m.gguf");
    models::saveHfDirectory(m, dir / "hf");
    torch::InferenceMode guard;
    auto ids = randomIds(2, 9, 50);
    const auto expected = m.model->forward(ids, nullptr);
    for (const auto& path : {dir / "m.gguf", dir / "hf"}) {
      auto back = models::loadModel(path, {"cpu", {}});
      // Metric: max abs logit difference, factors against their computed dense weights (float32
      // rounding of a rank-3 product): below 1e-4.
      EXPECT_LT((back.model->forward(ids, nullptr) - expected).abs().max().item<float>(), 1e-4f)
          << path << " " << c10::toString(dtype);
    }
    fs::remove_all(dir);
  }
}

TEST(TinyModels, LoaderRejectsUnknownFormatsAndMissingFiles) {
  const auto dir = fs::temp_directory_path() / ("ranklab_bad_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  try {
    models::loadModel(dir / "nothing.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("nothing.gguf"));
  }
  { std::ofstream(dir / "model.onnx") << "x"; }
  EXPECT_THROW(models::loadModel(dir / "model.onnx"), Error);
  // A directory without config.json.
  try {
    models::loadModel(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("config.json"));
  }
  EXPECT_THROW(models::loadModel(dir, {"cuda:7", {}}), Error);
  fs::remove_all(dir);
}

}  // namespace
