#include "app/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontMetrics>
#include <QGuiApplication>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>

#include "app/model_loader.h"
#include "widgets/log_view.h"
#include "widgets/model_summary_view.h"

namespace ranklab::app {
namespace {
const char kGeometryKey[] = "mainWindow/geometry";
const char kStateKey[] = "mainWindow/state";
const char kRecentKey[] = "recentModels";
// Bump when the set of docks changes so an old saved layout is not applied to new docks.
constexpr int kStateVersion = 1;
constexpr int kStatusMessageMs = 5000;
constexpr int kRecentEntryWidthPx = 420;

// The name a person recognises a model by: the file name, or the directory's name.
QString displayName(const QString& path) {
  const QString name = QFileInfo(QDir::cleanPath(path)).fileName();
  return name.isEmpty() ? path : name;
}

QString opCount(size_t ops) {
  return ops == 1 ? MainWindow::tr("1 op") : MainWindow::tr("%1 ops").arg(ops);
}

// What the loader expects: a model file, or a Hugging Face directory. Picking a file that only
// makes sense as part of a Hugging Face directory opens that directory.
QString modelPathFor(const QString& chosenFile) {
  const QFileInfo info(chosenFile);
  const QString name = info.fileName();
  if (name == QLatin1String("config.json") || name.endsWith(QLatin1String(".safetensors")) ||
      name.endsWith(QLatin1String(".safetensors.index.json"))) {
    return info.absolutePath();
  }
  return info.absoluteFilePath();
}
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setObjectName(QStringLiteral("MainWindow"));
  setWindowTitle(tr("RankLab"));

  m_summaryView = new widgets::ModelSummaryView(this);
  m_summaryView->setSummary({});
  setCentralWidget(m_summaryView);

  m_loader = new ModelLoader(this);
  connect(m_loader, &ModelLoader::started, this, &MainWindow::onLoadStarted);
  connect(m_loader, &ModelLoader::loaded, this, &MainWindow::onModelLoaded);
  connect(m_loader, &ModelLoader::failed, this, &MainWindow::onModelFailed);

