// A training step split over threads (lowrank/task_gradients.h) against one backward pass of the whole
// batch, on the reference stories260K (LLaMA), the shipped gpt-mini (GPT-2) and a tiny BERT classifier:
// the same loss and gradients up to float rounding, the same bits for the same number of workers,
// gradients added to what is there, and a part's error reaching the caller.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <thread>

#include "ars/ars.h"
#include "common/error.h"
#include "data/corpus.h"
#include "lowrank/decompose.h"
#include "lowrank/task_gradients.h"
#include "models/loader.h"
#include "support/reference.h"
#include "support/tiny_config.h"
#include "support/tiny_models.h"
#include "test_paths.h"
#include "train/finetune.h"

namespace fs = std::filesystem;
using namespace ranklab;

namespace {

std::vector<at::Tensor> gradsOf(models::LanguageModel& model) {
  std::vector<at::Tensor> out;
  for (const auto& p : model.parameters())
    out.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
  return out;
}

void clearGrads(models::LanguageModel& model) {
  for (auto& p : model.parameters()) p.mutable_grad() = at::Tensor();
}

std::vector<const lowrank::CalibrationSample*> pointers(const std::vector<lowrank::CalibrationSample>& s) {
  std::vector<const lowrank::CalibrationSample*> out;
  for (const auto& x : s) out.push_back(&x);
  return out;
}

// One backward pass of the whole batch, then the split step with 2, 3 and 5 workers. Metrics: the
// loss's relative difference (<= 1e-6), and per parameter the largest gradient difference relative
// to that parameter's largest reference gradient entry (<= 1e-5; float32 sums in another order).
void expectSplitMatchesWhole(models::LanguageModel& model,
                             const std::vector<lowrank::CalibrationSample>& samples) {
  const auto batch = pointers(samples);
  const auto params = model.parameters();
  std::vector<std::string> names;
  for (const auto& item : model.named_parameters()) names.push_back(item.key());
  clearGrads(model);
  const at::Tensor whole = lowrank::taskLoss(model, batch);
  whole.backward();
  const double wholeLoss = whole.item<double>();
  const auto reference = gradsOf(model);
  for (int64_t workers : {2, 3, 5}) {
    clearGrads(model);
    const double loss = lowrank::taskLossBackward(model, batch, params, 0, workers);
    EXPECT_NEAR(loss, wholeLoss, 1e-6 * std::abs(wholeLoss)) << workers << " workers";
    const auto grads = gradsOf(model);
    ASSERT_EQ(grads.size(), reference.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      ASSERT_EQ(grads[i].defined(), reference[i].defined()) << "parameter " << i;
      if (!reference[i].defined()) continue;
      EXPECT_EQ(grads[i].sizes(), reference[i].sizes());
      EXPECT_EQ(grads[i].strides(), params[i].strides()) << "a .grad laid out as its parameter";
      // A key bias's gradient is zero in exact arithmetic (the softmax ignores a constant added to a
      // row), so its entries are rounding noise (about 1e-9 here): such parameters are held to 1e-8.
      const double scale = reference[i].abs().max().item<double>();
      const double diff = (grads[i] - reference[i]).abs().max().item<double>();
      if (scale < 1e-6)
        EXPECT_LE(diff, 1e-8) << names[i] << ", " << workers << " workers";
      else
        EXPECT_LE(diff / scale, 1e-5) << names[i] << ", " << workers << " workers, largest entry " << scale;
    }
  }
  clearGrads(model);
}

// Windows of unequal length (the parts pad to their own longest and weigh by their targets).
std::vector<lowrank::CalibrationSample> unequalWindows(std::vector<lowrank::CalibrationSample> s) {
  s[1].ids.resize(40);
  s[3].ids.resize(97);
  s[4].ids.resize(2);  // one target
  return s;
}

// 30 ARS steps on all 6 samples, one worker.
ars::ArsOptions shortArs() {
  ars::ArsOptions o;
  o.steps = 30;
  o.plateauWindow = 10;
  o.earlyStop = false;
  o.batchSize = 6;
  o.workers = 1;
  return o;
}

}  // namespace

