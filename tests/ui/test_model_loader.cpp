// ModelLoader and MainWindow's open-model path, on the real reference model (stories260K, llama2.c
// format; skipped when /work/shared/reference is absent) and on a path that does not exist.
#include <gtest/gtest.h>

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <memory>

#include "app/main_window.h"
#include "app/model_loader.h"
#include "test_paths.h"
#include "widgets/log_view.h"
#include "widgets/model_summary_view.h"
#include "widgets/op_table_model.h"

using ranklab::api::ModelSummary;
using ranklab::app::MainWindow;
using ranklab::app::ModelLoader;

namespace {

// Generous: the reference model loads in well under a second, but ctest runs cases in parallel on
// a loaded machine.
constexpr int kLoadTimeoutMs = 60000;
// How long to watch for a second (unwanted) final signal after the first.
constexpr int kNoSecondSignalMs = 300;
constexpr int kReferenceOps = 35;

QString referenceModel() {
  return QDir::cleanPath(QStringLiteral(RANKLAB_REFERENCE_DIR "/stories260K/stories260K.bin"));
}

QString missingModel() {
  return QDir::cleanPath(QDir::tempPath() + QStringLiteral("/ranklab-test-no-such-model/model.gguf"));
}

#define SKIP_WITHOUT_REFERENCE_MODEL()                                                  \
  do {                                                                                  \
    if (!QFileInfo::exists(referenceModel()))                                           \
      GTEST_SKIP() << "reference model not found at " << referenceModel().toStdString() \
                   << " (RANKLAB_REFERENCE_DIR); skipping";                             \
  } while (0)

}  // namespace

TEST(ModelLoader, LoadsReferenceModelOnWorkerAndReportsOnGuiThread) {
  SKIP_WITHOUT_REFERENCE_MODEL();
  ModelLoader loader;
  QSignalSpy loaded(&loader, &ModelLoader::loaded);
  QSignalSpy failed(&loader, &ModelLoader::failed);
  QThread* reportedOn = nullptr;
  QObject::connect(&loader, &ModelLoader::loaded, &loader,
                   [&reportedOn] { reportedOn = QThread::currentThread(); });

  loader.load(referenceModel());
  EXPECT_TRUE(loader.isLoading());
  ASSERT_TRUE(loaded.wait(kLoadTimeoutMs)) << "failed: " << failed.count();
  EXPECT_EQ(loaded.count(), 1);
  EXPECT_EQ(failed.count(), 0);
  EXPECT_FALSE(loader.isLoading());
  EXPECT_EQ(reportedOn, qApp->thread());

  const auto summary = loaded.at(0).at(0).value<ModelSummary>();
  EXPECT_EQ(summary.architecture, "llama");
  EXPECT_EQ(summary.format, "llama2c");
  EXPECT_EQ(summary.ops.size(), static_cast<size_t>(kReferenceOps));
  EXPECT_GE(loader.lastLoadMs(), 0);
}

TEST(ModelLoader, MissingPathFailsExactlyOnceNamingThePath) {
  ModelLoader loader;
  QSignalSpy loaded(&loader, &ModelLoader::loaded);
  QSignalSpy failed(&loader, &ModelLoader::failed);
  loader.load(missingModel());
  ASSERT_TRUE(failed.wait(kLoadTimeoutMs));
  EXPECT_FALSE(failed.wait(kNoSecondSignalMs));
  ASSERT_EQ(failed.count(), 1);
  EXPECT_EQ(loaded.count(), 0);
  EXPECT_EQ(failed.at(0).at(0).toString(), missingModel());
  const QString message = failed.at(0).at(1).toString();
  EXPECT_TRUE(message.contains(missingModel())) << message.toStdString();
  EXPECT_FALSE(loader.isLoading());
}

TEST(ModelLoader, NewerRequestSupersedesOlderOnes) {
  SKIP_WITHOUT_REFERENCE_MODEL();
  ModelLoader loader;
  QSignalSpy started(&loader, &ModelLoader::started);
  QSignalSpy loaded(&loader, &ModelLoader::loaded);
  QSignalSpy failed(&loader, &ModelLoader::failed);
  // The first runs (and its failure is dropped), the second never runs, the third is reported.
  loader.load(missingModel());
  loader.load(missingModel() + QStringLiteral(".other"));
  loader.load(referenceModel());
  EXPECT_EQ(loader.currentPath(), referenceModel());
  EXPECT_EQ(started.count(), 3);
  ASSERT_TRUE(loaded.wait(kLoadTimeoutMs)) << "failed: " << failed.count();
  EXPECT_FALSE(loaded.wait(kNoSecondSignalMs));
  EXPECT_EQ(loaded.count(), 1);
  EXPECT_EQ(failed.count(), 0);
  EXPECT_EQ(loaded.at(0).at(0).value<ModelSummary>().architecture, "llama");
}

TEST(ModelLoader, DestroyedDuringLoadWaitsAndDropsTheResult) {
  SKIP_WITHOUT_REFERENCE_MODEL();
  // A few rounds, so that some destructions catch the worker inside inspectModel and some after it.
  int reports = 0;
  for (int round = 0; round < 5; ++round) {
    auto loader = std::make_unique<ModelLoader>();
    QObject::connect(loader.get(), &ModelLoader::loaded, [&reports] { ++reports; });
    QObject::connect(loader.get(), &ModelLoader::failed, [&reports] { ++reports; });
    loader->load(referenceModel());
    loader.reset();
  }
  QTest::qWait(kNoSecondSignalMs);  // any result posted by a worker would be delivered here
  EXPECT_EQ(reports, 0);
}

