// The job pipeline's stages (jobs/job.h), each run on its own against the reference stories260K:
// what a stage leaves behind is checked right after it, without the stages that follow.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "jobs/job.h"
#include "jobs/plan.h"
#include "jobs/selector.h"
#include "models/low_rank_linear.h"
#include "select/ledger.h"
#include "store/run_store.h"
#include "support/reference.h"

namespace fs = std::filesystem;
using namespace ranklab;
using ::testing::HasSubstr;

namespace {

class JobStages : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::haveReference()) GTEST_SKIP() << "reference model not found at " << test::referenceDir();
    m_dir = fs::temp_directory_path() / ("ranklab_stages_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    m_spec.model = (test::referenceDir() / "stories260K.bin").string();
    m_spec.tokenizer = (test::referenceDir() / "tok512.bin").string();
    m_spec.device = "cpu";
    m_spec.evalText = test::referenceText();
    m_spec.maxEvalDocuments = 4;
    m_spec.calibSamples = 4;
    m_spec.calibLength = 128;
    m_spec.db = (m_dir / "runs.db").string();
    m_spec.cacheDir = (m_dir / "cache").string();
  }
  void TearDown() override {
    if (!m_dir.empty()) fs::remove_all(m_dir);
  }

  // A job brought up to (and including) describe(): every later stage needs the model and its identity.
  std::unique_ptr<jobs::Job> loaded() {
    auto job = std::make_unique<jobs::Job>(m_spec, m_progress, m_cancel, nullptr, &m_before);
    job->validate();
    job->load();
    job->describe();
    return job;
  }

  fs::path m_dir;
  api::JobSpec m_spec;
  NullProgress m_progress;
  CancelToken m_cancel;
  jobs::BeforeCache m_before;
};

TEST(Selector, ParsesEveryNameOnceAndNamesTheChoicesOnATypo) {
  for (const char* name : {"uniform", "energy", "manual", "sensitivity", "ars", "rankdyna"})
    EXPECT_EQ(jobs::selectorName(jobs::parseSelector(name)), name);
  try {
    jobs::parseSelector("arss");
    FAIL() << "a typo was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown rank selector 'arss'"));
    EXPECT_THAT(e.what(), HasSubstr("uniform, energy, manual, sensitivity, ars or rankdyna"));
  }
  EXPECT_TRUE(jobs::ranksKnownUpFront(jobs::Selector::Manual));
  EXPECT_FALSE(jobs::ranksKnownUpFront(jobs::Selector::Energy));
  EXPECT_TRUE(jobs::needsCalibration(jobs::Selector::Ars));
  EXPECT_FALSE(jobs::needsCalibration(jobs::Selector::RankDyna));
}

TEST(JobPlan, ATrainingStageThatCannotFitIsRefusedWithTheFlagsToChange) {
  EXPECT_NO_THROW(jobs::requireHostMemory("ARS", 1e6, "activations", "lower --batch"));
  try {
    jobs::requireHostMemory("ARS", 1e15, "activations of a batch of 8 x 512 tokens",
                            "lower --batch or --calib-len");
    FAIL() << "a petabyte was granted";
  } catch (const Error& e) {
    EXPECT_THAT(
        e.what(),
        HasSubstr("ARS needs about 1000000.00 GB more memory (activations of a batch of 8 x 512 tokens)"));
    EXPECT_THAT(e.what(), HasSubstr("lower --batch or --calib-len"));
  }
}

// GPT-2's shape, one ARS batch of 8 x 128 tokens: every activation kept is about 1.9 GB, recomputed
// per layer about 0.3 GB. auto chooses by what is available; on and off are obeyed.
TEST(JobPlan, ActivationCheckpointingIsChosenWhenKeepingEveryActivationWouldNotFit) {
  io::ModelConfig c;
  c.hiddenSize = 768;
  c.numLayers = 12;
  c.intermediateSize = 3072;
  c.vocabSize = 50257;
  const double tokens = 8 * 128;
  const double kept = jobs::trainingActivationBytes(c, tokens, false);
  const double recomputed = jobs::trainingActivationBytes(c, tokens, true);
  EXPECT_NEAR(kept, 1.95e9, 0.05e9);
  EXPECT_LT(recomputed, 0.2 * kept);
  EXPECT_FALSE(jobs::chooseTrainingActivations(c, tokens, 0.5e9, "auto", 24e9).checkpointed);
  const auto tight = jobs::chooseTrainingActivations(c, tokens, 0.5e9, "auto", 2e9);
  EXPECT_TRUE(tight.checkpointed);
  EXPECT_EQ(tight.bytes, recomputed);
  EXPECT_THAT(tight.reason, HasSubstr("would not fit"));
  EXPECT_FALSE(jobs::chooseTrainingActivations(c, tokens, 0.5e9, "auto", 0.0).checkpointed) << "unknown";
  EXPECT_TRUE(jobs::chooseTrainingActivations(c, tokens, 0.0, "on", 24e9).checkpointed);
  EXPECT_FALSE(jobs::chooseTrainingActivations(c, tokens, 0.0, "off", 1e9).checkpointed);
  EXPECT_THROW(jobs::chooseTrainingActivations(c, tokens, 0.0, "sometimes", 1e9), Error);
}

