// Internal: per-architecture factories behind createModel (models/*.cpp only).
#pragma once

#include <memory>
#include <string>

#include "common/error.h"
#include "models/language_model.h"
#include "models/weight_loader.h"

namespace ranklab::models {

std::shared_ptr<LanguageModel> createLlama(const io::ModelConfig& config, bool initialise);
std::shared_ptr<LanguageModel> createGpt2(const io::ModelConfig& config, bool initialise);
std::shared_ptr<LanguageModel> createBert(const io::ModelConfig& config, bool initialise);

namespace detail {
// Registers a dense op "layers.{layer}.{group}.{kind}" as submodule `kind` of `block` and in `ops`.
inline std::shared_ptr<OpSlot> addDenseOp(torch::nn::Module& block, OpRegistry& ops, int64_t layer,
                                          const char* group, const char* kind, int64_t in, int64_t out,
                                          bool bias, bool initialise) {
  auto slot = block.register_module(
      kind, std::make_shared<OpSlot>(std::make_shared<DenseLinear>(in, out, bias, initialise)));
  ops.add(api::OpInfo{"layers." + std::to_string(layer) + "." + group + "." + kind, static_cast<int>(layer),
                      kind, in, out, bias},
          slot);
  return slot;
}

// Throws ranklab::Error when `past + t` tokens do not fit the context.
inline void checkContext(int64_t past, int64_t t, int64_t maxPositions) {
  if (past + t > maxPositions)
    throw Error("input of " + std::to_string(past + t) + " tokens exceeds the model context of " +
                std::to_string(maxPositions));
}

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
