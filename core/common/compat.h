// The one place where LibTorch version differences live. Core code calls these wrappers instead
// of the version-specific APIs, so it compiles against Debian's LibTorch 1.13 (CPU) and current
// CUDA LibTorch 2.x releases alike.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>

#include <tuple>

namespace ranklab::compat {

#define RANKLAB_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// Thin SVD: A [.., M, N] -> U [.., M, K], S [.., K] (descending), Vh [.., K, N], K = min(M, N).
// 1.13's at::linalg_svd needs the driver argument spelled out; 2.x keeps it optional.
inline std::tuple<at::Tensor, at::Tensor, at::Tensor> svd(const at::Tensor& a) {
  return at::linalg_svd(a, /*full_matrices=*/false, /*driver=*/c10::nullopt);
}

// Scaled dot-product attention is a fused kernel from 2.0 on; 1.13 gets the explicit formula.
// q [B, H, Tq, D], k/v [B, H, Tk, D]; mask is additive [Tq, Tk] or [B, 1, Tq, Tk] (may be undefined).
inline at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& additiveMask) {
#if RANKLAB_TORCH_AT_LEAST(2, 0)
  return at::scaled_dot_product_attention(q, k, v, additiveMask.defined() ? c10::optional<at::Tensor>(additiveMask)
                                                                          : c10::optional<at::Tensor>());
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  if (additiveMask.defined()) scores = scores + additiveMask;
  return at::matmul(at::softmax(scores, -1), v);
#endif
}

inline const char* torchVersion() { return TORCH_VERSION; }

}  // namespace ranklab::compat
