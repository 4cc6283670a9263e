// Sweeps from the workbench, offscreen, with real parts: the window queues a 2 selectors x 2 budgets
// sweep of the shipped gpt-mini (real jobs on the worker thread), every point lands once in the
// window's database with the sweep's id, the budget curves switch to the sweep, running it again
// queues nothing, and a sweep locked by another process is refused with a message naming it.
#include <gtest/gtest.h>

#include <QAction>
#include <QElapsedTimer>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <map>

#include "app/job_controller.h"
#include "app/main_window.h"
#include "app/run_repository.h"
#include "app/sweep_queue.h"
#include "jobs/sweep.h"
#include "tests/ui/ui_test_util.h"
#include "widgets/budget_curve_view.h"
#include "widgets/job_panel.h"
#include "widgets/sweep_dialog.h"

using ranklab::app::MainWindow;
using ranklab::app::SweepQueue;

namespace {

constexpr int kSweepTimeoutMs = 600000;  // four real jobs on a loaded 2-core CI machine

class GuiSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    m_window.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&m_window));
  }
  QString databasePath() const { return m_dir.filePath(QStringLiteral("gui.db")); }

  ranklab::widgets::SweepRequest request() const {
    ranklab::widgets::SweepRequest r;
    r.base = ranklab::test::gptMiniJob();
    r.base.useCache = true;  // the points share one decomposition through it
    r.base.cacheDir = m_dir.filePath(QStringLiteral("cache")).toStdString();
    r.decompositions = {"svd"};
    r.selectors = {"uniform", "energy"};
    r.keeps = {0.3, 0.5};
    r.seeds = {0};
    return r;
  }

  QTemporaryDir m_dir;
  MainWindow m_window{nullptr, databasePath()};
};

// Runs the event loop until the window's sweep ends; false on timeout.
bool waitForSweep(SweepQueue* sweeps, QSignalSpy& ended) {
  QElapsedTimer clock;
  clock.start();
  while (ended.isEmpty() && clock.elapsed() < kSweepTimeoutMs) ended.wait(200);
  return !ended.isEmpty() && !sweeps->isRunning();
}

TEST_F(GuiSweep, QueuesEveryPointOnceShowsTheSweepAndResumesWithNothingToDo) {
  auto* sweepAction = m_window.findChild<QAction*>(QStringLiteral("sweepAction"));
  ASSERT_NE(sweepAction, nullptr);
  m_window.jobPanel()->setSpec(ranklab::test::gptMiniJob());
  EXPECT_TRUE(m_window.jobPanel()->sweepButton()->isEnabled());

  SweepQueue* sweeps = m_window.sweeps();
  QSignalSpy ended(sweeps, &SweepQueue::sweepFinished);
  ASSERT_TRUE(m_window.startSweep(request())) << sweeps->lastError().toStdString();
  EXPECT_EQ(sweeps->points(), 4);
  EXPECT_EQ(sweeps->queued(), 4);
  EXPECT_TRUE(sweeps->isRunning());
  const QString id = sweeps->sweepId();
  EXPECT_TRUE(id.startsWith(QStringLiteral("sweep-")));
  // While it runs, the sweep's lock is held: the CLI (another process) could not run it too.
  EXPECT_THROW(ranklab::jobs::SweepLock(databasePath().toStdString(), id.toStdString()), std::exception);

  ASSERT_TRUE(waitForSweep(sweeps, ended));
  const auto args = ended.first();
  EXPECT_EQ(args.at(0).toString(), id);
  EXPECT_EQ(args.at(1).toInt(), 4) << "succeeded";
  EXPECT_EQ(args.at(2).toInt(), 0) << "failed";

  // Every point once, in the window's database, with the sweep's id.
  std::map<std::pair<std::string, double>, int> perPoint;
  for (const auto& r : m_window.runs()->listRuns()) {
    EXPECT_EQ(r.sweepId, id.toStdString());
    EXPECT_EQ(r.status, "succeeded");
    ++perPoint[{r.selector, r.keepTarget}];
  }
  EXPECT_EQ(perPoint.size(), 4u);
  for (const auto& [point, count] : perPoint) EXPECT_EQ(count, 1) << point.first << " " << point.second;

  // The budget curves show the sweep: two methods, two budgets each.
  auto* budget = m_window.budgetView();
  EXPECT_EQ(budget->sweep(), id);
  EXPECT_EQ(budget->shownCount(), 4);
  EXPECT_EQ(budget->methodNames(), QStringList({"svd+energy", "svd+uniform"}));
  EXPECT_EQ(budget->curve(QStringLiteral("svd+uniform")).size(), 2u);

  // The same sweep again: every point finished earlier, nothing queued, the lock released.
  ended.clear();
  ASSERT_TRUE(m_window.startSweep(request()));
  EXPECT_EQ(sweeps->queued(), 0);
  EXPECT_EQ(sweeps->finishedEarlier(), 4);
  EXPECT_EQ(ended.size(), 1);
  EXPECT_FALSE(sweeps->isRunning());
  EXPECT_NO_THROW(ranklab::jobs::SweepLock(databasePath().toStdString(), id.toStdString()));
  EXPECT_EQ(m_window.runs()->listRuns().size(), 4u);
}

TEST_F(GuiSweep, ASweepLockedByAnotherProcessIsRefusedWithItsReason) {
  // Another process (as `ranklab-cli sweep` would) holds the lock of the sweep named "locked-sweep".
  ranklab::widgets::SweepRequest named = request();
  named.sweepId = "locked-sweep";
  ranklab::jobs::SweepLock held(databasePath().toStdString(), "locked-sweep");
  EXPECT_FALSE(m_window.startSweep(named));
  QTest::qWait(50);
  const auto boxes = m_window.findChildren<QMessageBox*>(QStringLiteral("errorBox"));
  ASSERT_EQ(boxes.size(), 1);
  EXPECT_TRUE(boxes.first()->text().contains(
      QStringLiteral("sweep locked-sweep is already running in another process")))
      << boxes.first()->text().toStdString();
  EXPECT_TRUE(m_window.runs()->listRuns().empty());
  EXPECT_FALSE(m_window.sweeps()->isRunning());
  boxes.first()->accept();
}

}  // namespace
