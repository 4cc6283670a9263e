#include "app/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontMetrics>
#include <QGuiApplication>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>
#include <QStyleFactory>
#include <QTabWidget>
#include <QTimer>
#include <QUrl>

#include "app/full_rank_ops.h"
#include "app/job_controller.h"
#include "app/memory_estimator.h"
#include "app/model_loader.h"
#include "app/run_repository.h"
#include "app/sweep_queue.h"
#include "app/teach_session.h"
#include "common/device_list.h"
#include "common/resources.h"
#include "widgets/budget_curve_view.h"
#include "widgets/compare_view.h"
#include "widgets/job_panel.h"
#include "widgets/log_view.h"
#include "widgets/mask_evolution_view.h"
#include "widgets/model_summary_view.h"
#include "widgets/plot_export.h"
#include "widgets/plot_theme.h"
#include "widgets/rank_allocation_view.h"
#include "widgets/run_browser.h"
#include "widgets/run_table_model.h"
#include "widgets/spectrum_view.h"
#include "widgets/sweep_dialog.h"

namespace ranklab::app {
namespace {
const char kGeometryKey[] = "mainWindow/geometry";
const char kStateKey[] = "mainWindow/state";
const char kRecentKey[] = "recentModels";
const char kBrowserKey[] = "runBrowser/state";
const char kTabKey[] = "mainWindow/tab";
const char kLastModelKey[] = "jobPanel/model";
const char kDarkKey[] = "view/dark";
// Bump when the set of docks changes so an old saved layout is not applied to new docks.
constexpr int kStateVersion = 2;
constexpr int kStatusMessageMs = 5000;
// Documents of the held-out text a shipped model is evaluated on by default: ranklab-cli demo's.
constexpr int kShippedEvalDocuments = 6;
constexpr int kRecentEntryWidthPx = 420;

// The name a person recognises a model by: the file name, or the directory's name.
QString displayName(const QString& path) {
  const QString name = QFileInfo(QDir::cleanPath(path)).fileName();
  return name.isEmpty() ? path : name;
}

QString opCount(size_t ops) { return ops == 1 ? MainWindow::tr("1 op") : MainWindow::tr("%1 ops").arg(ops); }

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

// The shipped demo models (resources/models/*/config.json), for the job panel's model box.
QStringList shippedModels() {
  QStringList models;
  const auto resources = findResourcesDir();
  if (!resources) return models;
  const QDir dir(QString::fromStdString((*resources / "models").string()));
  for (const QString& name : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
    if (QFileInfo::exists(dir.filePath(name + QStringLiteral("/config.json")))) models << dir.filePath(name);
  return models;
}

// Sensible data for a shipped model: the LM text for decoders and general encoders, the task's own
// files for a fine-tuned classifier. Empty strings where nothing fits.
std::pair<QString, QString> defaultData(const QString& modelPath) {
  const auto resources = findResourcesDir();
  if (!resources) return {};
  const QString data = QString::fromStdString((*resources / "data").string());
  const QString name = QFileInfo(QDir::cleanPath(modelPath)).fileName();
  for (const QString& task : {QStringLiteral("sotu-era"), QStringLiteral("spam")})
    if (name.endsWith(task)) return {data + "/" + task + "/train.tsv", data + "/" + task + "/valid.tsv"};
  if (QFileInfo::exists(data + QStringLiteral("/lm/valid.txt")))
    return {data + QStringLiteral("/lm/valid.txt"), data + QStringLiteral("/lm/test.txt")};
  return {};
}

// Resident memory of this process (Linux /proc), or -1.
qint64 residentBytes() {
  QFile statm(QStringLiteral("/proc/self/statm"));
  if (!statm.open(QIODevice::ReadOnly)) return -1;
  const QList<QByteArray> fields = statm.readAll().split(' ');
  if (fields.size() < 2) return -1;
  return fields.at(1).toLongLong() * 4096;
}
}  // namespace

MainWindow::MainWindow(QWidget* parent, const QString& databasePath)
    : QMainWindow(parent), m_runs(std::make_unique<RunRepository>()) {
  setObjectName(QStringLiteral("MainWindow"));
  setWindowTitle(tr("RankLab"));
  setAcceptDrops(true);

  m_loader = new ModelLoader(this);
  m_memoryPlan = new MemoryEstimator(this);
  connect(m_loader, &ModelLoader::started, this, &MainWindow::onLoadStarted);
  connect(m_loader, &ModelLoader::loaded, this, &MainWindow::onModelLoaded);
  connect(m_loader, &ModelLoader::failed, this, &MainWindow::onModelFailed);
  m_jobs = new JobController(this);
  m_sweeps = new SweepQueue(m_jobs, this);

  createViews();
  createDocks();
  createMenus();
  createStatusBar();
  wireJobs();
  wireRuns();
  themePlots();

  resize(1400, 900);
  restoreSettings();

  m_logView->appendMessage(tr("RankLab %1 started (Qt %2, platform %3)")
                               .arg(QStringLiteral(RANKLAB_VERSION), QString::fromLatin1(qVersion()),
                                    QGuiApplication::platformName()));
  if (m_runs->open(databasePath)) {
    m_logView->appendMessage(tr("Run database %1").arg(QDir::toNativeSeparators(m_runs->path())));
  } else {
    m_logView->appendMessage(tr("Could not open the run database: %1").arg(m_runs->lastError()),
                             widgets::LogView::Level::Error);
  }
  refreshRuns();
}

MainWindow::~MainWindow() = default;

void MainWindow::createViews() {
  m_summaryView = new widgets::ModelSummaryView(this);
  m_summaryView->setSummary({});
  m_rankView = new widgets::RankAllocationView(this);
  m_spectrumView = new widgets::SpectrumView(this);
  m_maskView = new widgets::MaskEvolutionView(this);
  m_budgetView = new widgets::BudgetCurveView(this);
  m_compareView = new widgets::CompareView(this);
  m_tabs = new QTabWidget(this);
  m_tabs->setObjectName(QStringLiteral("viewTabs"));
  m_tabs->setDocumentMode(true);
  m_tabs->addTab(m_summaryView, tr("&Model"));
  m_tabs->addTab(m_rankView, tr("R&anks"));
  m_tabs->addTab(m_spectrumView, tr("&Spectrum"));
  m_tabs->addTab(m_maskView, tr("Mask &evolution"));
  m_tabs->addTab(m_budgetView, tr("&Budget curves"));
  m_tabs->addTab(m_compareView, tr("Com&pare"));
  setCentralWidget(m_tabs);
}

void MainWindow::createDocks() {
  auto* jobDock = new QDockWidget(tr("Job"), this);
  jobDock->setObjectName(QStringLiteral("jobDock"));
  m_jobPanel = new widgets::JobPanel(jobDock);
  m_jobPanel->setModelChoices(shippedModels(), recentModels());
  QStringList devices;
  for (const auto& d : availableDevices()) devices << QString::fromStdString(d);
  m_jobPanel->setDevices(devices);
  jobDock->setWidget(m_jobPanel);  // it scrolls its form itself and keeps Run and the progress in view
  addDockWidget(Qt::LeftDockWidgetArea, jobDock);

  auto* runsDock = new QDockWidget(tr("Runs"), this);
  runsDock->setObjectName(QStringLiteral("runsDock"));
  m_browser = new widgets::RunBrowser(runsDock);
  runsDock->setWidget(m_browser);
  addDockWidget(Qt::BottomDockWidgetArea, runsDock);

  auto* logDock = new QDockWidget(tr("Log"), this);
  logDock->setObjectName(QStringLiteral("logDock"));  // saveState() keys docks by object name
  m_logView = new widgets::LogView(logDock);
  logDock->setWidget(m_logView);
  addDockWidget(Qt::BottomDockWidgetArea, logDock);
  tabifyDockWidget(runsDock, logDock);
  runsDock->raise();
  resizeDocks({runsDock}, {220}, Qt::Vertical);
  resizeDocks({jobDock}, {420}, Qt::Horizontal);
}

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->setObjectName(QStringLiteral("fileMenu"));
  QAction* open = file->addAction(tr("&Open Model\u2026"), this, &MainWindow::chooseModelFile);
  open->setObjectName(QStringLiteral("openModelAction"));
  open->setShortcut(QKeySequence::Open);
  open->setStatusTip(tr("Open a .gguf file, a llama2.c .bin checkpoint or a Hugging Face model directory"));
  QAction* openDir =
      file->addAction(tr("Open Model &Directory\u2026"), this, &MainWindow::chooseModelDirectory);
  openDir->setObjectName(QStringLiteral("openModelDirectoryAction"));
  openDir->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  openDir->setStatusTip(tr("Open a Hugging Face model directory (config.json + safetensors)"));
  QAction* exportView =
      file->addAction(tr("&Export Current View\u2026"), this, &MainWindow::exportCurrentView);
  exportView->setObjectName(QStringLiteral("exportViewAction"));
  exportView->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  exportView->setStatusTip(tr("Save the current view's plot as PNG or PDF, or its data as CSV"));
  m_recentMenu = file->addMenu(tr("Open &Recent"));
  m_recentMenu->setObjectName(QStringLiteral("recentMenu"));
  // Rebuilt each time the File menu opens, so entries deleted on disk meanwhile disappear.
  connect(file, &QMenu::aboutToShow, this, &MainWindow::updateRecentMenu);
  updateRecentMenu();
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  quit->setMenuRole(QAction::QuitRole);

