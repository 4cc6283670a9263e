// Configs for tiny models built inside tests (header-only). Architecture conventions (activation,
// biases, norm eps) follow the real families, so tests exercise the same code paths.
#pragma once

#include <string>

#include "io/model_config.h"

namespace ranklab::test {

struct TinyShape {
  int64_t vocab = 50;
  int64_t hidden = 16;
  int64_t layers = 1;
  int64_t heads = 2;
  int64_t kvHeads = 0;  // 0 = heads (no GQA)
  int64_t ff = 32;
  int64_t context = 32;
};

// `labels` > 0 gives BERT a sequence-classification head with labels "L0", "L1", ...
inline io::ModelConfig tinyConfig(io::Architecture arch, const TinyShape& s, int64_t labels = 0) {
  io::ModelConfig c;
  c.arch = arch;
  c.modelType = io::architectureName(arch);
  c.vocabSize = s.vocab;
  c.hiddenSize = s.hidden;
  c.numLayers = s.layers;
  c.numHeads = s.heads;
  c.numKvHeads = s.kvHeads > 0 ? s.kvHeads : s.heads;
  c.intermediateSize = s.ff;
  c.maxPositions = s.context;
  switch (arch) {
    case io::Architecture::Gpt2:
      c.hiddenAct = "gelu_new";
      c.qkvBias = c.oBias = c.mlpBias = true;
      break;
    case io::Architecture::Bert:
      c.hiddenAct = "gelu";
      c.normEps = 1e-12;
      c.qkvBias = c.oBias = c.mlpBias = true;
      c.numLabels = labels;
      for (int64_t i = 0; i < labels; ++i) c.id2label.push_back("L" + std::to_string(i));
      break;
    case io::Architecture::Llama:
      c.hiddenAct = "silu";
      break;
  }
  return c;
}

}  // namespace ranklab::test
