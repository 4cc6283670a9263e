#include "app/worker_thread.h"

#include <QMetaObject>
#include <QtGlobal>
#include <exception>

namespace ranklab::app {

WorkerThread::WorkerThread(const QString& name, QObject* parent) : QObject(parent) {
  m_thread.setObjectName(name);
  m_context = new QObject;
  m_context->moveToThread(&m_thread);
  connect(&m_thread, &QThread::finished, m_context, &QObject::deleteLater);
  m_thread.start();
}

WorkerThread::~WorkerThread() {
  // quit() alone would not drop the tasks already queued: the event loop may deliver a whole batch of
  // posted events before it looks at the quit request. The flag makes every task not yet started a
  // no-op, and makes deliver() post nothing that this object's destruction would only discard.
  m_stopping.store(true);
  m_thread.quit();
  m_thread.wait();
}

void WorkerThread::post(std::function<void()> task, ErrorHandler onError) {
  QMetaObject::invokeMethod(
      m_context, [this, task = std::move(task), onError = std::move(onError)] { run(task, onError); },
      Qt::QueuedConnection);
}

void WorkerThread::deliver(std::function<void()> fn) {
  if (m_stopping.load()) return;
  QMetaObject::invokeMethod(
      this,
      [this, fn = std::move(fn)] {
        // Runs inside the owner's event loop: nothing may escape into it.
        try {
          fn();
        } catch (const std::exception& e) {
          qWarning("%s: a callback on the owner's thread threw: %s", qPrintable(m_thread.objectName()),
                   e.what());
        } catch (...) {
          qWarning("%s: a callback on the owner's thread threw", qPrintable(m_thread.objectName()));
        }
      },
      Qt::QueuedConnection);
}

void WorkerThread::run(const std::function<void()>& task, const ErrorHandler& onError) {
  if (m_stopping.load()) return;
  QString message;
  try {
    task();
    return;
  } catch (const std::exception& e) {
    message = QString::fromStdString(e.what());
  } catch (...) {
    message = QStringLiteral("unknown error");
  }
  // This is the thread's entry for the task: reporting must not throw out of it either.
  try {
    if (onError) {
      deliver([onError, message] { onError(message); });
    } else {
      deliver([this, message] { emit taskFailed(message); });
    }
  } catch (...) {
    qWarning("%s: a task failed and the failure could not be reported", qPrintable(m_thread.objectName()));
  }
}

}  // namespace ranklab::app
