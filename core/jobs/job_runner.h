// JobRunner: one compression job from spec to stored run (DESIGN.md "core modules", jobs), run as
// the stages of jobs/job.h: load -> evaluate before -> calibrate and decompose (cached) -> select
// ranks (ARS trains here) -> apply -> fine-tune -> evaluate after (same data) -> export -> store.
// Synchronous; call it on a worker thread. Torch-free header.
// Exactly one outcome, never an exception:
//  - succeeded: the run is stored complete (status "succeeded");
//  - cancelled: CancelToken set; the run's rows are deleted in one transaction, nothing half-written
//    stays in the store (an export directory is written only after the last cancellation point);
//  - failed: a clear message naming the file or op; the run stays stored with status "failed" and
//    that message (unless the store itself failed, which the message then says).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/job.h"
#include "common/progress.h"

namespace ranklab::jobs {

// Live observation for views that draw a running job. Called on the job's thread; keep it cheap.
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void runStarted(const api::RunRecord&) {}
  virtual void seriesPoint(const api::SeriesPoint&) {}
  virtual void opsChosen(const std::vector<api::OpResult>&) {}
  // ARS: every logged step's mask (the series points of that step arrive through seriesPoint).
  virtual void maskFrame(const api::MaskFrame&) {}
};

// One runner may run many jobs (a sweep, the GUI's queue): it remembers each dense model's
// "before" evaluation (keyed by the model's and the data's SHA-256 and every evaluation option), so
// the next job on the same model and data reuses it instead of evaluating the same model again.
class JobRunner {
 public:
  api::JobOutcome run(const api::JobSpec& spec, ProgressSink& progress, CancelToken& cancel,
                      JobObserver* observer = nullptr);

 private:
  std::map<std::string, std::vector<api::EvalPoint>> m_before;  // jobs::BeforeCache
};

}  // namespace ranklab::jobs
