// The workbench end to end, offscreen, with real parts: the job panel starts a real ARS compression
// of the shipped gpt-mini on the worker thread (QTest clicks), the run lands in the SQLite store and
// in the run browser, and every view has data; cancelling and a failing job leave the window usable.
// An event-loop probe (a 5 ms QTimer) measures the longest stall of the GUI thread during the job.
#include <gtest/gtest.h>

#include <QAction>
#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "app/main_window.h"
#include "app/run_repository.h"
#include "store/run_store.h"
#include "tests/ui/ui_test_util.h"
#include "widgets/budget_curve_view.h"
#include "widgets/compare_view.h"
#include "widgets/job_panel.h"
#include "widgets/log_view.h"
#include "widgets/mask_evolution_view.h"
#include "widgets/model_summary_view.h"
#include "widgets/rank_allocation_view.h"
#include "widgets/run_browser.h"
#include "widgets/run_table_model.h"
#include "widgets/spectrum_view.h"

using ranklab::app::MainWindow;

namespace {

constexpr int kJobTimeoutMs = 300000;  // a loaded 2-core CI machine running tests in parallel

ranklab::api::JobSpec arsJob() {
  ranklab::api::JobSpec spec = ranklab::test::gptMiniJob();
  spec.selector = "ars";
  spec.batchSize = 2;
  spec.arsSteps = 30;
  spec.arsEarlyStop = false;
  spec.logEvery = 5;
  return spec;
}

// Runs the event loop until `window` reports the end of a job; returns its status.
QString waitForJob(MainWindow& window, int timeoutMs = kJobTimeoutMs) {
  QSignalSpy ended(&window, &MainWindow::jobEnded);
  QElapsedTimer clock;
  clock.start();
  while (ended.isEmpty() && clock.elapsed() < timeoutMs) ended.wait(200);
  return ended.isEmpty() ? QStringLiteral("timeout") : ended.first().at(1).toString();
}

// Records the longest gap between ticks of a 5 ms timer: how long the GUI thread was unresponsive.
class StallProbe {
 public:
  StallProbe() {
    m_timer.setInterval(5);
    QObject::connect(&m_timer, &QTimer::timeout, [this] {
      const qint64 now = m_clock.nsecsElapsed();
      if (m_last > 0) m_maxGapMs = std::max(m_maxGapMs, double(now - m_last) / 1e6);
      m_last = now;
    });
    m_clock.start();
    m_timer.start();
  }
  double maxGapMs() const { return m_maxGapMs; }

 private:
  QTimer m_timer;
  QElapsedTimer m_clock;
  qint64 m_last = 0;
  double m_maxGapMs = 0.0;
};

// Each test gets a shown main window on a database of its own (not $RANKLAB_DB: the window's jobs
// must write where the window reads).
class GuiJob : public ::testing::Test {
 protected:
  void SetUp() override {
    m_window.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&m_window));
  }
  QString databasePath() const { return m_dir.filePath(QStringLiteral("gui.db")); }

  QTemporaryDir m_dir;
  MainWindow m_window{nullptr, databasePath()};
};

