// Activation checkpointing (models/recompute.h): the recomputed next-token loss against the loss
// of the whole graph (lowrank::taskLoss with checkpointing off), in value and in every gradient that
// training reads: the parameters' (fine-tuning), gates fed from outside the model (ARS's masks come
// from a hypernetwork) and non-leaf tensors with retained gradients (RankDyna's sensitivities).
// Tolerances: 1e-5 absolute on the loss, 1e-5 relative to the largest entry on each gradient
// (float32; the two graphs sum in different orders). The graph test checks that the memory is
// really given back: the loss's graph holds one node per layer and per head chunk, not the layers'.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <set>

#include "lowrank/calibration.h"
#include "models/language_model.h"
#include "models/low_rank_linear.h"
#include "models/recompute.h"
#include "support/tiny_config.h"
#include "support/tiny_models.h"

using namespace ranklab;

namespace {

std::vector<lowrank::CalibrationSample> windows(int64_t vocab) {
  auto s = test::randomSamples(3, 20, vocab, 11);
  s[1].ids.resize(13);  // a shorter window: padded targets are ignored
  return s;
}

std::vector<const lowrank::CalibrationSample*> pointers(const std::vector<lowrank::CalibrationSample>& s) {
  std::vector<const lowrank::CalibrationSample*> out;
  for (const auto& x : s) out.push_back(&x);
  return out;
}

double relativeError(const at::Tensor& a, const at::Tensor& b) {
  const double scale = std::max(b.abs().max().item<double>(), 1e-12);
  return (a - b).abs().max().item<double>() / scale;
}

// The loss and the gradients of `tracked` with checkpointing off, then on.
struct Pair {
  double plain = 0, recomputed = 0;
  std::vector<at::Tensor> plainGrads, recomputedGrads;
};

Pair lossTwice(models::LanguageModel& model, const std::vector<lowrank::CalibrationSample>& samples,
               const std::function<std::vector<at::Tensor>()>& tracked,
               const std::function<void()>& beforeEach = {}) {
  Pair p;
  for (bool on : {false, true}) {
    if (beforeEach) beforeEach();
    model.setActivationCheckpointing(on);
    for (auto& t : model.parameters()) t.mutable_grad() = at::Tensor();
    const auto loss = lowrank::taskLoss(model, pointers(samples));
    loss.backward();
    (on ? p.recomputed : p.plain) = loss.item<double>();
    auto& grads = on ? p.recomputedGrads : p.plainGrads;
    for (const auto& t : tracked()) grads.push_back(t.grad().defined() ? t.grad().clone() : at::Tensor());
  }
  model.setActivationCheckpointing(false);
  return p;
}

void expectSame(const Pair& p, const std::string& what) {
  EXPECT_NEAR(p.recomputed, p.plain, 1e-5) << what << ": loss";
  ASSERT_EQ(p.plainGrads.size(), p.recomputedGrads.size());
  for (size_t i = 0; i < p.plainGrads.size(); ++i) {
    ASSERT_TRUE(p.plainGrads[i].defined()) << what << ": tensor " << i << " got no gradient";
    ASSERT_TRUE(p.recomputedGrads[i].defined()) << what << ": tensor " << i << " lost its gradient";
    EXPECT_LT(relativeError(p.recomputedGrads[i], p.plainGrads[i]), 1e-5) << what << ": tensor " << i;
  }
}

// LLaMA with grouped-query heads; GPT-2 has none.
int64_t kvHeads(io::Architecture arch) { return arch == io::Architecture::Llama ? 2 : 0; }

class Recompute : public ::testing::TestWithParam<io::Architecture> {};

// Fine-tuning: every parameter trains; every gradient must match.
TEST_P(Recompute, EveryParametersGradientMatchesTheWholeGraph) {
  torch::manual_seed(3);
  auto model = models::createModel(test::tinyConfig(GetParam(), {67, 24, 3, 4, kvHeads(GetParam()), 40, 32}));
  model->eval();
  const auto samples = windows(67);
  const auto params = model->parameters();
  expectSame(lossTwice(*model, samples, [&] { return params; }), "parameters");
}

// ARS: frozen factors, gates computed from trainable tensors outside the model through one shared
// computation (ARS's hypernetwork output is one tensor, sliced per op). The gates must be handed to
// the recomputation as inputs: a recomputation that read the originals would back-propagate through
// the shared computation once per layer, which autograd refuses. They are restored after it.
TEST_P(Recompute, GatesFromOutsideTheModelGetTheirGradientsAndAreRestored) {
  torch::manual_seed(4);
  auto model = models::createModel(test::tinyConfig(GetParam(), {67, 24, 3, 4, kvHeads(GetParam()), 40, 32}));
  model->eval();
  std::vector<std::shared_ptr<models::LowRankLinear>> ops;
  for (const auto& e : model->ops().entries()) {
    const auto w = e.slot->impl()->denseWeight().detach();  // [out, in]
    auto op = std::make_shared<models::LowRankLinear>(
        w.t().contiguous(), torch::eye(w.size(0)),
        e.slot->impl()->bias().defined() ? e.slot->impl()->bias().detach().clone() : at::Tensor());
    e.slot->replace(op);
    ops.push_back(op);
  }
  for (auto& p : model->parameters()) p.requires_grad_(false);
  std::vector<at::Tensor> logits;
  for (const auto& op : ops) logits.push_back(torch::randn({op->rank()}, torch::requires_grad()));
  std::vector<at::Tensor> gates;
  const auto setGates = [&] {
    for (auto& l : logits) l.mutable_grad() = at::Tensor();
    gates.clear();
    const auto all = torch::sigmoid(1.5 * torch::cat(logits));
    int64_t offset = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
      gates.push_back(all.narrow(0, offset, ops[i]->rank()));
      offset += ops[i]->rank();
      ops[i]->setGate(gates.back());
    }
  };
  const auto p = lossTwice(
      *model, windows(67), [&] { return logits; }, setGates);
  expectSame(p, "gate logits");
  for (size_t i = 0; i < ops.size(); ++i)
    EXPECT_TRUE(ops[i]->gate().is_same(gates[i])) << "op " << i << "'s gate was not restored";
}

