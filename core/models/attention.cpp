#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/compat.h"
#include "models/attention_util.h"

#if RANKLAB_HAVE_CBLAS && !RANKLAB_TORCH_AT_LEAST(2, 0)
#include <cblas.h>
#define RANKLAB_ATTENTION_BLAS 1
#endif

namespace ranklab::models::detail {

namespace {

// Additive mask [m, m]: -inf above the diagonal (row i may see columns 0..i).
at::Tensor upperMask(int64_t m, const at::TensorOptions& options) {
  return at::triu(at::full({m, m}, -std::numeric_limits<float>::infinity(), options), 1);
}

#if RANKLAB_ATTENTION_BLAS
// Causal attention without autograd, float32 on the CPU (evaluation, generation, calibration): the
// products go straight to the BLAS that LibTorch itself calls. LibTorch 1.13's CPU bmm makes the same
// calls but wraps each matrix in three selects, a conj check and a handful of argument checks; at
// stories260K's head size of 8 those cost about as much as the products (50k ops per evaluation).
// - The scaled queries are laid out [B, Hkv, T, rep, D], so that a block's queries of every head
//   sharing a kv head are the rows of one product with that kv head's keys.
// - One window and one block of queries at a time: the block's scores (about 256 KB, more where a
//   block's floor of 16 queries over many heads and keys applies) stay in the core's cache through the
//   product, the mask, the softmax and the product with the values. Tuning on stories260K's evaluation,
//   blocks of 1 MB took 1.03-1.05x as long; at GPT-2's widths the block size made no measurable difference.
// - The output is written in the [B, T, H, D] layout mergeHeads wants (returned as a [B, H, T, D] view).
at::Tensor causalAttentionBlas(const at::Tensor& q, at::Tensor k, at::Tensor v, int64_t past) {
  const int64_t b = q.size(0), heads = q.size(1), tq = q.size(2), d = q.size(3);
  const int64_t kvHeads = k.size(1), rep = heads / kvHeads;
  // The products read rows of D floats at stride(2): any other layout is copied first.
  if (k.stride(3) != 1 || k.stride(2) < d) k = k.contiguous();
  if (v.stride(3) != 1 || v.stride(2) < d) v = v.contiguous();
  at::Tensor qs = at::empty({b, kvHeads, tq, rep, d}, q.options());
  at::Tensor qsByHead = qs.permute({0, 1, 3, 2, 4});
  at::mul_out(qsByHead, q.reshape({b, kvHeads, rep, tq, d}),
              at::scalar_tensor(1.0 / std::sqrt(static_cast<double>(d)), q.options()));
  at::Tensor out = at::empty({b, tq, heads, d}, q.options());
  const int64_t rows = std::min(tq, std::max<int64_t>(16, (int64_t{1} << 16) / (heads * k.size(2))));
  at::Tensor scores = at::empty({heads * rows * k.size(2)}, q.options());
  const float *qp = qs.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
  float *op = out.data_ptr<float>(), *sp = scores.data_ptr<float>();
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < b; ++i)
    for (int64_t r = 0; r < tq; r += rows) {
      const int64_t m = std::min(rows, tq - r), seen = past + r + m, group = rep * m * seen;
      for (int64_t g = 0; g < kvHeads; ++g) {
        float* s = sp + g * group;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rep * m, seen, d, 1.0f,
                    qp + ((i * kvHeads + g) * tq + r) * rep * d, d, kp + i * k.stride(0) + g * k.stride(1),
                    k.stride(2), 0.0f, s, seen);
        // Row (j, h) is query r + j of the group's head h: it sees keys up to past + r + j.
        for (int64_t j = 0; j + 1 < m; ++j)
          for (int64_t h = 0; h < rep; ++h) {
            float* row = s + (j * rep + h) * seen;
            std::fill(row + seen - m + j + 1, row + seen, -inf);
          }
      }
      // A view made with from_blob, not narrow + view: at 5k blocks per evaluation those ops cost 5%.
      at::Tensor block = at::from_blob(sp, {kvHeads * rep * m, seen}, q.options());
      at::_softmax_out(block, block, -1, false);
      for (int64_t g = 0; g < kvHeads; ++g)
        for (int64_t h = 0; h < rep; ++h)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, seen, 1.0f, sp + g * group + h * seen,
                      rep * seen, vp + i * v.stride(0) + g * v.stride(1), v.stride(2), 0.0f,
                      op + ((i * tq + r) * heads + g * rep + h) * d, heads * d);
    }
  return out.transpose(1, 2);
}
#endif

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
#if RANKLAB_ATTENTION_BLAS
  // Only inputs it can read safely: shapes that disagree go on to the batched path, whose ops
  // throw with the shapes named.
  const auto onCpuFloat = [](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat;
  };
  if (!(at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) &&
      onCpuFloat(q) && onCpuFloat(k) && onCpuFloat(v) && tq > 0 && kvHeads > 0 && heads % kvHeads == 0 &&
      k.dim() == 4 && v.sizes() == k.sizes() && k.size(0) == q.size(0) && k.size(2) == past + tq &&
      k.size(3) == q.size(3))
    return causalAttentionBlas(q, k, v, past);
#endif
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
