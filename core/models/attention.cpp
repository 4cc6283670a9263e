#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/compat.h"
#include "models/attention_util.h"

#if RANKLAB_HAVE_CBLAS && !RANKLAB_TORCH_AT_LEAST(2, 0)
#include <cblas.h>
#include <torch/csrc/autograd/custom_function.h>
#define RANKLAB_ATTENTION_BLAS 1
#endif

namespace ranklab::models::detail {

namespace {

// Additive mask [m, m]: -inf above the diagonal (row i may see columns 0..i).
at::Tensor upperMask(int64_t m, const at::TensorOptions& options) {
  return at::triu(at::full({m, m}, -std::numeric_limits<float>::infinity(), options), 1);
}

#if RANKLAB_ATTENTION_BLAS
// Causal attention on float32 CPU tensors with the products going straight to the BLAS that LibTorch
// itself calls. LibTorch 1.13's CPU bmm makes the same calls but wraps each matrix in three selects, a
// conj check and a handful of argument checks; at stories260K's head size of 8 those cost about as
// much as the products (50k ops per evaluation).
// - The scaled queries are laid out [B, Hkv, T, rep, D], so that a block's queries of every head
//   sharing a kv head are the rows of one product with that kv head's keys (never repeated).
// - One window and one block of queries at a time: block [r, r + m) multiplies only the keys
//   [0, past + r + m) it may see, and only the block's last square is masked.
// - The output is written in the [B, T, H, D] layout mergeHeads wants (returned as a [B, H, T, D] view).
//
// Without autograd (evaluation, generation, calibration) a block's scores (about 256 KB) stay in the
// core's cache through the product, the mask, the softmax and the product with the values; tuning on
// stories260K's evaluation, blocks of 1 MB took 1.03-1.05x as long, and at GPT-2's widths the block
// size made no measurable difference. Under autograd (training) every block's probabilities are kept
// for the backward pass, BlasAttention below.
struct Blocks {
  int64_t rows = 0;       // queries per block (the last may have fewer)
  int64_t perWindow = 0;  // floats of probabilities per window: the sum of heads x m x seen
  int64_t largest = 0;    // floats of the largest block
};

Blocks blocksOf(int64_t tq, int64_t past, int64_t heads, int64_t rows) {
  Blocks b;
  b.rows = rows;
  for (int64_t r = 0; r < tq; r += rows) {
    const int64_t m = std::min(rows, tq - r), size = heads * m * (past + r + m);
    b.perWindow += size;
    b.largest = std::max(b.largest, size);
  }
  return b;
}

// The scaled queries in [B, Hkv, T, rep, D].
at::Tensor groupedQueries(const at::Tensor& q, int64_t kvHeads, double scale) {
  const int64_t b = q.size(0), heads = q.size(1), tq = q.size(2), d = q.size(3), rep = heads / kvHeads;
  at::Tensor qs = at::empty({b, kvHeads, tq, rep, d}, q.options());
  at::Tensor byHead = qs.permute({0, 1, 3, 2, 4});
  at::mul_out(byHead, q.reshape({b, kvHeads, rep, tq, d}), at::scalar_tensor(scale, q.options()));
  return qs;
}

// The products read rows of D floats at stride(2): any other layout is copied first.
at::Tensor readable(const at::Tensor& t) {
  return t.stride(3) != 1 || t.stride(2) < t.size(3) ? t.contiguous() : t;
}

// softmax(qs k^T + causal mask) v into `out` ([B, T, H, D]). `probs`: where each block's probabilities
// go (at the offsets blocksOf counts: window, block, kv head, row (query, head), key), or undefined
// to reuse one block's space.
void attendBlas(const at::Tensor& qs, const at::Tensor& k, const at::Tensor& v, int64_t past,
                const Blocks& blocks, at::Tensor& probs, at::Tensor& out) {
  const int64_t b = qs.size(0), kvHeads = qs.size(1), tq = qs.size(2), rep = qs.size(3), d = qs.size(4);
  const int64_t heads = kvHeads * rep;
  const bool keep = probs.defined();
  if (!keep) probs = at::empty({blocks.largest}, qs.options());
  const float *qp = qs.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
  float *op = out.data_ptr<float>(), *pp = probs.data_ptr<float>();
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < b; ++i) {
    float* sp = keep ? pp + i * blocks.perWindow : pp;
    for (int64_t r = 0; r < tq; r += blocks.rows) {
      const int64_t m = std::min(blocks.rows, tq - r), seen = past + r + m, group = rep * m * seen;
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
      at::Tensor block = at::from_blob(sp, {heads * m, seen}, qs.options());
      at::_softmax_out(block, block, -1, false);
      for (int64_t g = 0; g < kvHeads; ++g)
        for (int64_t h = 0; h < rep; ++h)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, seen, 1.0f, sp + g * group + h * seen,
                      rep * seen, vp + i * v.stride(0) + g * v.stride(1), v.stride(2), 0.0f,
                      op + ((i * tq + r) * heads + g * rep + h) * d, heads * d);
      if (keep) sp += heads * m * seen;
    }
  }
}