INSTANTIATE_TEST_SUITE_P(Architectures, Recompute,
                         ::testing::Values(io::Architecture::Llama, io::Architecture::Gpt2),
                         [](const auto& info) { return io::architectureName(info.param); });

// A head split into several chunks (3 tokens each) sums to the same mean over the scored tokens.
TEST(Recompute, ChunkedHeadMatchesTheWholeLoss) {
  torch::manual_seed(5);
  auto model = models::createModel(test::tinyConfig(io::Architecture::Llama, {67, 24, 2, 4, 2, 40, 32}));
  const auto ids = torch::randint(67, {2, 10}, torch::kLong);
  auto targets = torch::randint(67, {2, 10}, torch::kLong);
  targets[1].narrow(0, 6, 4).fill_(-100);
  const auto plain = torch::nn::functional::cross_entropy(
      model->forward(ids).reshape({-1, 67}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  plain.backward();
  const auto embedGrad = model->parameters().front().grad().clone();
  model->zero_grad();
  const auto chunked = models::recomputedNextTokenLoss(*model, ids, targets, 3);
  chunked.backward();
  EXPECT_NEAR(chunked.item<double>(), plain.item<double>(), 1e-5);
  EXPECT_LT(relativeError(model->parameters().front().grad(), embedGrad), 1e-5);
}

// The graph the loss keeps: nodes reachable from its grad_fn. Checkpointed, the layers' and the
// head's own operations are not in it (each layer and chunk is one node), so their saved
// activations are not either.
size_t graphNodes(const at::Tensor& loss) {
  std::set<const torch::autograd::Node*> seen;
  std::vector<torch::autograd::Node*> stack{loss.grad_fn().get()};
  while (!stack.empty()) {
    auto* n = stack.back();
    stack.pop_back();
    if (!n || !seen.insert(n).second) continue;
    for (const auto& e : n->next_edges()) stack.push_back(e.function.get());
  }
  return seen.size();
}

TEST(Recompute, TheLossGraphHoldsOneNodePerLayerNotTheLayersActivations) {
  torch::manual_seed(6);
  const int64_t layers = 4;
  auto model = models::createModel(test::tinyConfig(io::Architecture::Gpt2, {67, 24, layers, 4, 0, 40, 32}));
  const auto samples = windows(67);
  const auto plain = lowrank::taskLoss(*model, pointers(samples));
  model->setActivationCheckpointing(true);
  const auto recomputed = lowrank::taskLoss(*model, pointers(samples));
  const size_t perLayerPlain = graphNodes(plain) / layers;
  // Embedding (a handful of nodes and one AccumulateGrad per parameter), one node per layer, one
  // per head chunk, the sum and the division.
  const size_t parameters = model->parameters().size();
  EXPECT_LE(graphNodes(recomputed), parameters + 2 * layers + 12) << "plain graph: " << graphNodes(plain);
  EXPECT_GT(perLayerPlain, 20u);  // the whole graph does keep every layer's operations
  // Without grad mode nothing is recomputed: the same value, no graph.
  torch::NoGradGuard noGrad;
  EXPECT_NEAR(lowrank::taskLoss(*model, pointers(samples)).item<double>(), recomputed.item<double>(), 1e-5);
}

}  // namespace