  QMenu* job = menuBar()->addMenu(tr("&Job"));
  job->setObjectName(QStringLiteral("jobMenu"));
  QAction* run = job->addAction(tr("&Run"), m_jobPanel->runButton(), &QPushButton::click);
  run->setObjectName(QStringLiteral("runAction"));
  run->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  QAction* queue = job->addAction(tr("&Queue"), m_jobPanel->queueButton(), &QPushButton::click);
  queue->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
  QAction* sweep = job->addAction(tr("S&weep..."), this, &MainWindow::openSweepDialog);
  sweep->setObjectName(QStringLiteral("sweepAction"));
  QAction* cancel = job->addAction(tr("&Cancel Running Job"), this, [this] {
    if (m_jobs->isBusy()) m_jobs->cancel(m_jobs->runningTicket());
  });
  cancel->setObjectName(QStringLiteral("cancelAction"));
  cancel->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
  job->addAction(tr("Cancel &All Jobs"), m_jobs, &JobController::cancelAll);

  QMenu* runs = menuBar()->addMenu(tr("&Runs"));
  runs->setObjectName(QStringLiteral("runsMenu"));
  QAction* compare =
      runs->addAction(tr("&Compare Selected"), m_browser, &widgets::RunBrowser::compareSelected);
  compare->setObjectName(QStringLiteral("compareAction"));
  compare->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
  QAction* refresh = runs->addAction(tr("&Refresh"), this, &MainWindow::refreshRuns);
  refresh->setShortcut(QKeySequence::Refresh);
  runs->addAction(tr("&Filter\u2026"), this, [this] {
    m_browser->filterEdit()->setFocus();
    m_browser->filterEdit()->selectAll();
  });

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->setObjectName(QStringLiteral("viewMenu"));
  for (QDockWidget* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());
  view->addSeparator();
  QAction* dark = view->addAction(tr("&Dark Theme"));
  dark->setObjectName(QStringLiteral("darkThemeAction"));
  dark->setCheckable(true);
  dark->setChecked(QSettings().value(kDarkKey, false).toBool());
  connect(dark, &QAction::toggled, this, &MainWindow::setDarkTheme);
  if (dark->isChecked()) setDarkTheme(true);
  // The teaching mode's window, on this window's run database; made once and kept, so that it keeps
  // its state when it is closed and opened again.
  QAction* teach = view->addAction(tr("&Teaching Mode"), this, [this] {
    auto* session = findChild<TeachSession*>();
    if (!session) {
      session = new TeachSession(m_runs->path(), this);
      session->start();
    }
    session->showWindow();
  });
  teach->setObjectName(QStringLiteral("teachAction"));
  teach->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));

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
  m_jobStatus = new QLabel(tr("No job running"), this);
  m_jobStatus->setObjectName(QStringLiteral("jobStatus"));
  m_deviceStatus = new QLabel(this);
  m_deviceStatus->setObjectName(QStringLiteral("deviceStatus"));
  m_deviceStatus->setToolTip(tr("Where \"auto\" runs jobs, and this process's resident memory"));
  statusBar()->addPermanentWidget(m_busyBar);
  statusBar()->addPermanentWidget(m_jobStatus);
  statusBar()->addPermanentWidget(m_modelStatus);
  statusBar()->addPermanentWidget(m_deviceStatus);
  m_device = QString::fromStdString(resolveDevice("auto"));  // fixed for the process's life
  m_memoryTimer = new QTimer(this);
  m_memoryTimer->setInterval(2000);
  connect(m_memoryTimer, &QTimer::timeout, this, &MainWindow::updateMemory);
  m_memoryTimer->start();
  m_databaseWatch = new QTimer(this);
  m_databaseWatch->setObjectName(QStringLiteral("databaseWatch"));
  m_databaseWatch->setInterval(kDatabasePollMs);
  connect(m_databaseWatch, &QTimer::timeout, this, &MainWindow::pollDatabase);
  m_databaseWatch->start();
  updateMemory();
  statusBar()->showMessage(tr("Ready"), kStatusMessageMs);
}

