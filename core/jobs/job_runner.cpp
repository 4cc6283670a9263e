#include "jobs/job_runner.h"

#include <torch/torch.h>

#include "jobs/job.h"

namespace ranklab::jobs {

namespace {

class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : m_old(at::get_num_threads()) {
    if (n > 0) at::set_num_threads(n);
  }
  ~ScopedThreads() { at::set_num_threads(m_old); }

 private:
  int m_old;
};

}  // namespace

api::JobOutcome JobRunner::run(const api::JobSpec& spec, ProgressSink& progress, CancelToken& cancel,
                               JobObserver* observer) {
  Job job(spec, progress, cancel, observer, &m_before);
  try {
    job.validate();
    ScopedThreads threads(spec.threads);
    job.load();
    job.describe();
    job.begin();
    job.evaluateBefore();
    job.sampleCalibration();
    job.decompose();
    job.selectRanks();
    job.apply();
    job.finetune();
    job.evaluateAfter();
    job.exportModel();
    return job.succeed();
  } catch (const Cancelled&) {
    return job.cancelled();
  } catch (const c10::Error& e) {
    return job.fail(e.what_without_backtrace());
  } catch (const std::exception& e) {  // ranklab::Error, JSON and filesystem errors: their message says it
    return job.fail(e.what());
  }
}

}  // namespace ranklab::jobs