at::Tensor causalAttentionBlas(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past) {
  const int64_t b = q.size(0), heads = q.size(1), tq = q.size(2), d = q.size(3), kvHeads = k.size(1);
  const at::Tensor kr = readable(k), vr = readable(v);
  const at::Tensor qs = groupedQueries(q, kvHeads, 1.0 / std::sqrt(static_cast<double>(d)));
  at::Tensor out = at::empty({b, tq, heads, d}, q.options());
  const int64_t rows = std::min(tq, std::max<int64_t>(16, (int64_t{1} << 16) / (heads * k.size(2))));
  at::Tensor probs;
  attendBlas(qs, kr, vr, past, blocksOf(tq, past, heads, rows), probs, out);
  return out.transpose(1, 2);
}

// Training's causal attention as one autograd node: the forward pass above, keeping every block's
// probabilities P, and a backward pass of the same blocks, per window, block and kv head:
//   dV += P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dP * P)) (ATen's softmax backward),
//   dQs = dS K,    dK += dS^T Qs,
// with dQ = dQs / sqrt(D). Masked scores have P = 0, so dS is 0 there. LibTorch's own graph for the
// same attention is about 20 ops per layer, with a bmm that calls the BLAS once per window and head
// wrapped in selects, and a full [T, T] mask added to every block's scores.
class BlasAttention : public torch::autograd::Function<BlasAttention> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k,
                            const at::Tensor& v, int64_t past) {
    const int64_t b = q.size(0), heads = q.size(1), tq = q.size(2), d = q.size(3), kvHeads = k.size(1);
    const at::Tensor kr = readable(k), vr = readable(v);
    const at::Tensor qs = groupedQueries(q, kvHeads, 1.0 / std::sqrt(static_cast<double>(d)));
    // Blocks of 32 queries: skipping the keys a block cannot see saves about a third of the work of a
    // window of 128 over one block, and smaller blocks cost more in calls than they save.
    const Blocks blocks = blocksOf(tq, past, heads, std::min<int64_t>(tq, kTrainingRows));
    at::Tensor probs = at::empty({b * blocks.perWindow}, q.options());
    at::Tensor out = at::empty({b, tq, heads, d}, q.options());
    attendBlas(qs, kr, vr, past, blocks, probs, out);
    ctx->save_for_backward({qs, kr, vr, probs});
    ctx->saved_data["past"] = past;
    return out.transpose(1, 2);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &qs = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3];
    const int64_t past = ctx->saved_data["past"].toInt();
    const int64_t b = qs.size(0), kvHeads = qs.size(1), tq = qs.size(2), rep = qs.size(3), d = qs.size(4);
    const int64_t heads = kvHeads * rep, keys = k.size(2);
    const Blocks blocks = blocksOf(tq, past, heads, std::min<int64_t>(tq, kTrainingRows));
    // dO in the queries' grouped layout, so that a block's rows of one kv head are one matrix.
    at::Tensor dOut = at::empty({b, kvHeads, tq, rep, d}, qs.options());
    dOut.permute({0, 1, 3, 2, 4}).copy_(grads[0].reshape({b, kvHeads, rep, tq, d}));
    at::Tensor dQs = at::empty_like(qs);
    at::Tensor dK = at::zeros({b, kvHeads, keys, d}, qs.options());
    at::Tensor dV = at::zeros({b, kvHeads, keys, d}, qs.options());
    at::Tensor dP = at::empty({blocks.largest}, qs.options());
    at::Tensor dS = at::empty({blocks.largest}, qs.options());
    const float *qp = qs.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
    const float *pp = probs.data_ptr<float>(), *gp = dOut.data_ptr<float>();
    float *dqp = dQs.data_ptr<float>(), *dkp = dK.data_ptr<float>(), *dvp = dV.data_ptr<float>();
    float *dpp = dP.data_ptr<float>(), *dsp = dS.data_ptr<float>();
    for (int64_t i = 0; i < b; ++i) {
      const float* sp = pp + i * blocks.perWindow;
      for (int64_t r = 0; r < tq; r += blocks.rows) {
        const int64_t m = std::min(blocks.rows, tq - r), seen = past + r + m, group = rep * m * seen;
        for (int64_t g = 0; g < kvHeads; ++g) {
          const int64_t rowsAt = ((i * kvHeads + g) * tq + r) * rep * d,
                        keysAt = (i * kvHeads + g) * keys * d;
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rep * m, seen, d, 1.0f, gp + rowsAt, d,
                      vp + i * v.stride(0) + g * v.stride(1), v.stride(2), 0.0f, dpp + g * group, seen);
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, seen, d, rep * m, 1.0f, sp + g * group, seen,
                      gp + rowsAt, d, 1.0f, dvp + keysAt, d);
        }
        const at::Tensor p = at::from_blob(const_cast<float*>(sp), {heads * m, seen}, qs.options());
        at::Tensor ds = at::from_blob(dsp, {heads * m, seen}, qs.options());
        at::_softmax_backward_data_out(ds, at::from_blob(dpp, {heads * m, seen}, qs.options()), p, -1,
                                       at::kFloat);
        for (int64_t g = 0; g < kvHeads; ++g) {
          const int64_t rowsAt = ((i * kvHeads + g) * tq + r) * rep * d,
                        keysAt = (i * kvHeads + g) * keys * d;
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rep * m, d, seen, 1.0f, dsp + g * group,
                      seen, kp + i * k.stride(0) + g * k.stride(1), k.stride(2), 0.0f, dqp + rowsAt, d);
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, seen, d, rep * m, 1.0f, dsp + g * group, seen,
                      qp + rowsAt, d, 1.0f, dkp + keysAt, d);
        }
        sp += heads * m * seen;
      }
    }
    // dQ = dQs / sqrt(D), back in [B, H, T, D].
    at::Tensor dQ = at::empty({b, kvHeads, rep, tq, d}, qs.options());
    at::mul_out(dQ, dQs.permute({0, 1, 3, 2, 4}),
                at::scalar_tensor(1.0 / std::sqrt(static_cast<double>(d)), qs.options()));
    return {dQ.view({b, heads, tq, d}), dK, dV, at::Tensor()};
  }

 private:
  static constexpr int64_t kTrainingRows = 32;
};
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
  if (onCpuFloat(q) && onCpuFloat(k) && onCpuFloat(v) && tq > 0 && kvHeads > 0 && heads % kvHeads == 0 &&
      k.dim() == 4 && v.sizes() == k.sizes() && k.size(0) == q.size(0) && k.size(2) == past + tq &&
      k.size(3) == q.size(3))
    return at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())
               ? BlasAttention::apply(q, k, v, past)
               : causalAttentionBlas(q, k, v, past);
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