TEST_F(GuiJob, ARealArsJobFromThePanelFillsTheBrowserAndEveryView) {
  auto* panel = m_window.jobPanel();
  panel->setSpec(arsJob());
  ASSERT_TRUE(panel->problem().isEmpty()) << panel->problem().toStdString();
  ASSERT_TRUE(panel->runButton()->isEnabled());
  StallProbe probe;
  QTest::mouseClick(panel->runButton(), Qt::LeftButton);
  EXPECT_TRUE(panel->cancelButton()->isEnabled());
  EXPECT_FALSE(panel->runButton()->isEnabled());
  ASSERT_EQ(waitForJob(m_window), QStringLiteral("succeeded"));
  // Metric: longest GUI-thread stall during the job. The goal is 50 ms on a quiet machine
  // (the closing note reports the figure); the bound here allows for a loaded 2-core CI machine.
  std::printf("longest event-loop stall during the job: %.1f ms\n", probe.maxGapMs());
  EXPECT_LT(probe.maxGapMs(), 500.0);

  // The run is in the browser (read back from the SQLite store) and the views show it.
  auto* runs = m_window.runBrowser()->model();
  ASSERT_EQ(runs->rowCount(), 1);
  const auto* run = runs->runAt(0);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->selector, "ars");
  EXPECT_EQ(run->status, "succeeded");
  EXPECT_EQ(m_window.shownRunId(), run->id);
  EXPECT_EQ(m_window.rankView()->barValues().size(), 24u);
  EXPECT_FALSE(m_window.rankView()->uniformRanks().empty());
  EXPECT_EQ(m_window.maskView()->frameCount(), 6);  // steps 5, 10, ..., 30
  EXPECT_TRUE(m_window.maskView()->seriesNames().contains(QStringLiteral("task_loss")));
  EXPECT_GE(m_window.spectrumView()->cutRank(), 1);
  EXPECT_GT(m_window.spectrumView()->energyKept(), 0.0);
  EXPECT_EQ(m_window.budgetView()->methodNames(), QStringList{QStringLiteral("svd+ars")});
  // File > Export Current View saves every plotted tab as a figure and as data.
  QTemporaryDir exports;
  for (QWidget* view :
       {static_cast<QWidget*>(m_window.rankView()), static_cast<QWidget*>(m_window.spectrumView()),
        static_cast<QWidget*>(m_window.maskView()), static_cast<QWidget*>(m_window.budgetView())}) {
    m_window.tabs()->setCurrentWidget(view);
    for (const char* suffix : {"png", "csv"}) {
      const QString file =
          exports.filePath(QStringLiteral("%1.%2").arg(m_window.tabs()->currentIndex()).arg(suffix));
      QString error;
      ASSERT_TRUE(m_window.exportCurrentViewTo(file, &error)) << error.toStdString();
      QFile written(file);
      ASSERT_TRUE(written.open(QIODevice::ReadOnly)) << file.toStdString();
      const QByteArray bytes = written.readAll();
      if (QLatin1String(suffix) == QLatin1String("csv")) {
        EXPECT_GE(bytes.count('\n'), 2) << file.toStdString() << ": a header and at least one row";
      } else {
        EXPECT_TRUE(bytes.startsWith("\x89PNG")) << file.toStdString();
      }
    }
  }
  m_window.tabs()->setCurrentWidget(m_window.modelSummaryView());
  EXPECT_FALSE(m_window.exportCurrentViewTo(exports.filePath(QStringLiteral("model.png"))));
  EXPECT_TRUE(panel->runButton()->isEnabled());
  EXPECT_FALSE(panel->cancelButton()->isEnabled());

  // A second run, then both compared through the keyboard shortcut's action.
  auto uniform = arsJob();
  uniform.selector = "uniform";
  panel->setSpec(uniform);
  QTest::mouseClick(panel->runButton(), Qt::LeftButton);
  ASSERT_EQ(waitForJob(m_window), QStringLiteral("succeeded"));
  ASSERT_EQ(runs->rowCount(), 2);
  m_window.runBrowser()->selectIds({runs->runAt(0)->id, runs->runAt(1)->id});
  auto* compare = m_window.findChild<QAction*>(QStringLiteral("compareAction"));
  ASSERT_NE(compare, nullptr);
  compare->trigger();
  EXPECT_EQ(m_window.compareView()->runCount(), 2);
  EXPECT_TRUE(m_window.compareView()->differingKeys().contains(QStringLiteral("selector")));
  EXPECT_EQ(m_window.tabs()->currentWidget(), m_window.compareView());
  EXPECT_TRUE(m_window.rankView()->comparisonMode());
  EXPECT_EQ(m_window.budgetView()->methodNames().size(), 2);
  ranklab::app::RunRepository file;
  ASSERT_TRUE(file.open(databasePath()));
  EXPECT_EQ(file.listRuns().size(), 2u);
}