void MainWindow::openModel(const QString& path, const QString& tokenizerPath) {
  m_loader->load(path, tokenizerPath);
  // A shipped model brings its own data and the demo's evaluation protocol (the first 6 documents of
  // the held-out text, like ranklab-cli demo); another model keeps the data the form holds, or gets
  // the shipped text when the form has none.
  const QStringList shippedPaths = shippedModels();
  const bool shipped = shippedPaths.contains(QDir::cleanPath(path)) || shippedPaths.contains(path);
  api::JobSpec spec = m_jobPanel->spec();
  const bool changed = QDir::cleanPath(QString::fromStdString(spec.model)) != QDir::cleanPath(path);
  const bool noData =
      spec.calib.empty() && spec.evalText.empty() && spec.evalLabelled.empty() && spec.evalChoices.empty();
  if (!changed && !shipped && !noData) return;
  spec.model = path.toStdString();
  spec.tokenizer = tokenizerPath.toStdString();
  const auto [calib, eval] = defaultData(path);
  if (!calib.isEmpty() && (shipped || noData || changed)) {
    spec.calib = calib.toStdString();
    spec.evalText.clear();
    spec.evalLabelled.clear();
    const bool labelled = eval.endsWith(QLatin1String(".tsv"));
    (labelled ? spec.evalLabelled : spec.evalText) = eval.toStdString();
    spec.maxEvalDocuments = shipped && !labelled ? kShippedEvalDocuments : 0;
    if (labelled) spec.evalChoices.clear();  // an encoder scores no multiple-choice set
  }
  m_jobPanel->setSpec(spec);
}

