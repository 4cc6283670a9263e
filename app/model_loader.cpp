#include "app/model_loader.h"

#include <QElapsedTimer>
#include <QFile>
#include <QThread>
#include <exception>

#include "models/inspect.h"

namespace ranklab::app {
namespace {

// Lives on the loader's thread. inspect() is the thread entry for a load: nothing may escape it.
class InspectWorker : public QObject {
  Q_OBJECT

 public:
  void inspect(quint64 id, const QString& path, const QString& tokenizerPath) {
    QElapsedTimer timer;
    timer.start();
    api::ModelSummary summary;
    QString error;
    bool ok = false;
    try {
      summary = models::inspectModel(QFile::encodeName(path).toStdString(),
                                  QFile::encodeName(tokenizerPath).toStdString());
      ok = true;
    } catch (const std::exception& e) {
      error = QString::fromLocal8Bit(e.what());
    } catch (...) {
      error = tr("unknown error while reading the model");
    }
    // core's errors name the file; anything else (bad_alloc, a torch error) gets the path added.
    if (!ok && !error.contains(path)) error = QStringLiteral("%1: %2").arg(path, error);
    emit done(id, ok, summary, error, timer.elapsed());
  }

 signals:
  void done(quint64 id, bool ok, const ranklab::api::ModelSummary& summary, const QString& error,
            qint64 elapsedMs);
};

}  // namespace

ModelLoader::ModelLoader(QObject* parent) : QObject(parent) {
  qRegisterMetaType<api::ModelSummary>("ranklab::api::ModelSummary");
  m_thread = new QThread;
  m_thread->setObjectName(QStringLiteral("ranklab-model-loader"));
  auto* worker = new InspectWorker;
  worker->moveToThread(m_thread);
  m_worker = worker;
  // Queued: the worker emits on its thread, the slot runs on the loader's.
  connect(worker, &InspectWorker::done, this, &ModelLoader::onWorkerDone, Qt::QueuedConnection);
}

ModelLoader::~ModelLoader() {
  // The event loop stops after the current load (if any) returns; its result, posted to this object,
  // is discarded with it.
  m_thread->quit();
  m_thread->wait();
  delete m_worker;
  delete m_thread;
}

void ModelLoader::load(const QString& path, const QString& tokenizerPath) {
  m_current = Request{++m_nextId, path, tokenizerPath};
  m_loading = true;
  emit started(path);
  if (!m_workerBusy) startOnWorker(m_current);
}

void ModelLoader::startOnWorker(const Request& request) {
  if (!m_thread->isRunning()) m_thread->start();
  m_workerBusy = true;
  auto* worker = static_cast<InspectWorker*>(m_worker);
  QMetaObject::invokeMethod(
      worker, [worker, request] { worker->inspect(request.id, request.path, request.tokenizerPath); },
      Qt::QueuedConnection);
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

#include "model_loader.moc"
