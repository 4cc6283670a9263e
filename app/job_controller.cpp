#include "app/job_controller.h"

#include <QElapsedTimer>
#include <QThread>
#include <exception>
#include <mutex>

#include "jobs/job_runner.h"

namespace ranklab::app {

// Lives on the worker thread; runs one job at a time and batches what it reports.
class JobWorker : public QObject, public ProgressSink, public jobs::JobObserver {
  Q_OBJECT

 public:
  void run(qint64 ticket, const api::JobSpec& spec, const std::shared_ptr<CancelToken>& cancel) {
    m_ticket = ticket;
    m_clock.start();
    m_lastFlushMs = -JobController::kThrottleMs;
    m_phase.clear();
    api::JobOutcome outcome;
    try {
      outcome = jobs::JobRunner().run(spec, *this, *cancel, this);
    } catch (const std::exception& e) {  // JobRunner promises not to throw; never let one escape anyway
      outcome.status = "failed";
      outcome.error = e.what();
    } catch (...) {
      outcome.status = "failed";
      outcome.error = "unknown error";
    }
    flush(true);
    emit done(ticket, outcome);
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
  void runStarted(const api::RunRecord& run) override { emit runRecord(m_ticket, run); }
  void seriesPoint(const api::SeriesPoint& point) override {
    m_series.push_back(point);
    flush(false);
  }
  void opsChosen(const std::vector<api::OpResult>& ops) override {
    flush(true);  // frames logged before the final ranks go first
    emit ops_(m_ticket, ops);
  }
  void maskFrame(const api::MaskFrame& frame) override {
    m_frames.push_back(frame);
    flush(false);
  }

 signals:
  void progressed(qint64 ticket, const ranklab::app::JobProgress& progress);
  void runRecord(qint64 ticket, const ranklab::api::RunRecord& run);
  void series(qint64 ticket, const std::vector<ranklab::api::SeriesPoint>& points);
  void frames(qint64 ticket, const std::vector<ranklab::api::MaskFrame>& frames);
  void ops_(qint64 ticket, const std::vector<ranklab::api::OpResult>& ops);
  void done(qint64 ticket, const ranklab::api::JobOutcome& outcome);

 private:
  void flush(bool force) {
    const qint64 now = m_clock.elapsed();
    if (!force && now - m_lastFlushMs < JobController::kThrottleMs) return;
    m_lastFlushMs = now;
    if (!m_series.empty()) emit series(m_ticket, std::exchange(m_series, {}));
    if (!m_frames.empty()) emit frames(m_ticket, std::exchange(m_frames, {}));
    if (m_haveProgress) emit progressed(m_ticket, m_latest);
    m_haveProgress = false;
  }

  qint64 m_ticket = 0;
  QElapsedTimer m_clock;
  qint64 m_lastFlushMs = 0;
  std::string m_phase;
  double m_phaseStart = 0.0;
  JobProgress m_latest;
  bool m_haveProgress = false;
  std::vector<api::SeriesPoint> m_series;
  std::vector<api::MaskFrame> m_frames;
};

namespace {

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
  m_thread = new QThread(this);
  m_thread->setObjectName(QStringLiteral("RankLab job worker"));
  m_worker = new JobWorker;
  m_worker->moveToThread(m_thread);
  connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
  // Live data is only forwarded for the ticket still running (a cancelled job's late batch is dropped).
  connect(m_worker, &JobWorker::progressed, this, [this](qint64 t, const JobProgress& p) {
    if (t == m_running) emit progress(t, p);
  });
  connect(m_worker, &JobWorker::runRecord, this, [this](qint64 t, const api::RunRecord& r) {
    if (t == m_running) emit runStarted(t, r);
  });
  connect(m_worker, &JobWorker::series, this, [this](qint64 t, const std::vector<api::SeriesPoint>& s) {
    if (t == m_running) emit seriesPoints(t, s);
  });
  connect(m_worker, &JobWorker::frames, this, [this](qint64 t, const std::vector<api::MaskFrame>& f) {
    if (t == m_running) emit maskFrames(t, f);
  });
  connect(m_worker, &JobWorker::ops_, this, [this](qint64 t, const std::vector<api::OpResult>& o) {
    if (t == m_running) emit opsChosen(t, o);
  });
  connect(m_worker, &JobWorker::done, this, &JobController::onWorkerDone);
  m_thread->start();
}

JobController::~JobController() {
  m_queue.clear();
  if (m_runningCancel) m_runningCancel->cancel();
  m_thread->quit();
  m_thread->wait();
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
  QMetaObject::invokeMethod(
      m_worker,
      [worker = m_worker, ticket = next.ticket, spec = next.spec, cancel = m_runningCancel] {
        worker->run(ticket, spec, cancel);
      },
      Qt::QueuedConnection);
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

#include "job_controller.moc"
