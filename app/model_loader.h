// ModelLoader: runs models::inspectModel (slow: reads every weight) on its own worker thread and reports
// the result back on the thread the loader lives on (the GUI thread) through queued signals.
//
// One load runs at a time. A request made while a load is running supersedes it: the running load
// cannot be interrupted, so it finishes, its result is dropped, and the newest request starts next
// (requests in between are dropped without running). Every request that is not superseded ends in
// exactly one loaded() or failed().
//
// The destructor stops the thread with quit()/wait(); when a load is running it waits for that load
// to end (inspectModel has no cancel). Use from the GUI thread only.
#pragma once

#include <QMetaType>
#include <QObject>
#include <QString>
#include <memory>

#include "api/types.h"

Q_DECLARE_METATYPE(ranklab::api::ModelSummary)

namespace ranklab::app {

class WorkerThread;

class ModelLoader : public QObject {
  Q_OBJECT

 public:
  explicit ModelLoader(QObject* parent = nullptr);
  ~ModelLoader() override;

  // Starts loading `path` (Hugging Face directory, .gguf, or llama2.c .bin; `tokenizerPath` is an
  // optional llama2.c tokenizer.bin). Supersedes any request still running or waiting.
  void load(const QString& path, const QString& tokenizerPath = {});

  // True from load() until the newest request's loaded()/failed() has been emitted.
  bool isLoading() const { return m_loading; }
  // The path of the newest request (empty before the first).
  QString currentPath() const { return m_current.path; }
  // Wall time in milliseconds the last reported load spent in inspectModel (on the worker thread).
  qint64 lastLoadMs() const { return m_lastLoadMs; }

 signals:
  // Emitted by load() when a request is accepted (it may wait for a superseded load to finish).
  void started(const QString& path);
  void loaded(const ranklab::api::ModelSummary& summary);
  // `message` is core's error text (it names the file); `path` is the requested path.
  void failed(const QString& path, const QString& message);

 private:
  struct Request {
    quint64 id = 0;
    QString path;
    QString tokenizerPath;
  };

  void startOnWorker(const Request& request);
  void onWorkerDone(quint64 id, bool ok, const ranklab::api::ModelSummary& summary, const QString& error,
                    qint64 elapsedMs);

  std::unique_ptr<WorkerThread> m_worker;
  quint64 m_nextId = 0;
  Request m_current;          // the newest request
  bool m_loading = false;     // the newest request has not been reported yet
  bool m_workerBusy = false;  // the worker is inside inspectModel (for m_current or an older request)
  qint64 m_lastLoadMs = 0;
};

}  // namespace ranklab::app
