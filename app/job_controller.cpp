#include "app/job_controller.h"

#include <QElapsedTimer>
#include <utility>

#include "app/worker_thread.h"
#include "jobs/job_runner.h"

namespace ranklab::app {
namespace {

// Made per job on the worker thread: runs the job and batches what it reports. Every batch goes to
// the controller through the worker's deliver(), and is dropped there unless its ticket is still the
// running one (a cancelled job's late batch is not shown).
class JobReporter : public ProgressSink, public jobs::JobObserver {
 public:
  JobReporter(JobController* controller, WorkerThread* worker, qint64 ticket)
      : m_controller(controller), m_worker(worker), m_ticket(ticket) {}

  api::JobOutcome run(const api::JobSpec& spec, CancelToken& cancel) {
    m_clock.start();
    m_lastFlushMs = -JobController::kThrottleMs;
    api::JobOutcome outcome;
    try {
      outcome = jobs::JobRunner().run(spec, *this, cancel, this);
    } catch (...) {
      // JobRunner promises not to throw. If it does anyway, what it reported still goes before the
      // final signal, and the WorkerThread reports the exception (the controller emits failed()).
      flush(true);
      throw;
    }
    flush(true);
    return outcome;
  }

  // ProgressSink
  void progress(const std::string& phase, long long done, long long total) override {
    const double now = m_clock.elapsed() / 1000.0;
    if (phase != m_phase) {
      m_phase = phase;
      m_phaseStart = now;
    }
    m_latest.phase = QString::fromStdString(phase);
    m_latest.done = done;
    m_latest.total = total;
    m_latest.elapsedSeconds = now;
    const double inPhase = now - m_phaseStart;
    m_latest.phaseEtaSeconds =
        (total > 0 && done > 0 && inPhase > 0.0) ? inPhase / double(done) * double(total - done) : -1.0;
    m_haveProgress = true;
    flush(false);
  }

  // JobObserver
  void runStarted(const api::RunRecord& run) override {
    live([run](JobController* c, qint64 t) { emit c->runStarted(t, run); });
  }
  void seriesPoint(const api::SeriesPoint& point) override {
    m_series.push_back(point);
    flush(false);
  }
  void opsChosen(const std::vector<api::OpResult>& ops) override {
    flush(true);  // frames logged before the final ranks go first
    live([ops](JobController* c, qint64 t) { emit c->opsChosen(t, ops); });
  }
  void maskFrame(const api::MaskFrame& frame) override {
    m_frames.push_back(frame);
    flush(false);
  }

 private:
  // Runs `emitter` on the controller's thread if this job is still the running one there.
  template <typename Emitter>
  void live(Emitter emitter) {
    m_worker->deliver([c = m_controller, t = m_ticket, emitter = std::move(emitter)] {
      if (t == c->runningTicket()) emitter(c, t);
    });
  }

  void flush(bool force) {
    const qint64 now = m_clock.elapsed();
    if (!force && now - m_lastFlushMs < JobController::kThrottleMs) return;
    m_lastFlushMs = now;
    if (!m_series.empty())
      live([s = std::exchange(m_series, {})](JobController* c, qint64 t) { emit c->seriesPoints(t, s); });
    if (!m_frames.empty())
      live([f = std::exchange(m_frames, {})](JobController* c, qint64 t) { emit c->maskFrames(t, f); });
    if (m_haveProgress) live([p = m_latest](JobController* c, qint64 t) { emit c->progress(t, p); });
    m_haveProgress = false;
  }

  JobController* m_controller;
  WorkerThread* m_worker;
  qint64 m_ticket;
  QElapsedTimer m_clock;
  qint64 m_lastFlushMs = 0;
  std::string m_phase;
  double m_phaseStart = 0.0;
  JobProgress m_latest;
  bool m_haveProgress = false;
  std::vector<api::SeriesPoint> m_series;
  std::vector<api::MaskFrame> m_frames;
};

void registerTypes() {
  static const bool once = [] {
    qRegisterMetaType<api::JobSpec>();
    qRegisterMetaType<api::JobOutcome>();
    qRegisterMetaType<api::RunRecord>();
    qRegisterMetaType<JobProgress>();
    qRegisterMetaType<std::vector<api::SeriesPoint>>();
    qRegisterMetaType<std::vector<api::MaskFrame>>();
    qRegisterMetaType<std::vector<api::OpResult>>();
    return true;
  }();
  (void)once;
}

}  // namespace

JobController::JobController(QObject* parent) : QObject(parent) {
  registerTypes();
  m_worker = std::make_unique<WorkerThread>(QStringLiteral("RankLab job worker"));
}

JobController::~JobController() {
  m_queue.clear();
  if (m_runningCancel) m_runningCancel->cancel();
  m_worker.reset();  // joins: the running job stops at its next cancellation point
}

qint64 JobController::submit(const api::JobSpec& spec) {
  const qint64 ticket = m_nextTicket++;
  m_queue.enqueue({ticket, spec});
  if (!m_running) {
    startNext();
  } else {
    emit queueChanged(m_queue.size());
  }
  return ticket;
}

void JobController::cancel(qint64 ticket) {
  if (ticket == m_running && m_runningCancel) {
    m_runningCancel->cancel();
    return;
  }
  for (int i = 0; i < m_queue.size(); ++i) {
    if (m_queue[i].ticket == ticket) {
      m_queue.removeAt(i);
      emit queueChanged(m_queue.size());
      emit cancelled(ticket);
      return;
    }
  }
}

void JobController::cancelAll() {
  const auto queued = m_queue;
  m_queue.clear();
  if (!queued.isEmpty()) emit queueChanged(0);
  for (const auto& q : queued) emit cancelled(q.ticket);
  if (m_runningCancel) m_runningCancel->cancel();
}

void JobController::startNext() {
  if (m_running || m_queue.isEmpty()) return;
  Queued next = m_queue.dequeue();
  m_running = next.ticket;
  m_runningCancel = std::make_shared<CancelToken>();
  emit queueChanged(m_queue.size());
  emit jobStarted(next.ticket, next.spec);
  m_worker->post(
      [this, worker = m_worker.get(), ticket = next.ticket, spec = next.spec, cancel = m_runningCancel] {
        return JobReporter(this, worker, ticket).run(spec, *cancel);
      },
      [this, ticket = next.ticket](const api::JobOutcome& outcome) { onWorkerDone(ticket, outcome); },
      [this, ticket = next.ticket](const QString& message) {
        api::JobOutcome outcome;
        outcome.status = "failed";
        outcome.error = message.toStdString();
        onWorkerDone(ticket, outcome);
      });
}

void JobController::onWorkerDone(qint64 ticket, const api::JobOutcome& outcome) {
  m_running = 0;
  m_runningCancel.reset();
  if (outcome.status == "succeeded") {
    emit finished(ticket, outcome);
  } else if (outcome.status == "cancelled") {
    emit cancelled(ticket);
  } else {
    emit failed(ticket, QString::fromStdString(outcome.error.empty() ? std::string("the job failed")
                                                                     : outcome.error));
  }
  startNext();
}

}  // namespace ranklab::app
