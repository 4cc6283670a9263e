// Small in-memory inputs for the method tests (ARS, RankDyna): a seeded tiny GPT-2, random token
// windows for it, and op descriptions for ledger arithmetic. Header-only.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "api/types.h"
#include "lowrank/calibration.h"
#include "models/language_model.h"
#include "support/tiny_config.h"

namespace ranklab::test {

constexpr int64_t kTinyGpt2Vocab = 61;

// A 2-layer GPT-2 (hidden 32, MLP 64, context 32, vocab 61) from `seed`, in eval mode.
inline std::shared_ptr<models::LanguageModel> tinyGpt2Model(uint64_t seed) {
  torch::manual_seed(seed);
  auto m = models::createModel(tinyConfig(io::Architecture::Gpt2, {kTinyGpt2Vocab, 32, 2, 2, 0, 64, 32}));
  m->eval();
  return m;
}

// `count` windows of `length` token ids drawn uniformly from [0, vocab).
inline std::vector<lowrank::CalibrationSample> randomSamples(int64_t count, int64_t length, int64_t vocab,
                                                             uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<lowrank::CalibrationSample> out(static_cast<size_t>(count));
  for (auto& s : out)
    for (int64_t t = 0; t < length; ++t)
      s.ids.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab)));
  return out;
}

inline api::OpInfo opInfo(const std::string& name, int64_t in, int64_t out) {
  api::OpInfo o;
  o.name = name;
  o.inFeatures = in;
  o.outFeatures = out;
  return o;
}

}  // namespace ranklab::test
