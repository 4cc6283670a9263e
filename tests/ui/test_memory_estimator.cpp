// MemoryEstimator (the job's memory from the model's headers, on a worker thread) on the shipped
// gpt-mini, a missing model and superseded requests; and the main window keeping the job panel's
// estimate current.
#include <gtest/gtest.h>

#include <QComboBox>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "app/main_window.h"
#include "app/memory_estimator.h"
#include "test_paths.h"
#include "widgets/job_panel.h"

using ranklab::app::MemoryEstimator;

namespace {

constexpr int kTimeoutMs = 60000;
constexpr int kNoSecondSignalMs = 500;

ranklab::api::JobSpec gptMiniSpec(const std::string& selector) {
  ranklab::api::JobSpec s;
  s.model = RANKLAB_SOURCE_DIR "/resources/models/gpt-mini";
  s.calib = RANKLAB_SOURCE_DIR "/resources/data/lm/valid.txt";
  s.selector = selector;
  return s;
}

}  // namespace

TEST(MemoryEstimator, EstimatesTheShippedModelsArsJobFromItsHeaders) {
  MemoryEstimator estimator;
  QSignalSpy estimated(&estimator, &MemoryEstimator::estimated);
  QSignalSpy failed(&estimator, &MemoryEstimator::failed);
  estimator.estimate(gptMiniSpec("ars"));
  ASSERT_TRUE(estimated.wait(kTimeoutMs))
      << (failed.isEmpty() ? "" : failed.first().at(0).toString().toStdString());
  const QString summary = estimated.first().at(0).toString();
  const QString table = estimated.first().at(1).toString();
  // ARS trains through the model: its stage is the peak (gpt-mini's weights are 0.01 GB).
  EXPECT_TRUE(summary.contains(QStringLiteral("at peak, in stage ars"))) << summary.toStdString();
  EXPECT_TRUE(summary.contains(QStringLiteral("available"))) << summary.toStdString();
  EXPECT_TRUE(table.contains(QStringLiteral("decompose (by op)"))) << table.toStdString();
  EXPECT_FALSE(estimated.first().at(2).toBool());
  EXPECT_TRUE(failed.isEmpty());
}

TEST(MemoryEstimator, AMissingModelFailsOnceNamingIt) {
  QTemporaryDir dir;
  auto spec = gptMiniSpec("uniform");
  spec.model = dir.filePath(QStringLiteral("no-such-model")).toStdString();
  MemoryEstimator estimator;
  QSignalSpy estimated(&estimator, &MemoryEstimator::estimated);
  QSignalSpy failed(&estimator, &MemoryEstimator::failed);
  estimator.estimate(spec);
  ASSERT_TRUE(failed.wait(kTimeoutMs));
  EXPECT_TRUE(failed.first().at(0).toString().contains(QStringLiteral("no-such-model")))
      << failed.first().at(0).toString().toStdString();
  QTest::qWait(kNoSecondSignalMs);
  EXPECT_EQ(failed.count(), 1);
  EXPECT_TRUE(estimated.isEmpty());
}

// A request made while another runs supersedes it: one answer, for the newest.
TEST(MemoryEstimator, OnlyTheNewestRequestIsAnswered) {
  MemoryEstimator estimator;
  QSignalSpy estimated(&estimator, &MemoryEstimator::estimated);
  estimator.estimate(gptMiniSpec("ars"));
  estimator.estimate(gptMiniSpec("rankdyna"));
  estimator.estimate(gptMiniSpec("uniform"));
  ASSERT_TRUE(estimated.wait(kTimeoutMs));
  QTest::qWait(kNoSecondSignalMs);
  ASSERT_EQ(estimated.count(), 1);
  const QString table = estimated.first().at(1).toString();
  EXPECT_FALSE(table.contains(QStringLiteral("\nars "))) << table.toStdString();
  EXPECT_TRUE(table.contains(QStringLiteral("\napply "))) << table.toStdString();
}

// Opening a model and editing the form keep the job panel's estimate current.
TEST(MainWindowMemory, TheJobPanelShowsTheEstimateForTheFormAsEdited) {
  QTemporaryDir dir;
  ranklab::app::MainWindow window(nullptr, dir.filePath(QStringLiteral("runs.db")));
  auto* panel = window.jobPanel();
  panel->setSpec(gptMiniSpec("uniform"));
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel->memoryEstimate().contains(QStringLiteral("at peak")); },
                              kTimeoutMs))
      << panel->memoryEstimate().toStdString();
  EXPECT_FALSE(panel->memoryEstimate().contains(QStringLiteral("stage ars")));
  const int ars = panel->selectorBox()->findData(QStringLiteral("ars"));
  ASSERT_GE(ars, 0);
  panel->selectorBox()->setCurrentIndex(ars);
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel->memoryEstimate().contains(QStringLiteral("stage ars")); },
                              kTimeoutMs))
      << panel->memoryEstimate().toStdString();
}
