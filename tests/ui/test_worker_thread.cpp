// WorkerThread, the app layer's one worker helper: tasks run on its thread (not the GUI thread) in post
// order, results and errors come back on the owner's thread, a throwing task is reported exactly once
// and the thread goes on, and the destructor joins a running task and drops what has not started.
#include <gtest/gtest.h>

#include <QApplication>
#include <QSignalSpy>
#include <QTest>
#include <QThread>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "app/worker_thread.h"
#include "tests/ui/ui_test_util.h"

using ranklab::app::WorkerThread;

namespace {

constexpr int kTimeoutMs = 10000;  // generous: a loaded 2-core machine running tests in parallel
// How long to watch for a second (unwanted) report after the first.
constexpr int kNoSecondReportMs = 200;

// What the tasks saw, written on the worker thread and read on the GUI thread.
struct Log {
  std::mutex mutex;
  std::vector<int> order;
  std::vector<QThread*> threads;
  void add(int i) {
    std::lock_guard<std::mutex> lock(mutex);
    order.push_back(i);
    threads.push_back(QThread::currentThread());
  }
};

}  // namespace

TEST(WorkerThread, RunsTasksOnItsThreadInPostOrder) {
  WorkerThread worker(QStringLiteral("test worker"));
  Log log;
  std::atomic<int> onWorker{0};
  constexpr int kTasks = 50;
  for (int i = 0; i < kTasks; ++i)
    worker.post([&log, &worker, &onWorker, i] {
      log.add(i);
      if (worker.isWorkerThread()) ++onWorker;
    });
  bool done = false;
  worker.post([] {}, [&done] { done = true; }, {});
  ASSERT_TRUE(QTest::qWaitFor([&done] { return done; }, kTimeoutMs));
  std::lock_guard<std::mutex> lock(log.mutex);
  ASSERT_EQ(int(log.order.size()), kTasks);
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(log.order[i], i);
  for (QThread* thread : log.threads) {
    EXPECT_NE(thread, qApp->thread());
    EXPECT_EQ(thread, log.threads.front());  // one thread serves every task
  }
  EXPECT_EQ(log.threads.front()->objectName(), QStringLiteral("test worker"));
  EXPECT_EQ(onWorker.load(), kTasks);
  EXPECT_FALSE(worker.isWorkerThread());
}

TEST(WorkerThread, ResultsAndDeliveriesArriveOnTheOwnersThreadInOrder) {
  WorkerThread worker(QStringLiteral("test worker"));
  std::vector<QString> seen;  // GUI thread only
  std::vector<QThread*> threads;
  worker.post(
      [&worker, &seen, &threads] {
        for (int i = 0; i < 3; ++i) {
          const QString step = QStringLiteral("step %1").arg(i);
          worker.deliver([&seen, &threads, step] {
            seen.push_back(step);
            threads.push_back(QThread::currentThread());
          });
        }
        return std::vector<int>{1, 2, 3};
      },
      [&](const std::vector<int>& result) {
        seen.push_back(QStringLiteral("done %1").arg(result.size()));
        threads.push_back(QThread::currentThread());
      },
      [&](const QString& message) { seen.push_back(QStringLiteral("error ") + message); });
  ASSERT_TRUE(QTest::qWaitFor([&seen] { return seen.size() >= 4; }, kTimeoutMs));
  QTest::qWait(kNoSecondReportMs);
  const std::vector<QString> expected = {"step 0", "step 1", "step 2", "done 3"};
  EXPECT_EQ(seen, expected);
  for (QThread* thread : threads) EXPECT_EQ(thread, qApp->thread());
}

TEST(WorkerThread, AThrowingTaskIsReportedOnceAndTheThreadGoesOn) {
  WorkerThread worker(QStringLiteral("test worker"));
  QSignalSpy failed(&worker, &WorkerThread::taskFailed);
  int doneCalls = 0;
  std::vector<QString> errors;
  QThread* errorThread = nullptr;
  worker.post([]() -> int { throw std::runtime_error("reading model.gguf: header ends at byte 12"); },
              [&doneCalls](int) { ++doneCalls; },
              [&](const QString& message) {
                errors.push_back(message);
                errorThread = QThread::currentThread();
              });
  // Not a std::exception, and no error handler: reported through taskFailed().
  worker.post([] { throw 42; });
  int after = 0;
  worker.post([] { return 7; }, [&after](int value) { after = value; }, {});
  ASSERT_TRUE(QTest::qWaitFor([&after] { return after != 0; }, kTimeoutMs));
  QTest::qWait(kNoSecondReportMs);
  EXPECT_EQ(after, 7);  // the thread served the task after the failures
  EXPECT_EQ(doneCalls, 0);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], QStringLiteral("reading model.gguf: header ends at byte 12"));
  EXPECT_EQ(errorThread, qApp->thread());
  ASSERT_EQ(failed.count(), 1);  // the handled failure did not reach the signal
  EXPECT_EQ(failed.at(0).at(0).toString(), QStringLiteral("unknown error"));
}

TEST(WorkerThread, AThrowingCallbackIsLoggedNotPropagated) {
  ranklab::test::WarningCollector warnings;
  WorkerThread worker(QStringLiteral("test worker"));
  bool next = false;
  worker.post([] {}, [] { throw std::runtime_error("callback bug"); }, {});
  worker.post([] {}, [&next] { next = true; }, {});
  ASSERT_TRUE(QTest::qWaitFor([&next] { return next; }, kTimeoutMs));
  ASSERT_EQ(warnings.warnings().size(), 1) << warnings.warnings().join(QLatin1Char('\n')).toStdString();
  EXPECT_TRUE(warnings.warnings().first().contains(QStringLiteral("callback bug")));
  EXPECT_TRUE(warnings.warnings().first().contains(QStringLiteral("test worker")));
}

TEST(WorkerThread, DestructorJoinsTheRunningTaskAndDropsTheRest) {
  auto worker = std::make_unique<WorkerThread>(QStringLiteral("test worker"));
  std::atomic<bool> started{false}, finished{false}, secondRan{false};
  int callbacks = 0;
  worker->post(
      [&] {
        started = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        finished = true;
        return 1;
      },
      [&callbacks](int) { ++callbacks; }, [&callbacks](const QString&) { ++callbacks; });
  worker->post([&secondRan] { secondRan = true; });
  ASSERT_TRUE(QTest::qWaitFor([&started] { return started.load(); }, kTimeoutMs));
  worker.reset();                // while the first task sleeps
  EXPECT_TRUE(finished.load());  // joined: the running task completed before the destructor returned
  EXPECT_FALSE(secondRan.load());
  QTest::qWait(kNoSecondReportMs);  // a result posted by the worker would be delivered here
  EXPECT_EQ(callbacks, 0);
}
