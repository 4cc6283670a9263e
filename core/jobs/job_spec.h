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

}  // namespace ranklab::jobs
