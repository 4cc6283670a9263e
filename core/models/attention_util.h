// Internal attention helpers shared by the architectures (models/*.cpp only).
#pragma once

#include <ATen/ATen.h>

#include "models/language_model.h"

namespace ranklab::models::detail {

// Additive causal mask [T, past + T] for queries at positions past..past+T-1; undefined when T == 1
// (a single new token may attend to everything before it).
inline at::Tensor causalMask(int64_t t, int64_t past, const at::TensorOptions& options) {
  if (t == 1) return {};
  auto mask = at::full({t, past + t}, -std::numeric_limits<float>::infinity(), options);
  return at::triu(mask, past + 1);
}

// [B, T, H*D] -> [B, H, T, D]
inline at::Tensor splitHeads(const at::Tensor& x, int64_t heads) {
  const auto b = x.size(0), t = x.size(1);
  return x.view({b, t, heads, x.size(2) / heads}).transpose(1, 2);
}

// [B, H, T, D] -> [B, T, H*D]
inline at::Tensor mergeHeads(const at::Tensor& x) {
  const auto b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3);
  return x.transpose(1, 2).contiguous().view({b, t, h * d});
}

// Appends k/v [B, H, T, D] for `layer` to the cache (when given) and returns the full keys/values.
inline std::pair<at::Tensor, at::Tensor> appendCache(KVCache* cache, size_t layer, at::Tensor k,
                                                     at::Tensor v) {
  if (!cache) return {k, v};
  if (cache->keys.size() <= layer) {
    cache->keys.resize(layer + 1);
    cache->values.resize(layer + 1);
  }
  if (cache->keys[layer].defined()) {
    k = at::cat({cache->keys[layer], k}, 2);
    v = at::cat({cache->values[layer], v}, 2);
  }
  cache->keys[layer] = k;
  cache->values[layer] = v;
  return {k, v};
}

}  // namespace ranklab::models::detail