void MainWindow::wireJobs() {
  connect(m_jobPanel, &widgets::JobPanel::modelChosen, this, [this](const QString& path) {
    if (m_loader->currentPath() != path) openModel(path);
  });
  // Jobs write into the database this window shows.
  auto withDatabase = [this](api::JobSpec spec) {
    if (m_runs->isOpen()) spec.db = m_runs->path().toStdString();
    return spec;
  };
  connect(m_jobPanel, &widgets::JobPanel::runRequested, this, [this, withDatabase](const api::JobSpec& spec) {
    if (!m_jobs->isBusy()) m_jobs->submit(withDatabase(spec));
  });
  connect(m_jobPanel, &widgets::JobPanel::queueRequested, this,
          [this, withDatabase](const api::JobSpec& spec) { m_jobs->submit(withDatabase(spec)); });
  connect(m_jobPanel, &widgets::JobPanel::cancelRequested, this, [this] {
    if (m_jobs->isBusy()) m_jobs->cancel(m_jobs->runningTicket());
  });
  connect(m_jobPanel, &widgets::JobPanel::sweepRequested, this, &MainWindow::openSweepDialog);
  // The memory the job will need, from the model's headers, re-estimated after each pause in editing.
  connect(m_jobPanel, &widgets::JobPanel::specEdited, this, [this](const api::JobSpec& spec) {
    if (spec.model.empty())
      m_jobPanel->setMemoryEstimate(tr("Choose a model to see the memory the job needs."), {}, false);
    else
      m_memoryPlan->estimate(spec);
  });
  connect(m_memoryPlan, &MemoryEstimator::estimated, m_jobPanel, &widgets::JobPanel::setMemoryEstimate);
  connect(m_memoryPlan, &MemoryEstimator::failed, this, [this](const QString& message) {
    m_jobPanel->setMemoryEstimate(tr("No estimate: %1").arg(message), {}, false);
  });
  connect(m_sweeps, &SweepQueue::sweepFinished, this,
          [this](const QString& id, int succeeded, int failed, int cancelled) {
            m_logView->appendMessage(
                tr("Sweep %1 ended: %2 runs succeeded, %3 failed, %4 cancelled (%5 finished earlier)")
                    .arg(id)
                    .arg(succeeded)
                    .arg(failed)
                    .arg(cancelled)
                    .arg(m_sweeps->finishedEarlier()),
                failed > 0 ? widgets::LogView::Level::Warning : widgets::LogView::Level::Info);
            refreshRuns();
          });
  connect(m_jobs, &JobController::jobStarted, this, &MainWindow::onJobStarted);
  connect(m_jobs, &JobController::progress, this, &MainWindow::onJobProgress);
  connect(m_jobs, &JobController::runStarted, this, [this](qint64, const api::RunRecord& run) {
    m_liveRunId = run.id;
    m_browser->model()->upsertRun(run);
    api::RunData live;
    live.run = run;
    // The live mask view names ops from the loaded model when the job compresses that model.
    std::vector<api::OpResult> ops;
    if (QDir::cleanPath(QString::fromStdString(m_summary.source)) ==
        QDir::cleanPath(QString::fromStdString(run.modelPath)))
      ops = fullRankOps(m_summary.ops);
    live.ops = ops;
    m_shown = live;
    m_maskView->startLive(ops);
    m_maskView->setTargetBudget(run.keepTarget);
  });
  connect(m_jobs, &JobController::seriesPoints, this,
          [this](qint64, const std::vector<api::SeriesPoint>& points) {
            for (const auto& p : points) m_maskView->appendSeries(p);
          });
  connect(m_jobs, &JobController::maskFrames, this,
          [this](qint64, const std::vector<api::MaskFrame>& frames) {
            for (const auto& f : frames) m_maskView->appendFrame(f);
          });
  connect(m_jobs, &JobController::opsChosen, this, [this](qint64, const std::vector<api::OpResult>& ops) {
    if (!m_shown) return;
    m_shown->ops = ops;
    m_rankView->setRun(*m_shown);
  });
  connect(m_jobs, &JobController::finished, this, [this](qint64 ticket, const api::JobOutcome& outcome) {
    onJobEnded(ticket, QStringLiteral("succeeded"), QString(), outcome.data.run.id);
  });
  connect(m_jobs, &JobController::cancelled, this,
          [this](qint64 ticket) { onJobEnded(ticket, QStringLiteral("cancelled"), QString(), 0); });
  connect(m_jobs, &JobController::failed, this, [this](qint64 ticket, const QString& message) {
    onJobEnded(ticket, QStringLiteral("failed"), message, m_liveRunId);
  });
  connect(m_jobs, &JobController::queueChanged, this, [this](int queued) {
    if (queued > 0) statusBar()->showMessage(tr("%n job(s) waiting", nullptr, queued), kStatusMessageMs);
  });
}

