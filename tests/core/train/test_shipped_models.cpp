// The shipped demo models (resources/models) load and reach the validation figures documented in
// their training.json (and README) within 1%, beat their baselines by the documented margins, and
// their tokenizer is the one every model ships.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "common/resources.h"
#include "data/corpus.h"
#include "eval/classification.h"
#include "eval/perplexity.h"
#include "models/loader.h"
#include "test_paths.h"
#include "train/pretrain.h"

namespace fs = std::filesystem;
using namespace ranklab;

namespace {

const fs::path& root() {
  static const fs::path r = RANKLAB_SOURCE_DIR;
  return r;
}

fs::path modelDir(const std::string& name) { return root() / "resources" / "models" / name; }

nlohmann::json training(const std::string& name) {
  return nlohmann::json::parse(data::readTextFile(modelDir(name) / "training.json"));
}

models::LoadedModel load(const std::string& name) {
  models::LoadOptions o;
  o.device = "cpu";
  return models::loadModel(modelDir(name), o);
}

// Metric: relative difference, tolerance 1% (the bound; the same code on the same weights
// reproduces the figure to rounding).
void expectWithinOnePercent(double measured, double documented, const std::string& what) {
  EXPECT_LT(std::abs(measured - documented), 0.01 * std::abs(documented))
      << what << ": measured " << measured << ", documented " << documented;
}

TEST(ShippedModels, LocatedThroughTheResourcesDirectory) {
  EXPECT_EQ(fs::weakly_canonical(shippedModel("gpt-mini")), fs::weakly_canonical(modelDir("gpt-mini")));
  EXPECT_THROW(shippedModel("no-such-model"), Error);
}

TEST(ShippedModels, GptMiniReachesItsValidationPerplexityAndBeatsTheBigram) {
  const auto doc = training("gpt-mini");
  auto m = load("gpt-mini");
  EXPECT_EQ(m.model->config().arch, io::Architecture::Gpt2);
  EXPECT_EQ(m.model->totalParams(), doc["parameters"].get<int64_t>());
  // Most parameters sit in the compressible linear layers.
  EXPECT_GT(static_cast<double>(m.summary().compressibleParams) / static_cast<double>(m.model->totalParams()),
            0.7);
  eval::PerplexityOptions o;
  o.context = m.model->config().maxPositions;
  const auto text = data::readTextFile(root() / doc["valid_file"].get<std::string>());
  const auto r = eval::perplexity(*m.model, *m.tokenizer, text, o);
  EXPECT_EQ(r.tokens, doc["valid"]["tokens"].get<int64_t>());
  expectWithinOnePercent(r.perplexity, doc["valid"]["perplexity"].get<double>(),
                         "gpt-mini validation perplexity");
  const double bigram = doc["bigram_valid"]["perplexity"].get<double>();
  // Metric: perplexity ratio to the bigram baseline on the same tokens; the model must be clearly better.
  EXPECT_LT(r.perplexity, 0.75 * bigram) << "bigram " << bigram;
}

TEST(ShippedModels, BertMiniReachesItsMaskedLmLoss) {
  const auto doc = training("bert-mini");
  auto m = load("bert-mini");
  EXPECT_EQ(m.model->config().arch, io::Architecture::Bert);
  ASSERT_TRUE(m.model->hasLmHead());
  train::PretrainOptions o;
  o.objective = train::Objective::MaskedLm;
  o.sequenceLength = doc["seq_len"].get<int64_t>();
  o.batchSize = doc["batch"].get<int64_t>();
  o.evalWindows = doc.value("eval_windows", int64_t{64});
  o.maskProbability = doc.value("mask_prob", 0.15);
  o.maskId = m.tokenizer->maskId();
  o.clsId = m.tokenizer->bosId();
  ASSERT_GE(o.maskId, 0);
  const auto tokens = train::tokenStream(
      *m.tokenizer, data::readTextFile(root() / doc["valid_file"].get<std::string>()), "<|endoftext|>");
  const double loss = train::validationLoss(*m.model, tokens, o);
  expectWithinOnePercent(loss, doc["valid"]["masked_lm_loss"].get<double>(), "bert-mini masked-LM loss");
  // Metric: masked-token cross-entropy against the unigram baseline (what a model that ignores the
  // context scores; masked positions are drawn uniformly), in nats: the encoder must use its context.
  const auto unigram = eval::unigramPerplexity(
      *m.tokenizer, data::readTextFile(root() / doc["train_files"][0].get<std::string>()),
      data::readTextFile(root() / doc["valid_file"].get<std::string>()));
  EXPECT_LT(loss, unigram.meanNll - 0.3) << "unigram " << unigram.meanNll;
}

class TaskModel : public ::testing::TestWithParam<std::string> {};

TEST_P(TaskModel, ReachesItsValidationAccuracyAboveTheMajorityClass) {
  const std::string name = "bert-mini-" + GetParam();
  const auto doc = training(name);
  auto m = load(name);
  ASSERT_TRUE(m.model->hasClassifier());
  const auto examples =
      data::readLabelled(root() / doc["valid_file"].get<std::string>(), m.model->config().id2label);
  eval::ClassificationOptions o;
  o.maxLength = doc["valid"]["max_length"].get<int64_t>();
  const auto r = eval::accuracy(*m.model, *m.tokenizer, examples, o);
  EXPECT_EQ(r.examples, doc["valid"]["examples"].get<int64_t>());
  expectWithinOnePercent(r.accuracy, doc["valid"]["accuracy"].get<double>(), name + " validation accuracy");
  const double majority = doc["valid"]["majority_baseline"].get<double>();
  // Metric: accuracy in points above the majority-class share; clearly above it.
  EXPECT_GT(r.accuracy, majority + 0.1) << "majority " << majority;
}

INSTANTIATE_TEST_SUITE_P(Shipped, TaskModel, ::testing::Values("spam", "sotu-era"));

TEST(ShippedModels, TheHarderTaskIsNotSolved) {
  // Compression damage must stay visible: the era task's accuracy is well below 100%.
  EXPECT_LT(training("bert-mini-sotu-era")["valid"]["accuracy"].get<double>(), 0.95);
}

TEST(ShippedModels, EveryModelShipsTheSameTokenizer) {
  const auto vocab = data::readTextFile(modelDir("tokenizer") / "vocab.json");
  const auto merges = data::readTextFile(modelDir("tokenizer") / "merges.txt");
  for (const char* name : {"gpt-mini", "bert-mini", "bert-mini-spam", "bert-mini-sotu-era"}) {
    EXPECT_EQ(data::readTextFile(modelDir(name) / "vocab.json"), vocab) << name;
    EXPECT_EQ(data::readTextFile(modelDir(name) / "merges.txt"), merges) << name;
  }
}

}  // namespace
