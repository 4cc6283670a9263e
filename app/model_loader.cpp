#include "app/model_loader.h"

#include <QElapsedTimer>
#include <QFile>
#include <QScopeGuard>

#include "app/worker_thread.h"
#include "models/inspect.h"

namespace ranklab::app {

ModelLoader::ModelLoader(QObject* parent) : QObject(parent) {
  qRegisterMetaType<api::ModelSummary>("ranklab::api::ModelSummary");
  m_worker = std::make_unique<WorkerThread>(QStringLiteral("ranklab-model-loader"));
}

// Joins the worker: a running load ends first; its result, not yet delivered, is dropped with it.
ModelLoader::~ModelLoader() = default;

void ModelLoader::load(const QString& path, const QString& tokenizerPath) {
  m_current = Request{++m_nextId, path, tokenizerPath};
  m_loading = true;
  emit started(path);
  if (!m_workerBusy) startOnWorker(m_current);
}

void ModelLoader::startOnWorker(const Request& request) {
  m_workerBusy = true;
  // inspectModel's wall time, also when it throws. Written on the worker before the outcome is
  // delivered (the queued delivery orders the write before the read here).
  auto elapsedMs = std::make_shared<qint64>(0);
  m_worker->post(
      [request, elapsedMs] {
        QElapsedTimer timer;
        timer.start();
        const auto stamp = qScopeGuard([&] { *elapsedMs = timer.elapsed(); });
        return models::inspectModel(QFile::encodeName(request.path).toStdString(),
                                    QFile::encodeName(request.tokenizerPath).toStdString());
      },
      [this, id = request.id, elapsedMs](const api::ModelSummary& summary) {
        onWorkerDone(id, true, summary, {}, *elapsedMs);
      },
      [this, id = request.id, path = request.path, elapsedMs](const QString& message) {
        // core's errors name the file; anything else (bad_alloc, a torch error) gets the path added.
        const QString error = message.contains(path) ? message : QStringLiteral("%1: %2").arg(path, message);
        onWorkerDone(id, false, {}, error, *elapsedMs);
      });
}

void ModelLoader::onWorkerDone(quint64 id, bool ok, const api::ModelSummary& summary, const QString& error,
                               qint64 elapsedMs) {
  m_workerBusy = false;
  if (id != m_current.id) {
    // Superseded: drop this result and run the newest request.
    if (m_loading) startOnWorker(m_current);
    return;
  }
  m_loading = false;
  m_lastLoadMs = elapsedMs;
  if (ok) {
    emit loaded(summary);
  } else {
    emit failed(m_current.path, error);
  }
}

}  // namespace ranklab::app