void MainWindow::wireRuns() {
  connect(m_browser, &widgets::RunBrowser::runActivated, this, &MainWindow::showRun);
  connect(m_browser, &widgets::RunBrowser::compareRequested, this, &MainWindow::compareRuns);
  connect(m_budgetView, &widgets::BudgetCurveView::runActivated, this, &MainWindow::showRun);
  connect(m_browser, &widgets::RunBrowser::deleteRequested, this, [this](const QList<qint64>& ids) {
    // A run that a job is still writing is kept: this window's own job, or another process's
    // (a CLI job or a sweep on the same database), which would otherwise fail at its next write.
    QList<qint64> deletable;
    for (qint64 id : ids) {
      if (id == m_liveRunId && m_jobs->isBusy()) {
        m_logView->appendMessage(tr("The running job's run is kept until the job ends."),
                                 widgets::LogView::Level::Warning);
      } else if (const QString owner = m_runs->liveOwner(id); !owner.isEmpty()) {
        m_logView->appendMessage(tr("Run %1 is kept: its job (%2) is still writing it. Cancel that job, or "
                                    "use ranklab-cli runs delete %1 --force if it is stuck.")
                                     .arg(id)
                                     .arg(owner),
                                 widgets::LogView::Level::Warning);
      } else {
        deletable << id;
      }
    }
    if (!m_runs->deleteRuns(deletable)) showError(tr("Could Not Delete Runs"), m_runs->lastError());
    refreshRuns();
  });
  connect(m_browser->model(), &widgets::RunTableModel::tagsEdited, this,
          [this](qint64 id, const QStringList& tags) {
            if (!m_runs->setTags(id, tags)) showError(tr("Could Not Save Tags"), m_runs->lastError());
          });
  connect(m_browser->model(), &widgets::RunTableModel::notesEdited, this,
          [this](qint64 id, const QString& notes) {
            if (!m_runs->setNotes(id, notes)) showError(tr("Could Not Save Notes"), m_runs->lastError());
          });
  connect(m_rankView, &widgets::RankAllocationView::opActivated, this, &MainWindow::showOp);
}

void MainWindow::openSweepDialog() {
  api::JobSpec base = m_jobPanel->spec();
  if (base.model.empty()) {
    showError(tr("No Model"), tr("Choose a model in the job panel first: a sweep varies its job."));
    return;
  }
  widgets::SweepDialog dialog(base, this);
  if (dialog.exec() == QDialog::Accepted) startSweep(dialog.request());
}