TEST_F(JobStages, ValidateRefusesBadSpecsBeforeLoadingAnything) {
  m_spec.selector = "energy";
  m_spec.randomizedSvd = true;
  jobs::Job job(m_spec, m_progress, m_cancel);
  EXPECT_THROW(
      {
        try {
          job.validate();
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), HasSubstr("randomized SVD needs the ranks before decomposing"));
          throw;
        }
      },
      Error);
  api::JobSpec missing = m_spec;
  missing.selector = "uniform";
  missing.randomizedSvd = false;
  missing.calib = (m_dir / "absent.txt").string();
  jobs::Job job2(missing, m_progress, m_cancel);
  EXPECT_THROW(
      {
        try {
          job2.validate();
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), HasSubstr("absent.txt: no such file (calibration data)"));
          throw;
        }
      },
      Error);
}

TEST_F(JobStages, LoadAndDescribeIdentifyTheModelWithoutStoringAnything) {
  auto job = loaded();
  const auto& r = job->record();
  EXPECT_EQ(r.architecture, "llama");
  EXPECT_EQ(r.modelHash.size(), 64u);
  EXPECT_EQ(r.evalHash.size(), 64u);
  EXPECT_EQ(r.compressibleBefore, job->model().ops().compressibleParams());
  EXPECT_EQ(job->model().ops().size(), 35u);  // PLATFORM-NOTES: 5 layers x 7 ops
  EXPECT_EQ(r.metric, "perplexity");
  EXPECT_FALSE(fs::exists(m_spec.db)) << "no stage before begin() opens the store";
}

TEST_F(JobStages, EvaluateBeforeMeasuresTheDenseModelOnceAndASecondJobReusesIt) {
  auto first = loaded();
  first->evaluateBefore();
  // 4 held-out stories with the default protocol: near the reference model's 3.44 over all 69.
  const double ppl = first->record().metricBefore;
  EXPECT_GT(ppl, 2.0);
  EXPECT_LT(ppl, 6.0);
  EXPECT_FALSE(first->outcome().beforeFromEarlierJob);
  auto second = loaded();
  second->evaluateBefore();
  EXPECT_TRUE(second->outcome().beforeFromEarlierJob);
  EXPECT_EQ(second->record().metricBefore, ppl);  // exact: the same stored figure
}

TEST_F(JobStages, SampleCalibrationCutsWindowsOnlyWhenTheMethodNeedsThem) {
  m_spec.decomposition = "whiten";
  auto noData = loaded();
  EXPECT_THROW(
      {
        try {
          noData->sampleCalibration();
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), HasSubstr("whiten needs calibration data: pass --calib FILE (text)"));
          throw;
        }
      },
      Error);
  m_spec.calib = test::referenceText();
  auto job = loaded();
  job->sampleCalibration();
  ASSERT_EQ(job->calibrationSamples().size(), 4u);
  for (const auto& s : job->calibrationSamples()) EXPECT_EQ(s.ids.size(), 128u);
  m_spec.decomposition = "svd";
  auto plain = loaded();
  plain->sampleCalibration();
  EXPECT_TRUE(plain->calibrationSamples().empty());
}