TEST(MainWindowOpenModel, ShowsReferenceModelLogsItAndRemembersIt) {
  SKIP_WITHOUT_REFERENCE_MODEL();
  QSettings().clear();
  MainWindow window;
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  QSignalSpy finished(&window, &MainWindow::modelLoadFinished);

  window.openModel(referenceModel());
  EXPECT_TRUE(window.busyIndicator()->isVisible());
  EXPECT_TRUE(window.statusBar()->currentMessage().contains(QStringLiteral("Loading stories260K.bin")))
      << window.statusBar()->currentMessage().toStdString();

  ASSERT_TRUE(finished.wait(kLoadTimeoutMs));
  ASSERT_EQ(finished.count(), 1);
  EXPECT_TRUE(finished.at(0).at(0).toBool());
  EXPECT_FALSE(window.busyIndicator()->isVisible());
  EXPECT_EQ(window.modelSummaryView()->opModel()->rowCount(), kReferenceOps);
  ASSERT_NE(window.modelSummaryView()->fieldLabel(QStringLiteral("architecture")), nullptr);
  EXPECT_TRUE(
      window.modelSummaryView()->fieldLabel(QStringLiteral("architecture"))->text().contains("llama"));
  EXPECT_TRUE(window.findChildren<QMessageBox*>().isEmpty());

  const QString log = window.logView()->toPlainText();
  EXPECT_TRUE(log.contains(QDir::toNativeSeparators(referenceModel()))) << log.toStdString();
  EXPECT_TRUE(log.contains(QStringLiteral(" ms"))) << log.toStdString();

  ASSERT_FALSE(window.recentModels().isEmpty());
  EXPECT_EQ(window.recentModels().first(), referenceModel());
  bool inMenu = false;
  for (QAction* action : window.recentMenu()->actions())
    inMenu |= action->data().toString() == referenceModel();
  EXPECT_TRUE(inMenu);
  EXPECT_TRUE(window.recentMenu()->menuAction()->isEnabled());
  window.close();
  QSettings().clear();
}

TEST(MainWindowOpenModel, MissingModelShowsOneSelectableErrorAndLogsIt) {
  QSettings().clear();
  MainWindow window;
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  QSignalSpy finished(&window, &MainWindow::modelLoadFinished);

  window.openModel(missingModel());
  ASSERT_TRUE(finished.wait(kLoadTimeoutMs));
  EXPECT_FALSE(finished.wait(kNoSecondSignalMs));
  ASSERT_EQ(finished.count(), 1);
  EXPECT_FALSE(finished.at(0).at(0).toBool());
  EXPECT_FALSE(window.busyIndicator()->isVisible());

  const auto boxes = window.findChildren<QMessageBox*>();
  ASSERT_EQ(boxes.size(), 1);
  EXPECT_TRUE(boxes.first()->text().contains(missingModel())) << boxes.first()->text().toStdString();
  EXPECT_TRUE(boxes.first()->textInteractionFlags() & Qt::TextSelectableByMouse);
  EXPECT_TRUE(window.logView()->toPlainText().contains(QStringLiteral("error: Could not open")));
  EXPECT_TRUE(window.recentModels().isEmpty());
  EXPECT_EQ(window.modelSummaryView()->opModel()->rowCount(), 0);
  boxes.first()->close();
  window.close();
}

TEST(MainWindowOpenModel, RecentListKeepsExistingEntriesOnlyAndAtMostEight) {
  QSettings().clear();
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  QStringList stored;
  for (int i = 0; i < 10; ++i) {
    const QString path = dir.filePath(QStringLiteral("model%1.gguf").arg(i));
    QFile file(path);
    ASSERT_TRUE(file.open(QIODevice::WriteOnly));
    stored << path;
    if (i == 1) stored << dir.filePath(QStringLiteral("deleted.gguf"));
  }
  QSettings().setValue(QStringLiteral("recentModels"), stored);

  MainWindow window;
  const QStringList recent = window.recentModels();
  ASSERT_EQ(recent.size(), MainWindow::kMaxRecentModels);
  EXPECT_FALSE(recent.contains(dir.filePath(QStringLiteral("deleted.gguf"))));
  EXPECT_EQ(recent.first(), stored.first());
  EXPECT_EQ(QSettings().value(QStringLiteral("recentModels")).toStringList(), recent);

  window.clearRecentModels();
  EXPECT_TRUE(window.recentModels().isEmpty());
  EXPECT_FALSE(window.recentMenu()->menuAction()->isEnabled());
  QSettings().clear();
}

TEST(MainWindowOpenModel, ClosingDuringLoadDoesNotCrash) {
  SKIP_WITHOUT_REFERENCE_MODEL();
  QSettings().clear();
  auto window = std::make_unique<MainWindow>();
  window->show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(window.get()));
  window->openModel(referenceModel());
  EXPECT_TRUE(window->modelLoader()->isLoading());
  EXPECT_TRUE(window->close());
  window.reset();
  QTest::qWait(kNoSecondSignalMs);
  QSettings().clear();
}