bool MainWindow::startSweep(const widgets::SweepRequest& request) {
  if (!m_runs->isOpen()) {
    showError(tr("Could Not Start Sweep"), tr("No run database is open."));
    return false;
  }
  if (!m_sweeps->start(request, m_runs->path())) {
    showError(tr("Could Not Start Sweep"), m_sweeps->lastError());
    return false;
  }
  m_logView->appendMessage(
      tr("Sweep %1: %2 runs, %3 queued, %4 finished earlier%5")
          .arg(m_sweeps->sweepId())
          .arg(m_sweeps->points())
          .arg(m_sweeps->queued())
          .arg(m_sweeps->finishedEarlier())
          .arg(m_sweeps->staleRunsRemoved() > 0
                   ? tr(", %1 half-done runs removed to run again").arg(m_sweeps->staleRunsRemoved())
                   : QString()));
  refreshRuns();
  m_budgetView->setSweep(m_sweeps->sweepId());
  return true;
}

void MainWindow::refreshRuns() { applyRuns(m_runs->listRuns()); }

void MainWindow::applyRuns(const std::vector<api::RunRecord>& runs) {
  m_browser->model()->setRuns(runs);
  m_budgetView->setRuns(m_runs->metricRecords(runs));
}

// Another connection (a job's worker, the teaching window, a ranklab-cli process, a sweep or a
// merge) wrote runs: show them.
void MainWindow::pollDatabase() {
  if (auto runs = m_runs->pollRuns()) applyRuns(*runs);
}

void MainWindow::showRun(qint64 runId) {
  auto data = m_runs->loadRun(runId);
  if (!data) {
    showError(tr("Could Not Open Run"),
              m_runs->lastError().isEmpty() ? tr("run %1 was not found").arg(runId) : m_runs->lastError());
    return;
  }
  m_shown = std::move(*data);
  m_rankView->setRun(*m_shown);
  m_maskView->setRun(*m_shown);
  if (!m_shown->ops.empty()) showOp(0);
  themePlots();
  statusBar()->showMessage(tr("Showing run %1: %2").arg(runId).arg(QString::fromStdString(m_shown->run.name)),
                           kStatusMessageMs);
  if (m_tabs->currentWidget() == m_summaryView || m_tabs->currentWidget() == m_compareView)
    m_tabs->setCurrentWidget(m_rankView);
}

void MainWindow::compareRuns(const QList<qint64>& ids) {
  std::vector<api::RunData> runs;
  for (qint64 id : ids) {
    if (auto data = m_runs->loadRun(id)) {
      runs.push_back(std::move(*data));
    } else {
      showError(tr("Could Not Open Run"), m_runs->lastError());
      return;
    }
  }
  m_compareView->setRuns(runs);
  if (runs.size() >= 2) m_rankView->setComparison(runs[0], runs[1]);
  themePlots();
  m_tabs->setCurrentWidget(m_compareView);
}

void MainWindow::showOp(int opIndex) {
  if (!m_shown || opIndex < 0 || size_t(opIndex) >= m_shown->ops.size()) return;
  std::vector<uint8_t> bits;
  int64_t step = -1;
  if (!m_shown->frames.empty() && size_t(opIndex) < m_shown->frames.back().bits.size()) {
    bits = m_shown->frames.back().bits[size_t(opIndex)];
    step = m_shown->frames.back().step;
  }
  m_spectrumView->setOp(m_shown->ops[size_t(opIndex)], bits,
                        QString::fromStdString(m_shown->run.decomposition), step);
  if (sender() == m_rankView) m_tabs->setCurrentWidget(m_spectrumView);
}

void MainWindow::onJobStarted(qint64 ticket, const api::JobSpec& spec) {
  m_liveRunId = 0;
  m_jobPanel->setRunning(true);
  const QString what =
      tr("%1 + %2, p = %3 on %4")
          .arg(QString::fromStdString(spec.decomposition), QString::fromStdString(spec.selector))
          .arg(spec.keep)
          .arg(QFileInfo(QString::fromStdString(spec.model)).fileName());
  m_jobStatus->setText(tr("Job %1: %2").arg(ticket).arg(what));
  m_logView->appendMessage(tr("Job %1 started: %2").arg(ticket).arg(what));
  if (spec.selector == "ars" || spec.selector == "rankdyna") m_tabs->setCurrentWidget(m_maskView);
}

