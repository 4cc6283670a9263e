// JobSpec <-> JSON (the run record's config, sweep grids, `ranklab-cli run SPEC.json`) and the
// spec's hash (sweeps find finished points by it).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/job.h"

namespace ranklab::jobs {

nlohmann::json toJson(const api::JobSpec& spec);
// Unknown keys are an error (a typo should not silently run the default); `context` names the source.
api::JobSpec jobSpecFromJson(const nlohmann::json& j, const std::string& context);
// SHA-256 of what determines the result (outputs, labels and the device left out; file paths made
// absolute, so a spec names the same job from any working directory).
std::string specHash(const api::JobSpec& spec);

// The calibration windows a job samples, with the spec's 0s resolved. Causal models: windows of
// calibLength tokens (default 128 for ARS and RankDyna, which train on them and whose step cost
// grows with the window, 512 for everything else, and never past the context `maxPositions`), and
// calibSamples of them (default: as many as make kDefaultCalibrationTokens). Classifiers: calibSamples
// examples (default 32) of up to the context each.
inline constexpr int64_t kDefaultCalibrationTokens = 16384;
struct CalibrationWindows {
  int64_t length = 0;  // tokens per window
  int64_t count = 0;   // windows (or examples)
};
CalibrationWindows calibrationWindows(const api::JobSpec& spec, int64_t maxPositions, bool causal);

}  // namespace ranklab::jobs
