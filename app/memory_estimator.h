// MemoryEstimator: the memory a job will need, for the job panel. It runs jobs::planJob (the model's
// headers and tokenizer, never its weights; `ranklab-cli compress --plan`) on its own worker thread and
// reports the newest request's estimate on the GUI thread.
//
// A request made while an estimate runs supersedes it: the running one finishes, its result is
// dropped, and the newest request runs next (requests in between are dropped without running). Each
// request that is not superseded ends in exactly one estimated() or failed(). Use from the GUI thread.
#pragma once

#include <QObject>
#include <QString>
#include <memory>

#include "api/job.h"

namespace ranklab::app {

class WorkerThread;

class MemoryEstimator : public QObject {
  Q_OBJECT

 public:
  explicit MemoryEstimator(QObject* parent = nullptr);
  ~MemoryEstimator() override;  // waits for a running estimate and drops its result

  void estimate(const api::JobSpec& spec);

 signals:
  // `summary`: one line (the peak, its stage and what dominates it, the memory available);
  // `table`: formatPlan's table; `tooLarge`: the peak exceeds the memory available now.
  void estimated(const QString& summary, const QString& table, bool tooLarge);
  // planJob refused the spec or could not read the model: core's message (it names the file).
  void failed(const QString& message);

 private:
  struct Result {
    QString summary, table;
    bool tooLarge = false;
  };
  void startOnWorker();

  std::unique_ptr<WorkerThread> m_worker;
  api::JobSpec m_newest;
  quint64 m_newestId = 0;
  bool m_pending = false;     // m_newest has not been started
  bool m_workerBusy = false;  // an estimate runs on the worker
};

}  // namespace ranklab::app
