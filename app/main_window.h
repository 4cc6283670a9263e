// MainWindow: the application shell. It owns the menus, the status bar, the docks (job panel, run
// browser, log) and the tabs of views, and wires them to the JobController (jobs on the worker
// thread) and the RunRepository (the GUI thread's read side of the run store); views do the work.
// Window geometry, dock layout, the job panel's last spec and the recent-models list persist in
// QSettings (the application's organisation/name, set in main). GUI thread only.
#pragma once

#include <QMainWindow>
#include <QStringList>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "api/run.h"
#include "api/types.h"

class QAction;
class QLabel;
class QMenu;
class QProgressBar;
class QTabWidget;
class QTimer;

namespace ranklab::widgets {
class BudgetCurveView;
class CompareView;
class JobPanel;
class LogView;
class MaskEvolutionView;
class ModelSummaryView;
class RankAllocationView;
class RunBrowser;
class SpectrumView;
struct SweepRequest;
}  // namespace ranklab::widgets

namespace ranklab::api {
struct JobOutcome;
struct JobSpec;
}  // namespace ranklab::api

namespace ranklab::app {

class JobController;
class MemoryEstimator;
class ModelLoader;
class RunRepository;
class SweepQueue;
struct JobProgress;

// Saves the current view to a path chosen by suffix (.png/.pdf figure, .csv data); false with a
// reason in `error` on failure.
using PlotSaver = std::function<bool(const QString& path, QString* error)>;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  static constexpr int kMaxRecentModels = 8;

  // `databasePath`: the run database to open; empty = the default (RunStore::defaultPath()).
  explicit MainWindow(QWidget* parent = nullptr, const QString& databasePath = {});
  ~MainWindow() override;

  widgets::ModelSummaryView* modelSummaryView() const { return m_summaryView; }
  widgets::LogView* logView() const { return m_logView; }
  widgets::JobPanel* jobPanel() const { return m_jobPanel; }
  widgets::RunBrowser* runBrowser() const { return m_browser; }
  widgets::RankAllocationView* rankView() const { return m_rankView; }
  widgets::SpectrumView* spectrumView() const { return m_spectrumView; }
  widgets::MaskEvolutionView* maskView() const { return m_maskView; }
  widgets::BudgetCurveView* budgetView() const { return m_budgetView; }
  widgets::CompareView* compareView() const { return m_compareView; }
  QTabWidget* tabs() const { return m_tabs; }
  // What File > Export Current View saves for the current tab (tests call it without the dialog).
  bool exportCurrentViewTo(const QString& path, QString* error = nullptr) const {
    QString base;
    const PlotSaver saver = currentViewSaver(&base);
    return saver && saver(path, error);
  }
  JobController* jobs() const { return m_jobs; }
  SweepQueue* sweeps() const { return m_sweeps; }
  RunRepository* runs() const { return m_runs.get(); }
  ModelLoader* modelLoader() const { return m_loader; }
  QProgressBar* busyIndicator() const { return m_busyBar; }
  QMenu* recentMenu() const { return m_recentMenu; }
  // The run the views show (id 0 when none).
  qint64 shownRunId() const { return m_shown ? m_shown->run.id : 0; }

  // Recently opened models, newest first, at most kMaxRecentModels; entries that no longer exist on
  // disk are removed from the list (and from QSettings) when it is read.
  QStringList recentModels() const;

 public slots:
  // Loads a model in the background (see ModelLoader); the summary view shows it when it is done.
  // `tokenizerPath` is optional (a llama2.c tokenizer.bin).
  void openModel(const QString& path, const QString& tokenizerPath = QString());
  // File > Open Model...: a file dialog for .gguf / .bin files or a Hugging Face directory's
  // config.json; File > Open Model Directory... picks the directory itself.
  void chooseModelFile();
  void chooseModelDirectory();
  void clearRecentModels();
  void showAbout();
  // Shows a stored run in the rank, spectrum and mask views.
  void showRun(qint64 runId);
  // Compares 2-4 stored runs (the Compare tab; the rank view shows the first two's difference).
  void compareRuns(const QList<qint64>& ids);
  // Re-reads the run list from the database (browser and budget curves).
  void refreshRuns();
  void applyRuns(const std::vector<api::RunRecord>& runs);
  void pollDatabase();
  // File > Export Current View (Ctrl+E): the current tab's plot or data, through a file dialog.
  void exportCurrentView();
  // Job > Sweep... (and the job panel's button): the sweep dialog on the job panel's job.
  void openSweepDialog();
  // Queues a sweep into this window's database and shows it in the budget curves; false (after
  // showing the reason) when it cannot start.
  bool startSweep(const widgets::SweepRequest& request);

 signals:
  // After the summary view (or the error report) has been updated for the newest openModel().
  void modelLoadFinished(bool ok);
  // After a job's final signal has been handled (browser and views updated).
  void jobEnded(qint64 ticket, const QString& status);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void createViews();
  void createDocks();
  void createMenus();
  void createStatusBar();
  void wireJobs();
  void wireRuns();
  void restoreSettings();
  void saveSettings() const;
  void onLoadStarted(const QString& path);
  void onModelLoaded(const api::ModelSummary& summary);
  void onModelFailed(const QString& path, const QString& message);
  void onJobStarted(qint64 ticket, const api::JobSpec& spec);
  void onJobProgress(qint64 ticket, const JobProgress& progress);
  void onJobEnded(qint64 ticket, const QString& status, const QString& message, qint64 runId);
  void showError(const QString& title, const QString& message);
  void setBusy(bool busy, const QString& message);
  void addRecentModel(const QString& path);
  void updateRecentMenu();
  void updateMemory();
  void showOp(int opIndex);
  void setDarkTheme(bool dark);
  // The current tab's exporter and a suggested file name; empty for a tab without a plot.
  PlotSaver currentViewSaver(QString* baseName) const;
  void themePlots();

  widgets::ModelSummaryView* m_summaryView = nullptr;
  widgets::LogView* m_logView = nullptr;
  widgets::JobPanel* m_jobPanel = nullptr;
  widgets::RunBrowser* m_browser = nullptr;
  widgets::RankAllocationView* m_rankView = nullptr;
  widgets::SpectrumView* m_spectrumView = nullptr;
  widgets::MaskEvolutionView* m_maskView = nullptr;
  widgets::BudgetCurveView* m_budgetView = nullptr;
  widgets::CompareView* m_compareView = nullptr;
  QTabWidget* m_tabs = nullptr;
  ModelLoader* m_loader = nullptr;
  MemoryEstimator* m_memoryPlan = nullptr;
  JobController* m_jobs = nullptr;
  SweepQueue* m_sweeps = nullptr;
  std::unique_ptr<RunRepository> m_runs;
  std::optional<api::RunData> m_shown;  // the run the views show (a live one while a job runs)
  api::ModelSummary m_summary;          // the loaded model (the job panel's ledger, live op names)
  qint64 m_liveRunId = 0;               // the running job's run id (0 before runStarted)
  QMenu* m_recentMenu = nullptr;
  QLabel* m_modelStatus = nullptr;
  QLabel* m_jobStatus = nullptr;
  QLabel* m_deviceStatus = nullptr;
  QProgressBar* m_busyBar = nullptr;
  QTimer* m_memoryTimer = nullptr;
  // Polls the database's data_version so that runs written elsewhere appear without a refresh.
  static constexpr int kDatabasePollMs = 700;
  QTimer* m_databaseWatch = nullptr;
  QString m_device;  // what "auto" resolves to
};

}  // namespace ranklab::app
