// TeachSession: the teaching mode's composition root. It builds the TeachWindow with its six chapters
// and feeds them from core:
//  1. nothing (the geometry chapter is self-contained);
//  2. the shipped image (resources/data/teach) and its SVD (teach::matrixSvd);
//  3. the shipped models' op spectra, plain at once and weighted after a calibration pass on
//     lm/train.txt (teach::modelSpectra);
//  4. pairs of stored uniform / ARS runs at the same budget, or the two jobs to make one;
//  5. a short live ARS job (liveArsSpec) whose frames and series stream into the chapter;
//  6. stored RankDyna runs, or a short RankDyna job (shortRankDynaSpec).
// Core calls run on the session's own WorkerThread (joined in the destructor, which first cancels what
// can be cancelled); jobs run on the session's own JobController and are stored in the session's run
// database. GUI thread only; no exception leaves the worker or a slot.
#pragma once

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QString>
#include <memory>

#include "api/job.h"
#include "api/teach.h"
#include "api/types.h"
#include "common/progress.h"

namespace ranklab::widgets {
class TeachGeometryView;
class TeachImageView;
class TeachLayerView;
class TeachLiveView;
class TeachModelView;
class TeachReplayView;
class TeachWindow;
}  // namespace ranklab::widgets

namespace ranklab::app {

class JobController;
class RunRepository;
class WorkerThread;
struct JobProgress;

class TeachSession : public QObject {
  Q_OBJECT

 public:
  // Chapter 5's time budget: the live run must end within it on a laptop CPU.
  static constexpr double kLiveBudgetSeconds = 60.0;

  // Chapter 5's job: ARS on the shipped gpt-mini at p = 0.5, 100 steps of 2 windows of 64 tokens,
  // hypernetwork rate 1e-2 (ten times the default, so that the budget term converges within the
  // run), a mask frame every 2 steps, perplexity on one test document before and after.
  static api::JobSpec liveArsSpec();
  // Chapter 4's pair: liveArsSpec and the same job with uniform ranks.
  static api::JobSpec uniformPairSpec();
  // Chapter 6's short run: RankDyna on gpt-mini at p = 0.5 over 80 fine-tuning steps of 4 windows.
  static api::JobSpec shortRankDynaSpec();
  // The shipped image of chapter 2.
  static QString imagePath();

  // `databasePath`: the run database (empty: the default one).
  explicit TeachSession(const QString& databasePath = {}, QObject* parent = nullptr);
  ~TeachSession() override;

  // Starts loading what the chapters show: the image and its SVD, the first model's spectra, the
  // stored runs.
  void start();

  widgets::TeachWindow* window() const { return m_window.get(); }
  // Shows the window (again, if it was closed), raised and active.
  void showWindow();
  widgets::TeachGeometryView* geometryChapter() const { return m_geometry; }
  widgets::TeachImageView* imageChapter() const { return m_image; }
  widgets::TeachLayerView* layerChapter() const { return m_layer; }
  widgets::TeachModelView* modelChapter() const { return m_model; }
  widgets::TeachLiveView* liveChapter() const { return m_live; }
  widgets::TeachReplayView* replayChapter() const { return m_replay; }
  JobController* jobs() const { return m_jobs; }
  RunRepository* runs() const { return m_runs.get(); }

  // Re-reads the stored runs into chapters 4 and 6.
  void refreshRuns();
  // The buttons' actions, callable directly.
  void startLiveRun();
  void startPairRuns();
  void startShortRankDyna();

 signals:
  // Chapter 2 got its image (ok) or its error message (not ok).
  void imageLoaded(bool ok);
  // Chapter 3 got spectra (weighted: with the calibrated ones) or an error (ok false).
  void spectraLoaded(bool ok, bool weighted);
  // A job the session started ended: purpose "live", "pair" (after both runs) or "rankdyna".
  void jobEnded(const QString& purpose, const QString& status);

 private:
  void buildChapters();
  void wireJobs();
  void loadImage();
  void loadSpectra(const QString& modelPath);
  void loadReplayRun(qint64 runId);
  qint64 submit(const api::JobSpec& spec, const QString& purpose);
  void onJobEnded(qint64 ticket, const QString& status, const QString& message, double seconds);

  std::unique_ptr<widgets::TeachWindow> m_window;
  widgets::TeachGeometryView* m_geometry = nullptr;
  widgets::TeachImageView* m_image = nullptr;
  widgets::TeachLayerView* m_layer = nullptr;
  widgets::TeachModelView* m_model = nullptr;
  widgets::TeachLiveView* m_live = nullptr;
  widgets::TeachReplayView* m_replay = nullptr;

  JobController* m_jobs = nullptr;
  std::unique_ptr<RunRepository> m_runs;
  std::unique_ptr<WorkerThread> m_worker;  // core calls
  // Chapter 3's finished spectra by model path: going back to a model shows them at once.
  struct CachedSpectra {
    api::ModelSpectra spectra;
    QString status;
    bool weighted = false;
  };
  QHash<QString, CachedSpectra> m_spectraCache;
  std::shared_ptr<CancelToken> m_spectraCancel;
  quint64 m_spectraRequest = 0;
  api::ModelSummary m_liveModel;     // ops of the live job's model (names, shapes)
  QHash<qint64, QString> m_purpose;  // ticket -> "live" | "pair" | "rankdyna"
  QElapsedTimer m_clock;             // since the running job started
  int m_pairPending = 0;
  bool m_pairFailed = false;
};

}  // namespace ranklab::app
