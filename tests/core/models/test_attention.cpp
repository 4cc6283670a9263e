// Causal self-attention (models/attention.cpp) against the plain formula it replaces: every query
// head's keys and values repeated from its kv head, softmax(q k^T / sqrt(D) + mask) v with the full
// additive mask. Shapes cover one block and several, a key cache (past > 0), one new token, and
// grouped-query heads; values and gradients must agree to 1e-5 (absolute, float32), with autograd and
// in inference mode (on LibTorch 1.13 with CBLAS, its own path straight to the BLAS).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "models/attention_util.h"

using namespace ranklab;

namespace {

struct Shape {
  int64_t batch, heads, kvHeads, past, tq, dim;
};

at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past) {
  const int64_t rep = q.size(1) / k.size(1), tq = q.size(2), keys = k.size(2);
  const auto kk = k.repeat_interleave(rep, 1), vv = v.repeat_interleave(rep, 1);
  // Query i sits at position past + i and may see keys 0..past + i.
  const auto pos = torch::arange(tq).unsqueeze(1) + past, key = torch::arange(keys).unsqueeze(0);
  const auto mask = torch::zeros({tq, keys}).masked_fill(key > pos, -std::numeric_limits<float>::infinity());
  const auto scores = torch::matmul(q, kk.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  return torch::matmul(torch::softmax(scores + mask, -1), vv);
}

class CausalAttention : public ::testing::TestWithParam<Shape> {};

TEST_P(CausalAttention, MatchesTheMaskedFormulaInValueAndGradient) {
  const Shape s = GetParam();
  torch::manual_seed(7);
  const int64_t keys = s.past + s.tq;
  auto q = torch::randn({s.batch, s.heads, s.tq, s.dim}, torch::requires_grad());
  auto k = torch::randn({s.batch, s.kvHeads, keys, s.dim}, torch::requires_grad());
  auto v = torch::randn({s.batch, s.kvHeads, keys, s.dim}, torch::requires_grad());
  const auto weights = torch::randn({s.batch, s.heads, s.tq, s.dim});

  const auto out = models::detail::causalAttention(q, k, v, s.past);
  ASSERT_EQ(out.sizes(), q.sizes());
  (out * weights).sum().backward();
  const auto gq = q.grad().clone(), gk = k.grad().clone(), gv = v.grad().clone();
  for (auto* t : {&q, &k, &v}) t->mutable_grad() = at::Tensor();

  const auto expected = reference(q, k, v, s.past);
  (expected * weights).sum().backward();
  EXPECT_LT((out - expected).abs().max().item<double>(), 1e-5) << "output";
  EXPECT_LT((gq - q.grad()).abs().max().item<double>(), 1e-5) << "d/dq";
  EXPECT_LT((gk - k.grad()).abs().max().item<double>(), 1e-5) << "d/dk";
  EXPECT_LT((gv - v.grad()).abs().max().item<double>(), 1e-5) << "d/dv";

  // Inference mode (evaluation, generation) takes the same path without autograd.
  torch::InferenceMode guard;
  const auto inference = models::detail::causalAttention(q.detach(), k.detach(), v.detach(), s.past);
  EXPECT_LT((inference - expected.detach()).abs().max().item<double>(), 1e-5) << "inference mode";

  // The models hand over heads split from [B, T, H*D] (a transposed view); inference writes its output
  // in that layout. Values stored with a non-unit last stride are read too.
  const auto asModels = [](const at::Tensor& t) {
    return t.detach().transpose(1, 2).contiguous().transpose(1, 2);
  };
  const auto strided = torch::empty({s.batch, s.kvHeads, keys, s.dim, 2}).select(4, 1).copy_(v.detach());
  const auto split = models::detail::causalAttention(asModels(q), asModels(k), strided, s.past);
  EXPECT_LT((split - expected.detach()).abs().max().item<double>(), 1e-5) << "split heads";
}

// Training hands over the same layouts: q and k split from [B, T, H*D], values with a non-unit last
// stride. The gradients reach those layouts' storage and match the formula's (1e-5 absolute).
TEST_P(CausalAttention, GradientsReachTheModelsStridedLayouts) {
  const Shape s = GetParam();
  torch::manual_seed(8);
  const int64_t keys = s.past + s.tq;
  const auto q = torch::randn({s.batch, s.heads, s.tq, s.dim}, torch::requires_grad());
  const auto k = torch::randn({s.batch, s.kvHeads, keys, s.dim}, torch::requires_grad());
  const auto v = torch::randn({s.batch, s.kvHeads, keys, s.dim}, torch::requires_grad());
  const auto weights = torch::randn({s.batch, s.heads, s.tq, s.dim});
  (reference(q, k, v, s.past) * weights).sum().backward();

  auto qBase = q.detach().transpose(1, 2).contiguous().requires_grad_();
  auto kBase = k.detach().transpose(1, 2).contiguous().requires_grad_();
  auto vBase = torch::zeros({s.batch, s.kvHeads, keys, s.dim, 2});
  vBase.select(4, 1).copy_(v.detach());
  vBase.requires_grad_();
  const auto out = models::detail::causalAttention(qBase.transpose(1, 2), kBase.transpose(1, 2),
                                                   vBase.select(4, 1), s.past);
  (out * weights).sum().backward();
  EXPECT_LT((qBase.grad().transpose(1, 2) - q.grad()).abs().max().item<double>(), 1e-5) << "d/dq";
  EXPECT_LT((kBase.grad().transpose(1, 2) - k.grad()).abs().max().item<double>(), 1e-5) << "d/dk";
  EXPECT_LT((vBase.grad().select(4, 1) - v.grad()).abs().max().item<double>(), 1e-5) << "d/dv";
  EXPECT_EQ(vBase.grad().select(4, 0).abs().max().item<double>(), 0.0) << "d/dv outside the values";
}

// With autograd on LibTorch 1.13 with CBLAS, blocks of 32 queries (33 queries: a whole block and one
// of a single query); without CBLAS, 2 x 8 heads over 600 keys make blocks of 109 queries. Inference blocks
// (about 64k scores per window, at least 16 queries) give one block (33 queries), five whole ones (90) and
// several with a short last one (600, 150, 130).
INSTANTIATE_TEST_SUITE_P(Shapes, CausalAttention,
                         ::testing::Values(Shape{2, 4, 4, 0, 33, 8},      // one block
                                           Shape{2, 8, 8, 0, 600, 16},    // several blocks
                                           Shape{2, 8, 2, 0, 600, 8},     // grouped heads, several blocks
                                           Shape{1, 4, 2, 37, 150, 8},    // a cache before the queries
                                           Shape{3, 6, 3, 500, 90, 4},    // a long cache, grouped heads
                                           Shape{2, 4, 1, 20, 1, 8},      // one new token, one kv head
                                           Shape{1, 2, 2, 0, 1, 8},       // one token, no cache
                                           Shape{2, 4, 2, 0, 130, 40}));  // wide heads

// Scores hundreds apart: most softmax weights underflow to zero and the softmax is nearly one-hot;
// inference mode still matches the formula (1e-5 absolute) with no NaN from the masked keys.
TEST(CausalAttentionSoftmax, PeakedScoresUnderflowToZeroWeights) {
  torch::manual_seed(9);
  const auto q = 40.0 * torch::randn({1, 2, 70, 8}), k = torch::randn({1, 2, 70, 8}),
             v = torch::randn({1, 2, 70, 8});
  torch::InferenceMode guard;
  const auto out = models::detail::causalAttention(q, k, v, 0);
  EXPECT_LT((out - reference(q, k, v, 0)).abs().max().item<double>(), 1e-5);
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
}

// Keys shorter than past + Tq, values of another length, or another head size: an error, never a read
// past the end of a tensor (inference takes its own path, which reads raw memory).
TEST(CausalAttentionShapes, InconsistentInputsThrowInInferenceMode) {
  torch::InferenceMode guard;
  const auto q = torch::randn({1, 4, 10, 8});
  EXPECT_THROW(models::detail::causalAttention(q, torch::randn({1, 2, 6, 8}), torch::randn({1, 2, 6, 8}), 0),
               c10::Error);
  EXPECT_THROW(models::detail::causalAttention(q, torch::randn({1, 2, 10, 8}), torch::randn({1, 2, 7, 8}), 0),
               c10::Error);
  EXPECT_THROW(
      models::detail::causalAttention(q, torch::randn({1, 2, 10, 4}), torch::randn({1, 2, 10, 4}), 0),
      c10::Error);
}

}  // namespace
