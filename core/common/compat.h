// The one place where LibTorch version differences live. Core code calls these wrappers instead
// of the version-specific APIs, so it compiles against Debian's LibTorch 1.13 (CPU) and current
// CUDA LibTorch 2.x releases alike.
#pragma once

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <tuple>
#include <vector>

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
  return at::scaled_dot_product_attention(
      q, k, v,
      additiveMask.defined() ? c10::optional<at::Tensor>(additiveMask) : c10::optional<at::Tensor>());
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto block = [&](const at::Tensor& qs, const at::Tensor& mask) {
    at::Tensor scores = at::matmul(qs, k.transpose(-2, -1)).mul_(scale);
    if (mask.defined()) scores = scores + mask;
    return at::matmul(at::softmax(scores, -1), v);
  };
  // The scores of all queries at once are [B, H, Tq, Tk]: 250 MB for 5 GPT-2 windows of 1024. Queries
  // go in blocks so that a block's scores stay near 16 MB (float32); each row's softmax is whole.
  const int64_t tq = q.size(-2), rowsCost = q.numel() / std::max<int64_t>(1, q.size(-1) * tq) * k.size(-2);
  const int64_t rows = std::max<int64_t>(1, (int64_t{1} << 23) / std::max<int64_t>(1, rowsCost));
  if (rows >= tq) return block(q, additiveMask);
  std::vector<at::Tensor> parts;
  for (int64_t r = 0; r < tq; r += rows) {
    const int64_t n = std::min(rows, tq - r);
    at::Tensor mask;
    if (additiveMask.defined())
      mask = additiveMask.size(-2) == 1 ? additiveMask : additiveMask.narrow(-2, r, n);
    parts.push_back(block(q.narrow(-2, r, n), mask));
  }
  return at::cat(parts, -2);
#endif
}

// Mixed precision for one scope: ops on `device` run under autocast to `dtype` (bf16 on the CPU,
// bf16/fp16 on CUDA), as torch.autocast does. 2.4 replaced the per-device setters by ones taking the
// device type. Not reentrant across threads: autocast state is thread-local, like LibTorch's.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, at::ScalarType dtype) : m_device(device) {
#if RANKLAB_TORCH_AT_LEAST(2, 4)
    m_wasEnabled = at::autocast::is_autocast_enabled(device);
    m_oldDtype = at::autocast::get_autocast_dtype(device);
    at::autocast::set_autocast_dtype(device, dtype);
    at::autocast::set_autocast_enabled(device, true);
#else
    const bool cpu = device == c10::DeviceType::CPU;
    m_wasEnabled = cpu ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
    m_oldDtype = cpu ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
    if (cpu) {
      at::autocast::set_autocast_cpu_dtype(dtype);
      at::autocast::set_cpu_enabled(true);
    } else {
      at::autocast::set_autocast_gpu_dtype(dtype);
      at::autocast::set_enabled(true);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if RANKLAB_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(m_device, m_wasEnabled);
    at::autocast::set_autocast_dtype(m_device, m_oldDtype);
#else
    if (m_device == c10::DeviceType::CPU) {
      at::autocast::set_cpu_enabled(m_wasEnabled);
      at::autocast::set_autocast_cpu_dtype(m_oldDtype);
    } else {
      at::autocast::set_enabled(m_wasEnabled);
      at::autocast::set_autocast_gpu_dtype(m_oldDtype);
    }
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType m_device;
  bool m_wasEnabled = false;
  at::ScalarType m_oldDtype = at::kFloat;
};

inline const char* torchVersion() { return TORCH_VERSION; }

}  // namespace ranklab::compat
