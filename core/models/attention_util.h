// Internal attention helpers shared by the architectures (models/*.cpp only).
#pragma once

#include <ATen/ATen.h>

#include "models/language_model.h"

namespace ranklab::models::detail {

// Causal self-attention: queries q [B, H, Tq, D] at positions past..past+Tq-1 over keys and values
// k/v [B, Hkv, past+Tq, D] (grouped-query attention when Hkv < H: query head h reads kv head
// h / (H / Hkv)), each query seeing the keys at or before its own position; returns [B, H, Tq, D].
// Differentiable. On LibTorch 2.x it is scaled_dot_product_attention (its fused kernel when
// past == 0); on 1.13 the products skip the keys a query may not see (about half the work of a full
// masked product over a long window) and never copy keys for grouped heads (models/attention.cpp).
// Without autograd on 1.13 (with CBLAS) the result is a transposed view of a [B, Tq, H, D] buffer,
// which mergeHeads reads without a copy: reshape, do not view, anything else made from it.
at::Tensor causalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past);

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
