#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/compat.h"
#include "models/attention_util.h"

namespace ranklab::models::detail {

namespace {

// Additive mask [m, m]: -inf above the diagonal (row i may see columns 0..i).
at::Tensor upperMask(int64_t m, const at::TensorOptions& options) {
  return at::triu(at::full({m, m}, -std::numeric_limits<float>::infinity(), options), 1);
}

}  // namespace

at::Tensor causalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past) {
  const int64_t heads = q.size(1), tq = q.size(2), kvHeads = k.size(1), rep = heads / kvHeads;
#if RANKLAB_TORCH_AT_LEAST(2, 0)
  // Query head h reads kv head h / rep (HF repeat_kv, llama2.c kv_mul).
  const at::Tensor kk = rep > 1 ? k.repeat_interleave(rep, 1) : k;
  const at::Tensor vv = rep > 1 ? v.repeat_interleave(rep, 1) : v;
  if (tq == 1) return compat::attention(q, kk, vv, {});
  if (past == 0) return at::scaled_dot_product_attention(q, kk, vv, {}, 0.0, /*is_causal=*/true);
  // is_causal aligns the mask top-left; with a cache the queries sit at the end of the keys.
  return compat::attention(q, kk, vv,
                           at::cat({at::zeros({tq, past}, q.options()), upperMask(tq, q.options())}, 1));
#else
  // The rep query heads that read one kv head (query head h reads kv head h / rep, as HF's repeat_kv
  // and llama2.c's kv_mul) are stacked as rows of one product, so keys and values are never copied.
  // Queries go in blocks of `rows` positions; block [r, r + m) sees keys [0, past + r + m), and of
  // those only the last m need the mask. A block's scores stay near 4 MB (float32; larger blocks
  // measured slower); blocks of at least 64 positions keep the op count low.
  const int64_t b = q.size(0), d = q.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const at::Tensor qs = (q * scale).view({b, kvHeads, rep, tq, d});
  const at::Tensor kt = k.transpose(-2, -1);
  const int64_t keys = k.size(2);
  const int64_t rows =
      std::min(tq, std::max<int64_t>(64, (int64_t{1} << 20) / std::max<int64_t>(1, b * heads * keys)));
  // Under autograd an in-place add into a view would make backward copy the whole scores, so there
  // each block adds its rows of the whole causal mask [Tq, keys] out of place; without autograd only
  // the block's last square is masked, in place.
  const bool grad = at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad());
  const at::Tensor mask =
      grad ? at::triu(at::full({tq, keys}, -std::numeric_limits<float>::infinity(), q.options()), past + 1)
      : rows > 1 ? upperMask(rows, q.options())
                 : at::Tensor();
  std::vector<at::Tensor> parts;
  for (int64_t r = 0; r < tq; r += rows) {
    const int64_t m = std::min(rows, tq - r), seen = past + r + m;
    at::Tensor scores =
        at::matmul(qs.narrow(3, r, m).reshape({b, kvHeads, rep * m, d}), kt.narrow(-1, 0, seen));
    if (grad) {
      scores = (scores.view({b, kvHeads, rep, m, seen}) + mask.narrow(0, r, m).narrow(1, 0, seen))
                   .view({b, kvHeads, rep * m, seen});
    } else if (m > 1) {
      scores.view({b, kvHeads, rep, m, seen})
          .narrow(-1, seen - m, m)
          .add_(m == rows ? mask : upperMask(m, q.options()));
    }
    parts.push_back(at::matmul(at::softmax(scores, -1), v.narrow(2, 0, seen)).view({b, kvHeads, rep, m, d}));
  }
  return (parts.size() == 1 ? parts.front() : at::cat(parts, 3)).view({b, heads, tq, d});
#endif
}

}  // namespace ranklab::models::detail
