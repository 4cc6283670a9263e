// WorkerThread: one long-lived worker thread for the app layer, in Qt's worker pattern (a context
// object moved to a QThread, `QThread::finished -> deleteLater`, `quit(); wait();` on destruction).
// JobController, ModelLoader and TeachSession run their core calls on one each.
//
// - post(task) runs `task` on the worker thread. Tasks run one at a time, in the order post() was
//   called (from one thread; posts racing from several threads run in the order they were queued).
// - post(task, onDone, onError) also hands what `task` returned to `onDone` on the owner's thread.
// - deliver(fn) queues `fn` to run on the owner's thread (the thread this object lives on, normally
//   the GUI thread); a task calls it to send intermediate results. Everything sent back to the owner
//   (deliver(), onDone, onError, taskFailed) arrives in the order it was sent.
// - Anything a task throws (a std::exception or anything else) is caught on the worker thread and
//   reported exactly once on the owner's thread: to the post's `onError` when one was given, else
//   through taskFailed(). The message is what() of a std::exception, "unknown error" otherwise. The
//   thread goes on serving the next task. Callbacks on the owner's thread should not throw; if one does,
//   the exception is caught there and logged with qWarning, so none crosses the event loop.
// - The destructor (owner's thread) lets the running task finish and waits for it (tasks that can be
//   cancelled should be cancelled first, by their own token), drops the tasks that have not started,
//   and drops every callback not yet run. Callbacks may therefore capture the owner's `this` as long
//   as the owner destroys its WorkerThread before the members those callbacks touch.
//
// Thread-safety: post() and deliver() may be called from any thread, tasks included, until the
// destructor starts. Construction and destruction on the owner's thread.
#pragma once

#include <QObject>
#include <QString>
#include <QThread>
#include <atomic>
#include <functional>
#include <type_traits>
#include <utility>

namespace ranklab::app {

class WorkerThread : public QObject {
  Q_OBJECT

 public:
  using ErrorHandler = std::function<void(const QString& message)>;

  // Starts the thread, named `name` (seen in debuggers and `top -H`).
  explicit WorkerThread(const QString& name, QObject* parent = nullptr);
  ~WorkerThread() override;

  // Runs `task` on the worker thread after every task posted before it. If it throws, `onError`
  // runs on the owner's thread with the message (taskFailed() is emitted instead when `onError` is
  // empty).
  void post(std::function<void()> task, ErrorHandler onError = {});

  // Runs `task` on the worker thread, then `onDone` on the owner's thread with what it returned (by
  // value, so the result type must be copyable; `onDone()` with no argument for a void task). If
  // `task` throws, `onDone` does not run and the error is reported as by post(task, onError). Pass
  // `{}` as `onError` to report through taskFailed(); it has no default, so that post(task, onError)
  // always means the overload above.
  template <typename Task, typename Done>
  void post(Task task, Done onDone, ErrorHandler onError) {
    using Result = std::decay_t<std::invoke_result_t<Task&>>;
    post(
        [this, task = std::move(task), onDone = std::move(onDone)]() mutable {
          if constexpr (std::is_void_v<Result>) {
            task();
            deliver(std::move(onDone));
          } else {
            deliver([onDone = std::move(onDone), result = task()]() mutable { onDone(std::move(result)); });
          }
        },
        std::move(onError));
  }

  // Runs `fn` on the owner's thread, after everything sent back to it before.
  void deliver(std::function<void()> fn);

  // True when called from the worker thread (from inside a task).
  bool isWorkerThread() const { return QThread::currentThread() == &m_thread; }

 signals:
  // A task posted without an `onError` threw; `message` says what.
  void taskFailed(const QString& message);

 private:
  void run(const std::function<void()>& task, const ErrorHandler& onError);

  QThread m_thread;
  QObject* m_context = nullptr;  // lives on m_thread; deleted by deleteLater when m_thread finishes
  std::atomic<bool> m_stopping{false};
};

}  // namespace ranklab::app
