// The layer-streamed pipeline (lowrank/layerwise.h) against the whole-model one (calibrate +
// decomposeModel) on the two real models here: the reference stories260K (LLaMA) and the shipped
// gpt-mini (GPT-2, fp16 weights). Same spectra, same ranks, same perplexity.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "data/corpus.h"
#include "eval/perplexity.h"
#include "lowrank/layerwise.h"
#include "models/loader.h"
#include "select/ledger.h"
#include "select/selectors.h"
#include "support/reference.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ranklab;
using lowrank::Method;

namespace {

struct Case {
  fs::path model;
  fs::path tokenizer;
  fs::path calib;
  fs::path eval;
};

Case referenceCase() {
  return {test::referenceDir() / "stories260K.bin", test::referenceDir() / "tok512.bin",
          test::referenceText(), test::referenceText()};
}

Case gptMiniCase() {
  const fs::path res = fs::path(RANKLAB_SOURCE_DIR) / "resources";
  return {
      res / "models" / "gpt-mini", {}, res / "data" / "lm" / "valid.txt", res / "data" / "lm" / "test.txt"};
}

models::LoadedModel load(const Case& c) {
  models::LoadOptions o;
  o.device = "cpu";
  o.tokenizerPath = c.tokenizer;
  return models::loadModel(c.model, o);
}

std::vector<lowrank::CalibrationSample> samplesFor(const models::LoadedModel& m, const Case& c) {
  return lowrank::textSamples(*m.tokenizer, data::readTextFile(c.calib), "<|endoftext|>", 6, 64, 3);
}

std::vector<lowrank::OpDecomposition> streamed(models::LanguageModel& model, Method method,
                                               const std::vector<lowrank::CalibrationSample>& samples,
                                               int64_t batch, bool compressed = false,
                                               const std::vector<int64_t>& ranks = {}) {
  std::vector<lowrank::OpDecomposition> out;
  lowrank::LayerwiseOptions o;
  o.batchSize = batch;
  o.propagateCompressed = compressed;
  lowrank::decomposeByLayer(model, method, samples, nullptr, o, [&](size_t i, lowrank::OpDecomposition&& d) {
    EXPECT_EQ(i, out.size()) << "ops arrive in op order";
    if (!ranks.empty()) lowrank::applyRank(model, i, d, ranks[i]);
    out.push_back(std::move(d));
  });
  return out;
}

double perplexityAt(const Case& c, const std::vector<lowrank::OpDecomposition>& decs,
                    const std::vector<int64_t>& ranks) {
  auto m = load(c);
  lowrank::applyRanks(*m.model, decs, ranks);
  eval::PerplexityOptions po;
  po.maxDocuments = 1;
  return eval::perplexityOfFile(*m.model, *m.tokenizer, c.eval, po).perplexity;
}

void expectSamePipelines(const Case& c, Method method) {
  auto whole = load(c);
  const auto samples = samplesFor(whole, c);
  const auto cal = lowrank::calibrate(*whole.model, samples, lowrank::needsOf(method));
  const auto a = lowrank::decomposeModel(*whole.model, method, &cal);
  auto layered = load(c);
  const auto b = streamed(*layered.model, method, samples, /*batch=*/4);  // batches of 4 and 2
  ASSERT_EQ(a.size(), b.size());
  const auto infos = whole.model->ops().infos();
  std::vector<select::Spectrum> sa, sb;
  for (size_t i = 0; i < a.size(); ++i) {
    // Metric: max relative difference of the singular values; tolerance 1e-5.
    const double scale = a[i].s.abs().max().item<double>();
    EXPECT_LT((a[i].s - b[i].s).abs().max().item<double>(), 1e-5 * scale) << infos[i].name;
    EXPECT_NEAR(a[i].totalEnergy, b[i].totalEnergy, 1e-5 * a[i].totalEnergy) << infos[i].name;
    sa.push_back({std::vector<double>(a[i].s.data_ptr<float>(), a[i].s.data_ptr<float>() + a[i].s.numel()),
                  a[i].totalEnergy});
    sb.push_back({std::vector<double>(b[i].s.data_ptr<float>(), b[i].s.data_ptr<float>() + b[i].s.numel()),
                  b[i].totalEnergy});
  }
  const auto ranks = select::energyRanksAtBudget(infos, sa, 0.5);
  EXPECT_EQ(ranks, select::energyRanksAtBudget(infos, sb, 0.5));
  // Metric: relative difference of the compressed model's perplexity; tolerance 1e-5.
  const double pa = perplexityAt(c, a, ranks), pb = perplexityAt(c, b, ranks);
  EXPECT_NEAR(pb / pa, 1.0, 1e-5) << "whole " << pa << ", streamed " << pb;
}

TEST(Layerwise, StreamedWhiteningEqualsTheWholeModelOnStories260K) {
  if (!test::haveReference()) GTEST_SKIP() << "reference model not found at " << test::referenceDir();
  expectSamePipelines(referenceCase(), Method::Whiten);
}

TEST(Layerwise, StreamedAsvdAndWhiteningEqualTheWholeModelOnGptMini) {
  expectSamePipelines(gptMiniCase(), Method::Asvd);
  expectSamePipelines(gptMiniCase(), Method::Whiten);
}

TEST(Layerwise, CompressedPropagationFeedsLaterLayersTheCompressedOutputs) {
  const auto c = gptMiniCase();
  auto dense = load(c);
  const auto samples = samplesFor(dense, c);
  const auto ranks = select::uniformRanksAtBudget(dense.model->ops().infos(), 0.3);
  const auto a = streamed(*dense.model, Method::Whiten, samples, 8, false, ranks);
  auto seq = load(c);
  const auto b = streamed(*seq.model, Method::Whiten, samples, 8, true, ranks);
  // Layer 0 sees the same inputs either way; layer 3 sees what the compressed layers 0-2 produce.
  EXPECT_LT((a[0].s - b[0].s).abs().max().item<double>(), 1e-5 * a[0].s.max().item<double>());
  const size_t last = a.size() - 1;
  EXPECT_GT((a[last].s - b[last].s).abs().max().item<double>(), 1e-3 * a[last].s.max().item<double>());
  // Both applied their ranks while streaming: the ledger is the same.
  EXPECT_EQ(select::ledger(dense.model->ops().infos(), ranks).compressibleAfter,
            select::ledger(seq.model->ops().infos(), ranks).compressibleAfter);
}

}  // namespace