void MainWindow::onJobProgress(qint64 ticket, const JobProgress& p) {
  m_jobPanel->showProgress(p.phase, p.done, p.total, p.elapsedSeconds, p.phaseEtaSeconds);
  m_jobStatus->setText(p.total > 0 ? tr("Job %1: %2 %3/%4").arg(ticket).arg(p.phase).arg(p.done).arg(p.total)
                                   : tr("Job %1: %2").arg(ticket).arg(p.phase));
}

void MainWindow::onJobEnded(qint64 ticket, const QString& status, const QString& message, qint64 runId) {
  m_jobPanel->setRunning(m_jobs->isBusy());
  m_jobStatus->setText(tr("Job %1 %2").arg(ticket).arg(status));
  if (status == QLatin1String("succeeded")) {
    m_jobPanel->showIdle(tr("Job %1 finished: run %2").arg(ticket).arg(runId));
    m_logView->appendMessage(tr("Job %1 finished: run %2").arg(ticket).arg(runId));
  } else if (status == QLatin1String("cancelled")) {
    m_jobPanel->showIdle(tr("Job %1 cancelled; nothing was stored").arg(ticket));
    m_logView->appendMessage(tr("Job %1 cancelled; nothing was stored").arg(ticket),
                             widgets::LogView::Level::Warning);
  } else {
    m_jobPanel->showIdle(tr("Job %1 failed").arg(ticket));
    m_logView->appendMessage(tr("Job %1 failed: %2").arg(ticket).arg(message),
                             widgets::LogView::Level::Error);
    showError(tr("Job Failed"), message);
  }
  m_liveRunId = 0;
  refreshRuns();
  if (runId > 0 && status == QLatin1String("succeeded")) {
    showRun(runId);
    m_browser->selectIds({runId});
  }
  emit jobEnded(ticket, status);
}

PlotSaver MainWindow::currentViewSaver(QString* baseName) const {
  QWidget* view = m_tabs->currentWidget();
  const QString run = m_shown ? QStringLiteral("run%1-").arg(m_shown->run.id) : QString();
  if (view == m_rankView) {
    *baseName = run + QStringLiteral("ranks");
    return [this](const QString& path, QString* error) { return m_rankView->exportTo(path, error); };
  }
  if (view == m_spectrumView) {
    *baseName = run + QStringLiteral("spectrum");
    return [this](const QString& path, QString* error) { return m_spectrumView->exportTo(path, error); };
  }
  if (view == m_maskView) {
    *baseName = run + QStringLiteral("masks");
    return [this](const QString& path, QString* error) { return m_maskView->exportTo(path, error); };
  }
  if (view == m_budgetView) {
    *baseName = QStringLiteral("budget-curves");
    return [this](const QString& path, QString* error) { return m_budgetView->exportTo(path, error); };
  }
  if (view == m_compareView) {
    *baseName = QStringLiteral("compare");
    // CSV: the configuration diff; a figure: the aligned rank allocations.
    return [this](const QString& path, QString* error) {
      return widgets::PlotExport::isCsvPath(path) ? m_compareView->exportDiffCsv(path, error)
                                                  : m_compareView->exportRankPlot(path, error);
    };
  }
  return {};
}

void MainWindow::exportCurrentView() {
  QString base;
  const PlotSaver saver = currentViewSaver(&base);
  if (!saver) {
    statusBar()->showMessage(tr("This view has no plot to export"), kStatusMessageMs);
    return;
  }
  const QString saved = widgets::PlotExport::exportWithDialog(
      this, base, widgets::PlotExport::Formats::FigureAndCsv, tr("Export View"), saver);
  if (!saved.isEmpty()) m_logView->appendMessage(tr("Exported %1").arg(QDir::toNativeSeparators(saved)));
}

void MainWindow::showError(const QString& title, const QString& message) {
  // open(), not exec(): no nested event loop; the text can be selected and copied.
  auto* box = new QMessageBox(QMessageBox::Critical, title, message, QMessageBox::Ok, this);
  box->setObjectName(QStringLiteral("errorBox"));
  box->setTextFormat(Qt::PlainText);
  box->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
}