TEST(TaskLossBackward, SplitStepsMatchOneBackwardPassOnStories260K) {
  if (!test::haveReference()) GTEST_SKIP() << "reference model not found at " << test::referenceDir();
  auto loaded = models::loadModel(test::referenceDir() / "stories260K.bin",
                                  {"cpu", test::referenceDir() / "tok512.bin"});
  const auto text = data::readTextFile(test::referenceText());
  expectSplitMatchesWhole(*loaded.model, unequalWindows(lowrank::textSamples(*loaded.tokenizer, text,
                                                                             "<|endoftext|>", 6, 129, 0)));
}

TEST(TaskLossBackward, SplitStepsMatchOneBackwardPassOnGptMini) {
  const fs::path res = fs::path(RANKLAB_SOURCE_DIR) / "resources";
  auto loaded = models::loadModel(res / "models" / "gpt-mini", {"cpu", {}});
  loaded.model->promoteToFloat();  // stored in fp16: gradients in float32, as fine-tuning trains it
  const auto text = data::readTextFile(res / "data" / "lm" / "valid.txt");
  expectSplitMatchesWhole(*loaded.model, unequalWindows(lowrank::textSamples(*loaded.tokenizer, text,
                                                                             "<|endoftext|>", 6, 129, 0)));
}

// An encoder's loss is a mean over examples: parts weigh by their examples and pad to their own longest.
TEST(TaskLossBackward, SplitStepsMatchOneBackwardPassOnAClassifier) {
  torch::manual_seed(5);
  auto encoder = models::createModel(test::tinyConfig(io::Architecture::Bert, {259, 32, 2, 2, 0, 64, 32}));
  auto model = train::withClassifier(*encoder, {"ham", "spam", "eggs"}, 4);
  std::vector<lowrank::CalibrationSample> samples;
  for (int64_t i = 0; i < 7; ++i) {
    lowrank::CalibrationSample s;
    for (int64_t t = 0; t < 5 + 3 * i; ++t) s.ids.push_back((i * 37 + t * 11) % 250 + 4);
    s.label = i % 3;
    samples.push_back(s);
  }
  expectSplitMatchesWhole(*model, samples);
}

TEST(TaskLossBackward, TheSameWorkersGiveTheSameBitsAndAddToExistingGradients) {
  auto model = test::tinyGpt2Model(3);
  const auto samples = test::randomSamples(6, 20, 61, 9);
  const auto batch = pointers(samples);
  const auto params = model->parameters();
  lowrank::taskLossBackward(*model, batch, params, 0, 3);
  const auto first = gradsOf(*model);
  clearGrads(*model);
  lowrank::taskLossBackward(*model, batch, params, 0, 3);
  const auto second = gradsOf(*model);
  for (size_t i = 0; i < first.size(); ++i)
    EXPECT_TRUE(torch::equal(first[i], second[i])) << "parameter " << i;
  // A second step without clearing adds: the gradient doubles (exactly: x + x is 2x in float).
  lowrank::taskLossBackward(*model, batch, params, 0, 3);
  const auto doubled = gradsOf(*model);
  for (size_t i = 0; i < first.size(); ++i)
    EXPECT_TRUE(torch::equal(doubled[i], 2 * first[i])) << "parameter " << i;
}

TEST(TaskLossBackward, OnlyTheListedLeavesReceiveAGradient) {
  auto model = test::tinyGpt2Model(4);
  const auto samples = test::randomSamples(4, 12, 61, 2);
  auto params = model->parameters();
  lowrank::taskLossBackward(*model, pointers(samples), {params[0]}, 0, 2);
  EXPECT_TRUE(params[0].grad().defined());
  EXPECT_GT(params[0].grad().abs().sum().item<double>(), 0.0);
  for (size_t i = 1; i < params.size(); ++i) EXPECT_FALSE(params[i].grad().defined()) << "parameter " << i;
}

