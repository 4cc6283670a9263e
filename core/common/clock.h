// Wall-clock timestamps as RankLab stores them. Torch-free; thread-safe.
#pragma once

#include <string>

namespace ranklab {

// The current time in ISO 8601 UTC with second resolution: "2026-11-27T21:04:05Z".
std::string utcNow();

}  // namespace ranklab
