// Internal: per-architecture factories behind createModel (models/*.cpp only).
#pragma once

#include <memory>
#include <string>

#include "models/language_model.h"
#include "models/weight_loader.h"

namespace ranklab::models {

std::shared_ptr<LanguageModel> createLlama(const io::ModelConfig& config, bool initialise);
std::shared_ptr<LanguageModel> createGpt2(const io::ModelConfig& config, bool initialise);
std::shared_ptr<LanguageModel> createBert(const io::ModelConfig& config, bool initialise);

namespace detail {
// A weight of `shape`: N(0, std^2) when initialising, else uninitialised.
inline at::Tensor initialWeight(at::IntArrayRef shape, bool initialise, double stddev) {
  return initialise ? at::randn(shape).mul_(stddev) : at::empty(shape);
}
}  // namespace detail

namespace detail {
// Loads "<prefix>.weight" ([out, in]) and, when the op has one, "<prefix>.bias" into a dense op.
void loadDense(const WeightLoader& w, OpSlot& slot, const std::string& prefix);
}  // namespace detail

}  // namespace ranklab::models
