// JobController: runs compression jobs (core's JobRunner) one at a time on one long-lived worker
// thread (DESIGN.md "Threading"), and reports back on the GUI thread through queued signals.
//
// - Jobs queue: submit() returns a ticket at once; the worker takes them in order.
// - Progress (phase, done/total, elapsed, ETA) and the live data of the running job (series points,
//   ARS mask frames / RankDyna reallocations, the chosen ranks) are batched on the worker and sent at
//   most every kThrottleMs (about 10 updates a second), so a job logging every step cannot flood the
//   event loop. The last batch is always flushed before the job's final signal.
// - cancel() sets the running job's atomic flag directly from the GUI thread (core checks it at least
//   once a second) and removes queued jobs at once. Exactly one of finished(), cancelled() or failed()
//   is emitted per submitted ticket.
// - The destructor cancels the running job, drops the queue and joins the thread (quit(); wait()).
//
// Use from the GUI thread only. No exception leaves the worker.
#pragma once

#include <QMetaType>
#include <QObject>
#include <QQueue>
#include <QString>
#include <memory>
#include <vector>

#include "api/job.h"
#include "api/run.h"
#include "common/progress.h"

namespace ranklab::app {

// One progress report of the running job.
struct JobProgress {
  QString phase;                  // "evaluate", "calibrate", "decompose", "ars", "finetune", ...
  qint64 done = 0, total = 0;     // units of `phase`; total 0 = unknown
  double elapsedSeconds = 0.0;    // since the job started
  double phaseEtaSeconds = -1.0;  // remaining time of this phase from its rate so far; -1 unknown
};

}  // namespace ranklab::app

Q_DECLARE_METATYPE(ranklab::api::JobSpec)
Q_DECLARE_METATYPE(ranklab::api::JobOutcome)
Q_DECLARE_METATYPE(ranklab::api::RunRecord)
Q_DECLARE_METATYPE(ranklab::app::JobProgress)
Q_DECLARE_METATYPE(std::vector<ranklab::api::SeriesPoint>)
Q_DECLARE_METATYPE(std::vector<ranklab::api::MaskFrame>)
Q_DECLARE_METATYPE(std::vector<ranklab::api::OpResult>)

namespace ranklab::app {

class WorkerThread;

class JobController : public QObject {
  Q_OBJECT

 public:
  static constexpr int kThrottleMs = 100;

  explicit JobController(QObject* parent = nullptr);
  ~JobController() override;

  // Queues a job; returns its ticket (1, 2, ...). It starts when the worker is free.
  qint64 submit(const api::JobSpec& spec);
  // The ticket the next submit() returns. submit() may emit jobStarted for it before returning (when
  // nothing runs), so a caller that keys its own state by ticket records it from here first.
  qint64 nextTicket() const { return m_nextTicket; }
  // Cancels a ticket: the running job stops at its next cancellation point (within about a
  // second) and reports cancelled(); a queued one is dropped and reports cancelled() at once.
  // Unknown or finished tickets are ignored.
  void cancel(qint64 ticket);
  // Cancels the running job and every queued one.
  void cancelAll();

  bool isBusy() const { return m_running != 0; }
  qint64 runningTicket() const { return m_running; }
  int queuedCount() const { return m_queue.size(); }

 signals:
  void jobStarted(qint64 ticket, const ranklab::api::JobSpec& spec);
  void progress(qint64 ticket, const ranklab::app::JobProgress& progress);
  // The run record as first stored (status "running"): the run id the live data belongs to.
  void runStarted(qint64 ticket, const ranklab::api::RunRecord& run);
  void seriesPoints(qint64 ticket, const std::vector<ranklab::api::SeriesPoint>& points);
  void maskFrames(qint64 ticket, const std::vector<ranklab::api::MaskFrame>& frames);
  void opsChosen(qint64 ticket, const std::vector<ranklab::api::OpResult>& ops);
  // Exactly one of these three per ticket.
  void finished(qint64 ticket, const ranklab::api::JobOutcome& outcome);
  void cancelled(qint64 ticket);
  void failed(qint64 ticket, const QString& message);
  // The number of jobs waiting (not counting the running one) changed.
  void queueChanged(int queued);

 private:
  struct Queued {
    qint64 ticket = 0;
    api::JobSpec spec;
  };
  void startNext();
  void onWorkerDone(qint64 ticket, const ranklab::api::JobOutcome& outcome);

  std::unique_ptr<WorkerThread> m_worker;
  QQueue<Queued> m_queue;
  qint64 m_nextTicket = 1;
  qint64 m_running = 0;
  std::shared_ptr<CancelToken> m_runningCancel;  // shared with the worker; set from this thread
};

}  // namespace ranklab::app
