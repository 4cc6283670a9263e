#include <gtest/gtest.h>

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QMenuBar>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include "api/protocol.h"
#include "app/main_window.h"
#include "store/run_store.h"
#include "support/cli_runner.h"
#include "test_paths.h"
#include "widgets/budget_curve_view.h"
#include "widgets/job_panel.h"
#include "widgets/log_view.h"
#include "widgets/model_summary_view.h"
#include "widgets/op_table_model.h"
#include "widgets/run_browser.h"
#include "widgets/run_table_model.h"

using ranklab::app::MainWindow;

namespace {
QStringList menuTitles(const MainWindow& window) {
  QStringList titles;
  for (QAction* action : window.menuBar()->actions()) titles << action->text().remove('&');
  return titles;
}
}  // namespace

TEST(MainWindow, ConstructShowClose) {
  QSettings().clear();
  auto window = std::make_unique<MainWindow>();
  window->show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(window.get()));
  EXPECT_EQ(menuTitles(*window), QStringList({"File", "Job", "Runs", "View", "Help"}));
  EXPECT_EQ(window->modelSummaryView()->opModel()->rowCount(), 0);
  EXPECT_FALSE(window->logView()->toPlainText().isEmpty());
  EXPECT_TRUE(window->close());
  EXPECT_FALSE(window->isVisible());
}

TEST(MainWindow, ViewMenuTogglesDocks) {
  MainWindow window;
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  auto* dock = window.findChild<QDockWidget*>("logDock");
  ASSERT_NE(dock, nullptr);
  QMenu* view = window.menuBar()->findChild<QMenu*>("viewMenu");
  ASSERT_NE(view, nullptr);
  ASSERT_TRUE(view->actions().contains(dock->toggleViewAction()));
  EXPECT_TRUE(dock->isVisible());
  dock->toggleViewAction()->trigger();
  EXPECT_FALSE(dock->isVisible());
  dock->toggleViewAction()->trigger();
  EXPECT_TRUE(dock->isVisible());
  window.close();
}

TEST(MainWindow, PersistsGeometryAndDockState) {
  QSettings().clear();
  {
    MainWindow window;
    window.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
    window.resize(1210, 810);  // above the docks' minimum size
    window.findChild<QDockWidget*>("logDock")->hide();
    window.close();
  }
  EXPECT_TRUE(QSettings().contains("mainWindow/geometry"));
  EXPECT_TRUE(QSettings().contains("mainWindow/state"));
  MainWindow restored;
  restored.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&restored));
  EXPECT_EQ(restored.size(), QSize(1210, 810));
  EXPECT_FALSE(restored.findChild<QDockWidget*>("logDock")->isVisible());
  restored.close();
  QSettings().clear();
}

// Dropping a model folder on the window opens it (and puts it in the job panel with its data).
TEST(MainWindow, DroppingAModelFolderOpensIt) {
  MainWindow window;
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  const QString model = QStringLiteral(RANKLAB_SOURCE_DIR "/resources/models/gpt-mini");
  QMimeData data;
  data.setUrls({QUrl::fromLocalFile(model)});
  QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&window, &enter);
  EXPECT_TRUE(enter.isAccepted());
  QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
  QSignalSpy loaded(&window, &MainWindow::modelLoadFinished);
  QApplication::sendEvent(&window, &drop);
  ASSERT_TRUE(loaded.wait(60000));
  EXPECT_TRUE(loaded.first().at(0).toBool());
  EXPECT_EQ(window.modelSummaryView()->opModel()->rowCount(), 24);
  EXPECT_EQ(window.jobPanel()->modelPath(), model);
  EXPECT_EQ(window.jobPanel()->modelBox()->currentText(), QStringLiteral("gpt-mini"));  // shipped: by name
  EXPECT_TRUE(window.jobPanel()->spec().calib.find("lm/valid.txt") != std::string::npos);
  EXPECT_TRUE(window.jobPanel()->ledgerText().contains(QStringLiteral("24 ops")));
  window.close();
}

// Issue 18: picking gpt-mini in the Model box (by name) fills in its data and the demo's protocol.
TEST(MainWindow, PickingAShippedModelByNameFillsItsDataAndProtocol) {
  QTemporaryDir dir;
  MainWindow window(nullptr, dir.filePath(QStringLiteral("runs.db")));
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  auto* panel = window.jobPanel();
  QComboBox* box = panel->modelBox();
  const int index = box->findText(QStringLiteral("gpt-mini"));
  ASSERT_GE(index, 0) << "shipped models are listed by name";
  QSignalSpy loaded(&window, &MainWindow::modelLoadFinished);
  box->setCurrentIndex(index);
  emit box->textActivated(box->itemText(index));  // what a click on the item does
  ASSERT_TRUE(loaded.wait(60000));
  const auto spec = panel->spec();
  EXPECT_TRUE(QString::fromStdString(spec.model).endsWith(QStringLiteral("models/gpt-mini")));
  EXPECT_TRUE(spec.calib.find("lm/valid.txt") != std::string::npos) << spec.calib;
  EXPECT_TRUE(spec.evalText.find("lm/test.txt") != std::string::npos) << spec.evalText;
  EXPECT_EQ(spec.maxEvalDocuments, 6);  // like ranklab-cli demo
  EXPECT_TRUE(panel->problem().isEmpty()) << panel->problem().toStdString();
  window.close();
}

// Issue 18: a run written by another process appears in an open window without Runs > Refresh.
TEST(MainWindow, ARunWrittenByRanklabCliAppearsWithinTwoSeconds) {
  QTemporaryDir dir;
  const QString db = dir.filePath(QStringLiteral("runs.db"));
  MainWindow window(nullptr, db);
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  auto* model = window.findChild<ranklab::widgets::RunBrowser*>()->model();
  ASSERT_EQ(model->rowCount(), 0);

  const std::string other = dir.filePath(QStringLiteral("other.db")).toStdString();
  {
    ranklab::store::RunStore store(other);
    ranklab::api::RunRecord r;
    r.name = "written elsewhere";
    r.modelHash = "4a1d";
    r.metric = "perplexity";
    r.metricBefore = 82.7;
    r.metricAfter = 90.0;
    r.keptFraction = 0.5;
    r.protocol.known = true;
    r.protocol.metric = "perplexity";
    r.protocol.file = "test.txt";
    r.protocol.fileHash = "9f2c";
    r.protocol.separator = "<|endoftext|>";
    r.protocol.counted = 1000;
    const int64_t id = store.beginRun(r);
    r = store.findRun(id).value();
    r.status = "succeeded";
    store.updateRun(r);
  }
  const auto merged = ranklab::test::runCli("runs merge " + other + " --db " + db.toStdString());
  ASSERT_EQ(merged.code, 0) << merged.err;
  QElapsedTimer clock;
  clock.start();
  while (model->rowCount() == 0 && clock.elapsed() < 2000) QTest::qWait(50);
  std::printf("run from ranklab-cli shown after %lld ms\n", static_cast<long long>(clock.elapsed()));
  ASSERT_EQ(model->rowCount(), 1);
  EXPECT_EQ(model->runs().front().name, "written elsewhere");
  EXPECT_EQ(model->index(0, ranklab::widgets::RunTableModel::EvaluatedOn).data().toString(),
            QString::fromUtf8("test.txt \u00b7 1,000 tokens"));
  EXPECT_EQ(window.findChild<ranklab::widgets::BudgetCurveView*>()->shownCount(), 1);
  window.close();
}
