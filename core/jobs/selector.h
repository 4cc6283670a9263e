// The rank selectors a job can use (ALGORITHMS.md sections 2-4), parsed once from JobSpec::selector.
// Torch-free header.
#pragma once

#include <string>

namespace ranklab::jobs {

enum class Selector { Uniform, Energy, Manual, Sensitivity, Ars, RankDyna };

// "uniform" | "energy" | "manual" | "sensitivity" | "ars" | "rankdyna"; throws ranklab::Error naming
// the expected values for anything else.
Selector parseSelector(const std::string& name);
std::string selectorName(Selector selector);

// The ranks follow from the spec alone (uniform, manual): known before any decomposition, so a
// randomized SVD can compute just the triplets they keep.
bool ranksKnownUpFront(Selector selector);
// The selector itself needs calibration samples (sensitivity search, ARS), whatever the decomposition.
bool needsCalibration(Selector selector);
// The selector trains the whole model (ARS, RankDyna): it needs every op's full-rank factors at once.
bool trainsThroughModel(Selector selector);

}  // namespace ranklab::jobs
