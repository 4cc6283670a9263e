// SweepQueue: the GUI's way to run a sweep (issue 8). Expands the sweep dialog's request into points
// (jobs/sweep.h, the same expansion `ranklab-cli sweep` uses), plans them against the window's
// database, deletes the sweep's half-done or failed runs, and queues the points still to run on the
// JobController, one normal job each. It holds the sweep's lock file until its last job ends, so a
// `ranklab-cli sweep` of the same sweep on the same database cannot run meanwhile (and vice versa).
// One sweep at a time. GUI thread only; no member throws.
#pragma once

#include <QObject>
#include <QSet>
#include <QString>
#include <memory>

#include "widgets/sweep_dialog.h"

namespace ranklab::jobs {
class SweepLock;
}

namespace ranklab::app {

class JobController;

class SweepQueue : public QObject {
  Q_OBJECT

 public:
  explicit SweepQueue(JobController* jobs, QObject* parent = nullptr);
  ~SweepQueue() override;

  // Queues the request's pending points into `database`. False and lastError() when the grid is
  // invalid, another sweep is still queued here, the sweep is locked by another process, or the
  // database cannot be read. Points already finished are counted in finishedEarlier().
  bool start(const widgets::SweepRequest& request, const QString& database);
  bool isRunning() const { return !m_tickets.isEmpty(); }
  QString sweepId() const { return m_id; }
  int points() const { return m_points; }
  int queued() const { return m_queued; }
  int finishedEarlier() const { return m_finishedEarlier; }
  int staleRunsRemoved() const { return m_staleRemoved; }
  QString lastError() const { return m_lastError; }

 signals:
  // Every queued point has ended; counts of this start().
  void sweepFinished(const QString& id, int succeeded, int failed, int cancelled);

 private:
  void onJobEnded(qint64 ticket, const QString& status);

  JobController* m_jobs;
  std::unique_ptr<jobs::SweepLock> m_lock;
  QSet<qint64> m_tickets;
  QString m_id, m_lastError;
  int m_points = 0, m_queued = 0, m_finishedEarlier = 0, m_staleRemoved = 0;
  int m_succeeded = 0, m_failed = 0, m_cancelled = 0;
};

}  // namespace ranklab::app