TEST(TaskLossBackward, AnErrorInAnyPartReachesTheCallerAndLeavesGradientsAlone) {
  auto model = test::tinyGpt2Model(5);
  auto samples = test::randomSamples(4, 12, 61, 3);
  samples[3].ids.resize(1);  // in the last part: too short to score
  const auto params = model->parameters();
  try {
    lowrank::taskLossBackward(*model, pointers(samples), params, 0, 2);
    FAIL() << "a one-token sample was scored";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too short"), std::string::npos) << e.what();
  }
  for (const auto& p : params) EXPECT_FALSE(p.grad().defined());
}

TEST(TaskLossBackward, WorkersFollowTheRequestTheBatchAndTheModel) {
  auto model = test::tinyGpt2Model(6);
  const int64_t hardware = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(lowrank::stepWorkers(*model, 8, 3), 3);
  EXPECT_EQ(lowrank::stepWorkers(*model, 2, 3), 2);  // at most one per sample
  EXPECT_EQ(lowrank::stepWorkers(*model, 0, 3), 1);
  EXPECT_EQ(lowrank::stepWorkers(*model, 64, 0), std::min<int64_t>(hardware, 64));
  model->setActivationCheckpointing(true);  // recomputation swaps per-op inputs on the shared model
  EXPECT_EQ(lowrank::stepWorkers(*model, 8, 3), 1);
}

// ARS's gates are leaves whose gradients the split step sums and hands on to the hypernetwork: one and
// three workers train the same masks. Metric: the mean task loss of the last plateau window, relative
// difference <= 1e-4 after 30 steps, and the same read-off ranks.
TEST(TaskLossBackward, ArsTrainsTheSameMasksOnOneOrThreeWorkers) {
  auto model = test::tinyGpt2Model(7);
  const auto samples = test::randomSamples(6, 24, 61, 4);
  const auto decs = lowrank::decomposeModel(*model, lowrank::Method::Svd, nullptr);
  auto o = shortArs();
  const auto one = ars::trainArs(*model, decs, samples, o);
  o.workers = 3;
  const auto three = ars::trainArs(*model, decs, samples, o);
  EXPECT_EQ(one.workers, 1);
  EXPECT_EQ(three.workers, 3);
  EXPECT_NEAR(three.finalTaskLoss, one.finalTaskLoss, 1e-4 * one.finalTaskLoss);
  EXPECT_EQ(three.readOff.ranks, one.readOff.ranks);
  EXPECT_EQ(three.readOff.noiseFree, one.readOff.noiseFree);
}

// With activation checkpointing the step runs on one worker and the gates are leaves the
// recomputation hands their gradients to: the same training as keeping every activation. Metric as
// above (loss of the last window, relative 1e-4; the same read-off ranks).
TEST(TaskLossBackward, ArsTrainsTheSameMasksWithActivationCheckpointing) {
  auto model = test::tinyGpt2Model(8);
  const auto samples = test::randomSamples(6, 24, 61, 6);
  const auto decs = lowrank::decomposeModel(*model, lowrank::Method::Svd, nullptr);
  const auto o = shortArs();
  const auto kept = ars::trainArs(*model, decs, samples, o);
  model->setActivationCheckpointing(true);
  const auto recomputed = ars::trainArs(*model, decs, samples, o);
  model->setActivationCheckpointing(false);
  EXPECT_NEAR(recomputed.finalTaskLoss, kept.finalTaskLoss, 1e-4 * kept.finalTaskLoss);
  EXPECT_EQ(recomputed.readOff.ranks, kept.readOff.ranks);
  EXPECT_EQ(recomputed.readOff.noiseFree, kept.readOff.noiseFree);
}