  createDocks();
  createMenus();
  createStatusBar();

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
  file->setObjectName(QStringLiteral("fileMenu"));
  QAction* open = file->addAction(tr("&Open Model\u2026"), this, &MainWindow::chooseModelFile);
  open->setObjectName(QStringLiteral("openModelAction"));
  open->setShortcut(QKeySequence::Open);
  open->setStatusTip(tr("Open a .gguf file, a llama2.c .bin checkpoint or a Hugging Face model directory"));
  QAction* openDir = file->addAction(tr("Open Model &Directory\u2026"), this, &MainWindow::chooseModelDirectory);
  openDir->setObjectName(QStringLiteral("openModelDirectoryAction"));
  openDir->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  openDir->setStatusTip(tr("Open a Hugging Face model directory (config.json + safetensors)"));
  m_recentMenu = file->addMenu(tr("Open &Recent"));
  m_recentMenu->setObjectName(QStringLiteral("recentMenu"));
  // Rebuilt each time the File menu opens, so entries deleted on disk meanwhile disappear.
  connect(file, &QMenu::aboutToShow, this, &MainWindow::updateRecentMenu);
  updateRecentMenu();
  file->addSeparator();
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

void MainWindow::createStatusBar() {
  m_busyBar = new QProgressBar(this);
  m_busyBar->setObjectName(QStringLiteral("busyIndicator"));
  m_busyBar->setRange(0, 0);  // indeterminate: inspectModel reports no progress
  m_busyBar->setMaximumWidth(160);
  m_busyBar->setTextVisible(false);
  m_busyBar->hide();
  m_modelStatus = new QLabel(tr("No model loaded"), this);
  m_modelStatus->setObjectName(QStringLiteral("modelStatus"));
  statusBar()->addPermanentWidget(m_busyBar);
  statusBar()->addPermanentWidget(m_modelStatus);
  statusBar()->showMessage(tr("Ready"), kStatusMessageMs);
}

void MainWindow::openModel(const QString& path, const QString& tokenizerPath) {
  m_loader->load(path, tokenizerPath);
}

void MainWindow::chooseModelFile() {
  const QStringList recent = recentModels();
  const QString startDir = recent.isEmpty() ? QDir::homePath() : QFileInfo(recent.first()).absolutePath();
  const QString file = QFileDialog::getOpenFileName(
      this, tr("Open Model"), startDir,
      tr("Models (*.gguf *.bin config.json *.safetensors);;"
         "GGUF files (*.gguf);;"
         "llama2.c checkpoints (*.bin);;"
         "Hugging Face directory: pick its config.json (config.json *.safetensors *.safetensors.index.json);;"
         "All files (*)"));
  if (!file.isEmpty()) openModel(modelPathFor(file));
}

void MainWindow::chooseModelDirectory() {
  const QStringList recent = recentModels();
  const QString startDir = recent.isEmpty() ? QDir::homePath() : QFileInfo(recent.first()).absolutePath();
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Hugging Face Model Directory"), startDir);
  if (!dir.isEmpty()) openModel(dir);
}

void MainWindow::onLoadStarted(const QString& path) {
  setBusy(true, tr("Loading %1\u2026").arg(displayName(path)));
}

void MainWindow::onModelLoaded(const api::ModelSummary& summary) {
  const QString path = m_loader->currentPath();
  setBusy(false, tr("Loaded %1").arg(displayName(path)));
  m_summaryView->setSummary(summary);
  m_modelStatus->setText(tr("%1: %2, %3")
                             .arg(displayName(path), QString::fromStdString(summary.architecture),
                                  opCount(summary.ops.size())));
  setWindowTitle(tr("%1 - RankLab").arg(displayName(path)));
  m_logView->appendMessage(tr("Loaded %1 (%2, %3) in %4 ms")
                               .arg(QDir::toNativeSeparators(path), QString::fromStdString(summary.architecture),
                                    opCount(summary.ops.size()), QString::number(m_loader->lastLoadMs())));
  addRecentModel(path);
  emit modelLoadFinished(true);
}

void MainWindow::onModelFailed(const QString& path, const QString& message) {
  setBusy(false, tr("Could not open %1").arg(displayName(path)));
  m_logView->appendMessage(tr("Could not open %1 (after %2 ms): %3")
                               .arg(QDir::toNativeSeparators(path), QString::number(m_loader->lastLoadMs()), message),
                           widgets::LogView::Level::Error);
  // open(), not exec(): no nested event loop, and a scripted run (--screenshot) keeps going.
  auto* box = new QMessageBox(QMessageBox::Critical, tr("Could Not Open Model"), message, QMessageBox::Ok, this);
  box->setObjectName(QStringLiteral("loadErrorBox"));
  box->setTextFormat(Qt::PlainText);
  box->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  box->setInformativeText(
      tr("RankLab opens Hugging Face model directories, .gguf files and llama2.c .bin checkpoints."));
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
  emit modelLoadFinished(false);
}

void MainWindow::setBusy(bool busy, const QString& message) {
  m_busyBar->setVisible(busy);
  if (busy) {
    statusBar()->showMessage(message);
  } else {
    statusBar()->showMessage(message, kStatusMessageMs);
  }
}

QStringList MainWindow::recentModels() const {
  QSettings settings;
  const QStringList stored = settings.value(kRecentKey).toStringList();
  QStringList existing;
  for (const QString& path : stored) {
    if (QFileInfo::exists(path) && !existing.contains(path)) existing << path;
  }
  while (existing.size() > kMaxRecentModels) existing.removeLast();
  if (existing != stored) settings.setValue(kRecentKey, existing);
  return existing;
}

void MainWindow::addRecentModel(const QString& path) {
  const QString absolute = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
  QStringList recent = recentModels();
  recent.removeAll(absolute);
  recent.prepend(absolute);
  while (recent.size() > kMaxRecentModels) recent.removeLast();
  QSettings().setValue(kRecentKey, recent);
  updateRecentMenu();
}

void MainWindow::clearRecentModels() {
  QSettings().remove(kRecentKey);
  updateRecentMenu();
}

void MainWindow::updateRecentMenu() {
  m_recentMenu->clear();
  const QStringList recent = recentModels();
  const QFontMetrics metrics(m_recentMenu->font());
  for (int i = 0; i < recent.size(); ++i) {
    const QString path = recent.at(i);
    QString label = metrics.elidedText(QDir::toNativeSeparators(path), Qt::ElideMiddle, kRecentEntryWidthPx);
    label.replace(QLatin1Char('&'), QLatin1String("&&"));
    if (i < 9) label = QStringLiteral("&%1  %2").arg(i + 1).arg(label);
    QAction* action = m_recentMenu->addAction(label, this, [this, path] { openModel(path); });
    action->setData(path);
    action->setStatusTip(QDir::toNativeSeparators(path));
  }
  if (!recent.isEmpty()) {
    m_recentMenu->addSeparator();
    m_recentMenu->addAction(tr("&Clear Recent"), this, &MainWindow::clearRecentModels);
  }
  m_recentMenu->menuAction()->setEnabled(!recent.isEmpty());
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