TEST_F(GuiJob, CancellingARunningJobStoresNothingAndReenablesRun) {
  auto spec = arsJob();
  spec.arsSteps = 100000;
  spec.logEvery = 2;
  m_window.jobPanel()->setSpec(spec);
  QTest::mouseClick(m_window.jobPanel()->runButton(), Qt::LeftButton);
  // Live: mask frames reach the mask evolution view while the job runs.
  QElapsedTimer clock;
  clock.start();
  while (m_window.maskView()->frameCount() < 2 && clock.elapsed() < kJobTimeoutMs) QTest::qWait(50);
  ASSERT_GE(m_window.maskView()->frameCount(), 2);
  EXPECT_EQ(m_window.runBrowser()->model()->rowCount(), 1);  // the running run is listed
  auto* cancel = m_window.findChild<QAction*>(QStringLiteral("cancelAction"));
  ASSERT_NE(cancel, nullptr);
  clock.restart();
  cancel->trigger();
  ASSERT_EQ(waitForJob(m_window, 10000), QStringLiteral("cancelled"));
  EXPECT_LT(clock.elapsed(), 2000);
  EXPECT_EQ(m_window.runBrowser()->model()->rowCount(), 0);
  EXPECT_TRUE(m_window.jobPanel()->runButton()->isEnabled());
}

TEST_F(GuiJob, AFailedJobShowsOneCopyableErrorAndTheWindowStaysUsable) {
  auto spec = arsJob();
  spec.model = "/nonexistent/ranklab-model";
  spec.selector = "uniform";
  m_window.jobPanel()->setSpec(spec);
  QTest::mouseClick(m_window.jobPanel()->runButton(), Qt::LeftButton);
  ASSERT_EQ(waitForJob(m_window), QStringLiteral("failed"));
  QTest::qWait(100);
  const auto boxes = m_window.findChildren<QMessageBox*>(QStringLiteral("errorBox"));
  ASSERT_EQ(boxes.size(), 1);
  EXPECT_TRUE(boxes.first()->text().contains(QStringLiteral("/nonexistent/ranklab-model")))
      << boxes.first()->text().toStdString();
  EXPECT_TRUE(boxes.first()->textInteractionFlags() & Qt::TextSelectableByKeyboard);
  boxes.first()->accept();
  spec.model = ranklab::test::gptMiniJob().model;
  m_window.jobPanel()->setSpec(spec);
  QTest::mouseClick(m_window.jobPanel()->runButton(), Qt::LeftButton);
  ASSERT_EQ(waitForJob(m_window), QStringLiteral("succeeded"));
}

}  // namespace

// A run that another process's job is still writing (here: this test, through its own store handle,
// playing a CLI job) is kept by Delete in the window, with a message naming its owner; a finished
// run is deleted.
TEST_F(GuiJob, DeletingARunAnotherJobIsWritingKeepsIt) {
  ranklab::store::RunStore other(databasePath().toStdString());
  ranklab::api::RunRecord live;
  live.name = "a CLI job";
  const int64_t liveId = other.beginRun(live);
  ranklab::api::RunRecord done;
  done.name = "finished";
  done.status = "succeeded";
  const int64_t doneId = other.beginRun(done);
  done.id = doneId;
  done.status = "succeeded";
  other.updateRun(done);
  m_window.refreshRuns();
  ASSERT_EQ(m_window.runBrowser()->model()->rowCount(), 2);

  emit m_window.runBrowser()->deleteRequested({liveId, doneId});
  EXPECT_TRUE(other.findRun(liveId)) << "a run its job is still writing was deleted";
  EXPECT_FALSE(other.findRun(doneId));
  const QString log = m_window.logView()->toPlainText();
  EXPECT_TRUE(log.contains(QStringLiteral("Run %1 is kept").arg(liveId))) << log.toStdString();
  EXPECT_TRUE(log.contains(QStringLiteral("pid %1").arg(QCoreApplication::applicationPid())))
      << log.toStdString();
  EXPECT_EQ(m_window.runBrowser()->model()->rowCount(), 1);
}
