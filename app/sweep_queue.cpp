#include "app/sweep_queue.h"

#include <exception>

#include "app/job_controller.h"
#include "jobs/job_spec.h"
#include "jobs/sweep.h"
#include "store/run_store.h"

namespace ranklab::app {

SweepQueue::SweepQueue(JobController* jobs, QObject* parent) : QObject(parent), m_jobs(jobs) {
  connect(m_jobs, &JobController::finished, this, [this](qint64 ticket, const api::JobOutcome& outcome) {
    onJobEnded(ticket, QString::fromStdString(outcome.status));
  });
  connect(m_jobs, &JobController::cancelled, this,
          [this](qint64 ticket) { onJobEnded(ticket, QStringLiteral("cancelled")); });
  connect(m_jobs, &JobController::failed, this,
          [this](qint64 ticket, const QString&) { onJobEnded(ticket, QStringLiteral("failed")); });
}

SweepQueue::~SweepQueue() = default;

bool SweepQueue::start(const widgets::SweepRequest& request, const QString& database) {
  if (isRunning()) {
    m_lastError = tr("Sweep %1 is still running here; wait for it or cancel its jobs first.").arg(m_id);
    return false;
  }
  try {
    nlohmann::json grid = jobs::toJson(request.base);
    grid["decomposition"] = request.decompositions;
    grid["selector"] = request.selectors;
    grid["keep"] = request.keeps;
    grid["seed"] = request.seeds;
    grid["sweep_id"] = request.sweepId;
    grid["name"] = "";  // each point names itself after its method and budget
    grid["db"] = database.toStdString();
    const auto sweep = jobs::expandSweep(grid, "the sweep dialog");
    store::RunStore db(database.toStdString());
    auto lock = std::make_unique<jobs::SweepLock>(database.toStdString(), sweep.id);
    const auto plan = jobs::resumeSweep(sweep, db);
    m_lock = std::move(lock);
    m_id = QString::fromStdString(sweep.id);
    m_points = static_cast<int>(sweep.points.size());
    m_finishedEarlier = static_cast<int>(plan.finished.size());
    m_staleRemoved = static_cast<int>(plan.staleRuns.size());
    m_queued = static_cast<int>(plan.pending.size());
    m_succeeded = m_failed = m_cancelled = 0;
    for (size_t i : plan.pending) m_tickets.insert(m_jobs->submit(sweep.points[i]));
    if (m_tickets.isEmpty()) {
      m_lock.reset();
      emit sweepFinished(m_id, 0, 0, 0);
    }
    m_lastError.clear();
    return true;
  } catch (const std::exception& e) {
    m_lastError = QString::fromStdString(e.what());
    return false;
  }
}

void SweepQueue::onJobEnded(qint64 ticket, const QString& status) {
  if (!m_tickets.remove(ticket)) return;
  if (status == QLatin1String("succeeded"))
    ++m_succeeded;
  else if (status == QLatin1String("cancelled"))
    ++m_cancelled;
  else
    ++m_failed;
  if (m_tickets.isEmpty()) {
    m_lock.reset();
    emit sweepFinished(m_id, m_succeeded, m_failed, m_cancelled);
  }
}

}  // namespace ranklab::app
