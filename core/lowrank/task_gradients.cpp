#include "lowrank/task_gradients.h"

#include <ATen/ThreadLocalState.h>
#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace ranklab::lowrank {

namespace {

// Threads that outlive a step: a new thread per step pays for LibTorch's per-thread set-up (its
// thread-local state, a malloc arena brought back into use) every time. Grows to the most parts any
// step has asked for; callers from several threads share it. Idle threads wait on a condition
// variable; they are joined at exit.
class StepPool {
 public:
  static StepPool& instance() {
    static StepPool pool;
    return pool;
  }
  // Runs every task, `tasks[0]` on the calling thread, and returns when all have finished. Tasks must
  // not throw.
  void run(std::vector<std::function<void()>>& tasks) {
    std::mutex doneMutex;
    std::condition_variable doneCv;
    size_t pending = tasks.size() - 1;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      while (m_threads.size() < tasks.size() - 1) m_threads.emplace_back([this] { loop(); });
      for (size_t i = 1; i < tasks.size(); ++i)
        m_queue.push_back([&, i] {
          tasks[i]();
          std::lock_guard<std::mutex> done(doneMutex);
          if (--pending == 0) doneCv.notify_one();
        });
    }
    m_cv.notify_all();
    tasks[0]();
    std::unique_lock<std::mutex> lock(doneMutex);
    doneCv.wait(lock, [&] { return pending == 0; });
  }
  ~StepPool() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    for (auto& t : m_threads) t.join();
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [this] { return m_stop || !m_queue.empty(); });
        if (m_queue.empty()) return;  // stopping, nothing left
        task = std::move(m_queue.front());
        m_queue.pop_front();
      }
      task();
    }
  }
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_queue;
  std::vector<std::thread> m_threads;
  bool m_stop = false;
};

// OpenBLAS's thread count, when the BLAS LibTorch loaded is OpenBLAS (looked up at run time: the
// system's libblas.so.3 may be another implementation).
using SetThreads = void (*)(int);
using GetThreads = int (*)();
std::mutex g_blasMutex;
int g_blasDepth = 0, g_blasThreads = 0;

void blasThreads(bool single) {
  static const auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  static const auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (!set || !get) return;
  std::lock_guard<std::mutex> lock(g_blasMutex);
  if (single && g_blasDepth++ == 0) {
    g_blasThreads = get();
    set(1);
  } else if (!single && --g_blasDepth == 0) {
    set(g_blasThreads);
  }
}

}  // namespace

SplitStepScope::SplitStepScope(int64_t workers) {
  if (workers <= 1) return;
  m_keep = std::make_unique<KeepFreedBlocks>();
  blasThreads(true);
}

SplitStepScope::~SplitStepScope() {
  if (m_keep) blasThreads(false);
}

int64_t stepWorkers(const models::LanguageModel& model, size_t batchSize, int64_t requested) {
  if (!model.device().is_cpu() || model.activationCheckpointing()) return 1;
  const int64_t want =
      requested > 0 ? requested : static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  return std::clamp<int64_t>(want, 1, std::max<int64_t>(1, static_cast<int64_t>(batchSize)));
}

double taskLossBackward(models::LanguageModel& model, const std::vector<const CalibrationSample*>& batch,
                        const std::vector<at::Tensor>& leaves, int64_t padId, int64_t workers) {
  const int64_t parts =
      std::clamp<int64_t>(workers, 1, std::max<int64_t>(1, static_cast<int64_t>(batch.size())));
  if (parts == 1) {
    at::Tensor loss = taskLoss(model, batch, padId);
    loss.backward();
    return loss.item<double>();
  }
  // A part's weight: its share of the batch's targets (the next tokens of a causal LM, the examples of
  // a classifier), so that the weighted sum of the parts' mean losses is the batch's mean loss.
  const bool causal = model.isCausal();
  auto targets = [&](size_t i) { return causal ? static_cast<double>(batch[i]->ids.size()) - 1.0 : 1.0; };
  double total = 0.0;
  for (size_t i = 0; i < batch.size(); ++i) total += targets(i);

  struct Part {
    std::vector<const CalibrationSample*> samples;
    double weight = 0.0, loss = 0.0;
    std::vector<at::Tensor> grads;
    std::exception_ptr error;
  };
  std::vector<Part> work(static_cast<size_t>(parts));
  const size_t n = batch.size();
  for (size_t p = 0; p < work.size(); ++p) {
    const size_t begin = p * n / work.size(), end = (p + 1) * n / work.size();
    for (size_t i = begin; i < end; ++i) {
      work[p].samples.push_back(batch[i]);
      work[p].weight += targets(i);
    }
    work[p].weight /= total;
  }
  // Grad mode and the rest of LibTorch's thread-local state go with each part to its thread.
  std::vector<at::Tensor> wanted;
  for (const auto& leaf : leaves)
    if (leaf.requires_grad()) wanted.push_back(leaf);
  const at::ThreadLocalState state;
  auto run = [&](Part& part) {
    try {
      at::ThreadLocalStateGuard guard(state);
      const at::Tensor loss = taskLoss(model, part.samples, padId) * part.weight;
      if (loss.requires_grad() && !wanted.empty())
        part.grads = torch::autograd::grad({loss}, wanted, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                           /*allow_unused=*/true);
      part.loss = loss.item<double>();
    } catch (...) {
      part.error = std::current_exception();
    }
  };
  std::vector<std::function<void()>> tasks;
  for (auto& part : work) tasks.emplace_back([&run, &part] { run(part); });
  StepPool::instance().run(tasks);
  for (const auto& part : work)
    if (part.error) std::rethrow_exception(part.error);

  torch::NoGradGuard noGrad;
  double loss = 0.0;
  for (size_t i = 0; i < wanted.size(); ++i) {
    at::Tensor leaf = wanted[i];
    at::Tensor sum;
    for (const auto& part : work) {
      if (part.grads.empty()) continue;
      const at::Tensor& g = part.grads[i];
      if (!g.defined()) continue;
      if (sum.defined())
        sum.add_(g);
      else  // the sum becomes the leaf's .grad: its own memory, laid out as the leaf (as backward() does)
        sum = g.is_view() || g.strides() != leaf.strides() ? at::empty_like(leaf).copy_(g) : g;
    }
    if (!sum.defined()) continue;
    if (leaf.grad().defined())
      leaf.mutable_grad().add_(sum);
    else
      leaf.mutable_grad() = sum;
  }
  for (const auto& part : work) loss += part.loss;
  return loss;
}

}  // namespace ranklab::lowrank
