// The op table of a model as run results at full rank: what the live views show for a job's ops
// before its ranks are chosen (the workbench's live run, the teaching mode's live ARS chapter).
#pragma once

#include <algorithm>
#include <vector>

#include "api/run.h"
#include "api/types.h"

namespace ranklab::app {

inline std::vector<api::OpResult> fullRankOps(const std::vector<api::OpInfo>& infos) {
  std::vector<api::OpResult> ops;
  for (size_t i = 0; i < infos.size(); ++i)
    ops.push_back(api::fullRankResult(infos[i], static_cast<int64_t>(i)));
  return ops;
}

}  // namespace ranklab::app