void MainWindow::setDarkTheme(bool dark) {
  QSettings().setValue(kDarkKey, dark);
  // Fusion draws both palettes faithfully; the platform style may ignore a dark palette.
  QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  QPalette palette = QApplication::style()->standardPalette();
  if (dark) {
    const QColor window(45, 45, 48), base(30, 30, 32), text(225, 225, 228), highlight(66, 133, 244);
    palette.setColor(QPalette::Window, window);
    palette.setColor(QPalette::WindowText, text);
    palette.setColor(QPalette::Base, base);
    palette.setColor(QPalette::AlternateBase, window);
    palette.setColor(QPalette::ToolTipBase, window);
    palette.setColor(QPalette::ToolTipText, text);
    palette.setColor(QPalette::Text, text);
    palette.setColor(QPalette::Button, window);
    palette.setColor(QPalette::ButtonText, text);
    palette.setColor(QPalette::Highlight, highlight);
    palette.setColor(QPalette::HighlightedText, Qt::white);
    palette.setColor(QPalette::Link, highlight.lighter(130));
    palette.setColor(QPalette::PlaceholderText, text.darker(160));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
      palette.setColor(QPalette::Disabled, role, text.darker(200));
  }
  // Every themed plot follows its own PaletteChange (widgets/plot_theme.h).
  QApplication::setPalette(palette);
}

void MainWindow::themePlots() { widgets::applyPlotThemeTree(*this); }

void MainWindow::updateMemory() {
  const qint64 rss = residentBytes();
  m_deviceStatus->setText(rss > 0 ? tr("%1 · %2 MiB").arg(m_device).arg(rss >> 20) : m_device);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  const QList<QUrl> urls = event->mimeData()->urls();
  if (urls.size() == 1 && urls.first().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const QList<QUrl> urls = event->mimeData()->urls();
  if (urls.size() != 1 || !urls.first().isLocalFile()) return;
  openModel(modelPathFor(urls.first().toLocalFile()));
  event->acceptProposedAction();
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
  const QString dir =
      QFileDialog::getExistingDirectory(this, tr("Open Hugging Face Model Directory"), startDir);
  if (!dir.isEmpty()) openModel(dir);
}

void MainWindow::onLoadStarted(const QString& path) {
  setBusy(true, tr("Loading %1\u2026").arg(displayName(path)));
}

void MainWindow::onModelLoaded(const api::ModelSummary& summary) {
  const QString path = m_loader->currentPath();
  setBusy(false, tr("Loaded %1").arg(displayName(path)));
  m_summaryView->setSummary(summary);
  m_summary = summary;
  m_jobPanel->setModelSummary(summary);
  m_modelStatus->setText(
      tr("%1: %2, %3")
          .arg(displayName(path), QString::fromStdString(summary.architecture), opCount(summary.ops.size())));
  setWindowTitle(tr("%1 - RankLab").arg(displayName(path)));
  m_logView->appendMessage(tr("Loaded %1 (%2, %3) in %4 ms")
                               .arg(QDir::toNativeSeparators(path),
                                    QString::fromStdString(summary.architecture), opCount(summary.ops.size()),
                                    QString::number(m_loader->lastLoadMs())));
  addRecentModel(path);
  emit modelLoadFinished(true);
}

void MainWindow::onModelFailed(const QString& path, const QString& message) {
  setBusy(false, tr("Could not open %1").arg(displayName(path)));
  m_logView->appendMessage(
      tr("Could not open %1 (after %2 ms): %3")
          .arg(QDir::toNativeSeparators(path), QString::number(m_loader->lastLoadMs()), message),
      widgets::LogView::Level::Error);
  // open(), not exec(): no nested event loop, and a scripted run (--screenshot) keeps going.
  auto* box =
      new QMessageBox(QMessageBox::Critical, tr("Could Not Open Model"), message, QMessageBox::Ok, this);
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
  if (m_jobs->isBusy() || m_jobs->queuedCount() > 0) {
    // Closing cancels: the running job stops within a second and stores nothing half-written.
    m_jobs->cancelAll();
  }
  saveSettings();
  event->accept();
}

void MainWindow::restoreSettings() {
  QSettings settings;
  const QByteArray geometry = settings.value(kGeometryKey).toByteArray();
  if (!geometry.isEmpty()) restoreGeometry(geometry);
  const QByteArray state = settings.value(kStateKey).toByteArray();
  if (!state.isEmpty()) restoreState(state, kStateVersion);
  const QByteArray browser = settings.value(kBrowserKey).toByteArray();
  if (!browser.isEmpty()) m_browser->restoreState(browser);
  m_tabs->setCurrentIndex(settings.value(kTabKey, 0).toInt());
  const QString last = settings.value(kLastModelKey).toString();
  if (!last.isEmpty()) m_jobPanel->setModelPath(last);
}

void MainWindow::saveSettings() const {
  QSettings settings;
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState(kStateVersion));
  settings.setValue(kBrowserKey, m_browser->saveState());
  settings.setValue(kTabKey, m_tabs->currentIndex());
  settings.setValue(kLastModelKey, m_jobPanel->modelPath());
}

}  // namespace ranklab::app