TEST_F(JobStages, DecomposeComputesEveryOpOnceThenServesTheCache) {
  auto job = loaded();
  job->sampleCalibration();
  job->decompose();
  ASSERT_EQ(job->decompositions().size(), 35u);
  EXPECT_FALSE(job->outcome().decompositionFromCache);
  // Uniform ranks are known before decomposing (a randomized SVD could use them).
  EXPECT_EQ(job->ranks(), select::uniformRanksAtBudget(job->model().ops().infos(), m_spec.keep));
  auto again = loaded();
  again->sampleCalibration();
  again->decompose();
  EXPECT_TRUE(again->outcome().decompositionFromCache);
  // Metric: max abs difference of the singular values of op 0; tolerance 0 (the cache stores them exactly).
  EXPECT_EQ((again->decompositions()[0].s - job->decompositions()[0].s).abs().max().item<float>(), 0.0f);
}

TEST_F(JobStages, SelectRanksMeetsTheBudgetAndApplyFactorizesTheModel) {
  m_spec.selector = "energy";
  m_spec.keep = 0.4;
  auto job = loaded();
  job->sampleCalibration();
  job->decompose();
  EXPECT_TRUE(job->ranks().empty()) << "energy ranks depend on the spectra";
  job->selectRanks();
  const auto infos = job->model().ops().infos();
  ASSERT_EQ(job->ranks().size(), infos.size());
  const auto ledger = select::ledger(infos, job->ranks());
  EXPECT_LE(ledger.keptFraction, 0.4 + 1e-12);
  EXPECT_GT(ledger.keptFraction, 0.37);
  job->apply();
  EXPECT_NEAR(job->record().keptFraction, ledger.keptFraction, 1e-12);
  EXPECT_TRUE(job->decompositions().empty()) << "the factors live in the model after apply";
  int factorized = 0;
  for (const auto& e : job->model().ops().entries())
    factorized += std::dynamic_pointer_cast<models::LowRankLinear>(e.slot->impl()) != nullptr;
  int expected = 0;
  for (const auto& op : job->outcome().data.ops) expected += op.factorized;
  EXPECT_EQ(factorized, expected);
  EXPECT_GT(factorized, 0);
}

TEST_F(JobStages, EvaluateAfterExportAndSucceedWorkWithoutAStore) {
  m_spec.store = false;
  m_spec.exportDir = (m_dir / "export").string();
  auto job = loaded();
  job->begin();
  job->evaluateBefore();
  job->sampleCalibration();
  job->decompose();
  job->selectRanks();
  job->apply();
  job->evaluateAfter();
  EXPECT_GT(job->record().metricAfter, job->record().metricBefore) << "p = 0.5 plain SVD costs perplexity";
  job->exportModel();
  EXPECT_TRUE(fs::exists(m_dir / "export" / "ranklab.json"));
  const auto out = job->succeed();
  EXPECT_EQ(out.status, "succeeded");
  EXPECT_EQ(out.data.run.id, 0);
  EXPECT_FALSE(fs::exists(m_spec.db));
}

TEST_F(JobStages, BeginStoresARunningRunAndFailRecordsTheMessage) {
  auto job = loaded();
  job->begin();
  ASSERT_GT(job->record().id, 0);
  {
    store::RunStore db(m_spec.db);
    EXPECT_EQ(db.findRun(job->record().id)->status, "running");
  }
  const auto out = job->fail("layers.0.attn.q: something went wrong");
  EXPECT_EQ(out.status, "failed");
  store::RunStore db(m_spec.db);
  const auto stored = db.findRun(job->record().id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, "failed");
  EXPECT_EQ(stored->error, "layers.0.attn.q: something went wrong");
}

}  // namespace

namespace {

// A run deleted while its job runs (runs delete --force, the GUI): the job's next write fails, and
// its outcome says what happened instead of "no run with id N".
TEST_F(JobStages, AJobWhoseRunWasDeletedSaysSo) {
  auto job = loaded();
  job->begin();
  store::RunStore other(m_spec.db);
  const auto runs = other.listRuns({});
  ASSERT_EQ(runs.size(), 1u);
  other.deleteRun(runs[0].id);
  api::JobOutcome out;
  try {
    out = job->succeed();
    FAIL() << "a write to the deleted run succeeded";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("no run with id"));  // what the store says
    out = job->fail(e.what());
  }
  EXPECT_EQ(out.status, "failed");
  EXPECT_THAT(out.error, HasSubstr("run " + std::to_string(runs[0].id) + " was deleted from " + m_spec.db));
  EXPECT_THAT(out.error, HasSubstr("while this job was running"));
  EXPECT_TRUE(other.listRuns({}).empty()) << "the failure must not bring the run back";
}

}  // namespace
