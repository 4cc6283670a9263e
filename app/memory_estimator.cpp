#include "app/memory_estimator.h"

#include <QLocale>
#include <algorithm>

#include "app/worker_thread.h"
#include "jobs/plan.h"

namespace ranklab::app {

namespace {

QString gigabytes(double bytes) {
  return QStringLiteral("%1 GB").arg(QLocale().toString(bytes / 1e9, 'f', 2));
}

}  // namespace

MemoryEstimator::MemoryEstimator(QObject* parent) : QObject(parent) {
  m_worker = std::make_unique<WorkerThread>(QStringLiteral("ranklab-memory-plan"));
}

MemoryEstimator::~MemoryEstimator() = default;

void MemoryEstimator::estimate(const api::JobSpec& spec) {
  m_newest = spec;
  ++m_newestId;
  m_pending = true;
  if (!m_workerBusy) startOnWorker();
}

void MemoryEstimator::startOnWorker() {
  m_pending = false;
  m_workerBusy = true;
  const quint64 id = m_newestId;
  auto superseded = [this, id] {
    m_workerBusy = false;
    if (id == m_newestId) return false;
    if (m_pending) startOnWorker();
    return true;
  };
  m_worker->post(
      [spec = m_newest] {
        const jobs::JobPlan plan = jobs::planJob(spec);
        const auto peak = std::max_element(
            plan.stages.begin(), plan.stages.end(),
            [](const jobs::PlanStage& a, const jobs::PlanStage& b) { return a.hostBytes < b.hostBytes; });
        Result r;
        r.table = QString::fromStdString(jobs::formatPlan(plan)).trimmed();
        r.summary = plan.peakDeviceBytes > 0.0
                        ? MemoryEstimator::tr("About %1 of host memory and %2 of GPU memory at peak")
                              .arg(gigabytes(plan.peakHostBytes), gigabytes(plan.peakDeviceBytes))
                        : MemoryEstimator::tr("About %1 at peak").arg(gigabytes(plan.peakHostBytes));
        if (peak != plan.stages.end())
          r.summary += MemoryEstimator::tr(", in stage %1 (%2)")
                           .arg(QString::fromStdString(peak->stage), QString::fromStdString(peak->detail));
        if (plan.availableHostBytes > 0.0) {
          r.tooLarge = plan.peakHostBytes > plan.availableHostBytes;
          r.summary += r.tooLarge
                           ? MemoryEstimator::tr("; only %1 is available: the job will not fit")
                                 .arg(gigabytes(plan.availableHostBytes))
                           : MemoryEstimator::tr("; %1 available").arg(gigabytes(plan.availableHostBytes));
        }
        r.summary += QLatin1Char('.');
        return r;
      },
      [this, superseded](const Result& r) {
        if (!superseded()) emit estimated(r.summary, r.table, r.tooLarge);
      },
      [this, superseded](const QString& message) {
        if (!superseded()) emit failed(message);
      });
}

}  // namespace ranklab::app
