// Torch-free value types that cross from core to the UI (widgets/app) and the CLI.
// Plain data; copyable; no invariants beyond what each field says.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ranklab::api {

// One compressible linear op, y = x W (+ b), W of shape inFeatures (M) x outFeatures (N).
struct OpInfo {
  std::string name;         // stable name, e.g. "layers.3.attn.q"
  int layer = 0;            // transformer block index
  std::string kind;         // "q", "k", "v", "o", "gate", "up", "down"
  int64_t inFeatures = 0;   // M
  int64_t outFeatures = 0;  // N
  bool hasBias = false;
  int64_t params() const { return inFeatures * outFeatures; }
};

// The uniform selector's rank for an M x N op at budget p (ALGORITHMS.md section 0): the same
// fraction p of the op's own parameters, k = min(min(M, N), floor(p M N / (M + N))). The one
// definition: select::uniformRanksAtBudget and the Ranks view's baseline both use it.
inline int64_t uniformRankAtBudget(int64_t m, int64_t n, double keep) {
  if (m <= 0 || n <= 0 || !(keep >= 0.0)) return 0;
  const double k = static_cast<double>(m) * static_cast<double>(n) * keep / static_cast<double>(m + n);
  const int64_t full = m < n ? m : n;
  return k >= static_cast<double>(full) ? full : static_cast<int64_t>(k);
}

struct ModelSummary {
  std::string architecture;  // "gpt2", "llama", "bert"
  std::string source;        // file or directory it was loaded from
  std::string format;        // "hf-safetensors", "gguf", "llama2c"
  int64_t totalParams = 0;
  int64_t compressibleParams = 0;  // T_total: sum of M*N over ops
  int64_t layers = 0;
  int64_t hidden = 0;
  int64_t heads = 0;
  int64_t kvHeads = 0;
  int64_t vocab = 0;
  int64_t context = 0;
  int64_t numLabels = 0;  // > 0 when a classification head is present
  std::vector<OpInfo> ops;
};

// Perplexity over a text: exp(meanNll) over `tokens` predicted tokens.
struct PerplexityResult {
  int64_t documents = 0;
  int64_t tokens = 0;    // predicted tokens counted
  int64_t bytes = 0;     // UTF-8 bytes of the evaluated documents
  double meanNll = 0.0;  // nats per predicted token
  double perplexity = 0.0;
  double bitsPerByte = 0.0;
};

struct AccuracyResult {
  int64_t examples = 0;
  int64_t correct = 0;
  double accuracy = 0.0;  // correct / examples
};

}  // namespace ranklab::api
