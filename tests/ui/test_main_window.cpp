#include <gtest/gtest.h>

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QMenuBar>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QTest>
#include <QUrl>

#include "app/main_window.h"
#include "test_paths.h"
#include "widgets/job_panel.h"
#include "widgets/log_view.h"
#include "widgets/model_summary_view.h"
#include "widgets/op_table_model.h"

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
  EXPECT_EQ(window.jobPanel()->modelBox()->currentText(), model);
  EXPECT_TRUE(window.jobPanel()->spec().calib.find("lm/valid.txt") != std::string::npos);
  EXPECT_TRUE(window.jobPanel()->ledgerText().contains(QStringLiteral("24 ops")));
  window.close();
}
