#include "app/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QGuiApplication>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>

#include "widgets/log_view.h"
#include "widgets/model_summary_view.h"

namespace ranklab::app {
namespace {
const char kGeometryKey[] = "mainWindow/geometry";
const char kStateKey[] = "mainWindow/state";
// Bump when the set of docks changes so an old saved layout is not applied to new docks.
constexpr int kStateVersion = 1;
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setObjectName(QStringLiteral("MainWindow"));
  setWindowTitle(tr("RankLab"));

  m_summaryView = new widgets::ModelSummaryView(this);
  m_summaryView->setSummary({});
  setCentralWidget(m_summaryView);

  createDocks();
  createMenus();

  m_modelStatus = new QLabel(tr("No model loaded"), this);
  statusBar()->addPermanentWidget(m_modelStatus);
  statusBar()->showMessage(tr("Ready"), 5000);

  resize(1100, 720);
  restoreSettings();

  m_logView->appendMessage(tr("RankLab %1 started (Qt %2, platform %3)")
                               .arg(QStringLiteral(RANKLAB_VERSION), QString::fromLatin1(qVersion()),
                                    QGuiApplication::platformName()));
}

void MainWindow::createDocks() {
  auto* logDock = new QDockWidget(tr("Log"), this);
  logDock->setObjectName(QStringLiteral("logDock"));  // saveState() keys docks by object name
  m_logView = new widgets::LogView(logDock);
  logDock->setWidget(m_logView);
  addDockWidget(Qt::BottomDockWidgetArea, logDock);
  resizeDocks({logDock}, {140}, Qt::Vertical);
}

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  quit->setMenuRole(QAction::QuitRole);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->setObjectName(QStringLiteral("viewMenu"));
  for (QDockWidget* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  QAction* about = help->addAction(tr("&About RankLab"), this, &MainWindow::showAbout);
  about->setMenuRole(QAction::AboutRole);
  QAction* aboutQt = help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
  aboutQt->setMenuRole(QAction::AboutQtRole);
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About RankLab"),
                     tr("<h3>RankLab %1</h3>"
                        "<p>A workbench for low-rank compression of language models.</p>"
                        "<p>Built with Qt %2 (running on Qt %3).</p>"
                        "<p>MIT licence. Copyright (c) 2026 The RankLab authors.</p>")
                         .arg(QStringLiteral(RANKLAB_VERSION), QStringLiteral(QT_VERSION_STR),
                              QString::fromLatin1(qVersion())));
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  event->accept();
}

void MainWindow::restoreSettings() {
  QSettings settings;
  const QByteArray geometry = settings.value(kGeometryKey).toByteArray();
  if (!geometry.isEmpty()) restoreGeometry(geometry);
  const QByteArray state = settings.value(kStateKey).toByteArray();
  if (!state.isEmpty()) restoreState(state, kStateVersion);
}

void MainWindow::saveSettings() const {
  QSettings settings;
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState(kStateVersion));
}

}  // namespace ranklab::app
