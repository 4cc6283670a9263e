// Measuring ASVD's sensitivity table (ALGORITHMS.md section 4): for each op and each ratio, the
// calibration perplexity (taskPerplexity) with only that op truncated to floor(ratio * min(M, N))
// of its top triplets. The rank search over the table is select::sensitivityRanks.
#pragma once

#include <vector>

#include "common/progress.h"
#include "lowrank/calibration.h"
#include "lowrank/decompose.h"
#include "select/selectors.h"

namespace ranklab::lowrank {

// The default grid {0.1, 0.2, ..., 0.9}.
std::vector<double> defaultSensitivityRatios();

// Costs ops x ratios evaluations of `samples`. Every op is restored before returning (also on
// cancel or error). Progress phase "sensitivity", one unit per evaluation.
select::SensitivityTable measureSensitivity(models::LanguageModel& model,
                                            const std::vector<OpDecomposition>& decompositions,
                                            const std::vector<CalibrationSample>& samples,
                                            const std::vector<double>& ratios, int64_t padId = 0,
                                            ProgressSink* progress = nullptr,
                                            const CancelToken* cancel = nullptr);

}  // namespace ranklab::lowrank
