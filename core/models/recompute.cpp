#include "models/recompute.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

#include "common/error.h"
#include "models/language_model.h"

namespace ranklab::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Closure : torch::CustomClassHolder {
  RecomputedFn fn;
  std::vector<bool> needsGrad;  // per input
};

// Inputs: the closure's inputs, then the leaves (only so that the result requires a gradient: the
// recomputation's own backward accumulates into them, and this function returns nothing for them).
struct RecomputedFunction : torch::autograd::Function<RecomputedFunction> {
  static variable_list forward(AutogradContext* ctx, at::TensorList tensors,
                               const c10::intrusive_ptr<Closure>& closure) {
    const std::vector<at::Tensor> inputs(
        tensors.begin(), tensors.begin() + static_cast<std::ptrdiff_t>(closure->needsGrad.size()));
    ctx->save_for_backward(inputs);
    ctx->saved_data["count"] = static_cast<int64_t>(tensors.size());
    ctx->saved_data["closure"] = c10::IValue::make_capsule(closure);
    return {closure->fn(inputs)};  // grad mode is off in a Function's forward
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto closure = c10::static_intrusive_pointer_cast<Closure>(ctx->saved_data["closure"].toCapsule());
    const auto saved = ctx->get_saved_variables();
    std::vector<at::Tensor> copies;
    copies.reserve(saved.size());
    for (size_t i = 0; i < saved.size(); ++i) {
      at::Tensor c = saved[i].detach();
      if (closure->needsGrad[i]) c.requires_grad_(true);
      copies.push_back(std::move(c));
    }
    at::Tensor out;
    {
      at::AutoGradMode on(true);
      out = closure->fn(copies);
    }
    if (out.requires_grad()) torch::autograd::backward({out}, {grads.at(0)});
    variable_list result;
    for (const auto& c : copies) result.push_back(c.requires_grad() ? c.grad() : at::Tensor());
    // The leaves (accumulated above) and the closure argument.
    const auto total = static_cast<size_t>(ctx->saved_data["count"].toInt());
    result.resize(total + 1);
    return result;
  }
};

}  // namespace

at::Tensor recomputed(RecomputedFn fn, const std::vector<at::Tensor>& inputs,
                      const std::vector<at::Tensor>& leaves) {
  const auto needs = [](const at::Tensor& t) { return t.defined() && t.requires_grad(); };
  const bool anyGrad =
      std::any_of(inputs.begin(), inputs.end(), needs) || std::any_of(leaves.begin(), leaves.end(), needs);
  if (!at::GradMode::is_enabled() || !anyGrad) return fn(inputs);
  auto closure = c10::make_intrusive<Closure>();
  closure->fn = std::move(fn);
  for (const auto& t : inputs) closure->needsGrad.push_back(needs(t));
  std::vector<at::Tensor> all = inputs;
  for (const auto& t : leaves)
    if (needs(t)) all.push_back(t);
  return RecomputedFunction::apply(at::TensorList(all), closure)[0];
}

namespace {

// Decoder layer `index` as a recomputed piece: its input h, then the transient inputs of its ops (the
// ARS gates), handed to the ops for the call and restored after it.
at::Tensor recomputedLayer(LanguageModel& model, int64_t index, const at::Tensor& h) {
  std::vector<std::shared_ptr<LinearOp>> ops;
  std::vector<size_t> counts;
  std::vector<at::Tensor> inputs{h};
  for (const auto& e : model.ops().entries()) {
    if (e.info.layer != index) continue;
    auto op = e.slot->impl();
    const auto transient = op->transientInputs();
    if (transient.empty()) continue;
    inputs.insert(inputs.end(), transient.begin(), transient.end());
    counts.push_back(transient.size());
    ops.push_back(std::move(op));
  }
  RecomputedFn fn = [&model, index, ops, counts](const std::vector<at::Tensor>& in) {
    std::vector<std::vector<at::Tensor>> previous;
    size_t next = 1;
    for (size_t i = 0; i < ops.size(); ++i) {
      previous.push_back(ops[i]->transientInputs());
      const auto from = in.begin() + static_cast<std::ptrdiff_t>(next);
      ops[i]->setTransientInputs({from, from + static_cast<std::ptrdiff_t>(counts[i])});
      next += counts[i];
    }
    struct Restore {
      const std::vector<std::shared_ptr<LinearOp>>& ops;
      std::vector<std::vector<at::Tensor>>& previous;
      ~Restore() {
        for (size_t i = 0; i < previous.size(); ++i) ops[i]->setTransientInputs(previous[i]);
      }
    } restore{ops, previous};
    return model.layer(index, in[0]);
  };
  return recomputed(std::move(fn), inputs, model.layerParameters(index));
}

}  // namespace

at::Tensor recomputedNextTokenLoss(LanguageModel& model, const at::Tensor& ids, const at::Tensor& targets,
                                   int64_t chunkTokens) {
  if (!model.isCausal()) throw Error("a next-token loss needs a causal language model");
  at::Tensor h = model.embed(ids);
  for (int64_t l = 0; l < model.config().numLayers; ++l) h = recomputedLayer(model, l, h);
  // The head and the loss in chunks of about 32 MB of logits; the sum over the chunks over the count
  // of scored tokens is cross_entropy's mean with ignore_index.
  const at::Tensor flat = h.reshape({-1, h.size(-1)});
  const at::Tensor flatTargets = targets.reshape({-1});
  const int64_t rows = flat.size(0);
  const int64_t chunk =
      chunkTokens > 0
          ? chunkTokens
          : std::max<int64_t>(1, (int64_t{8} << 20) / std::max<int64_t>(1, model.config().vocabSize));
  const auto headLeaves = model.headParameters();
  at::Tensor sum;
  for (int64_t start = 0; start < rows; start += chunk) {
    const int64_t n = std::min(chunk, rows - start);
    const at::Tensor t = flatTargets.narrow(0, start, n);
    RecomputedFn fn = [&model, t](const std::vector<at::Tensor>& in) {
      return at::cross_entropy_loss(model.head(in[0]), t, {}, at::Reduction::Sum, -100);
    };
    const at::Tensor part = recomputed(std::move(fn), {flat.narrow(0, start, n)}, headLeaves);
    sum = sum.defined() ? sum + part : part;
  }
  return sum / (flatTargets != -100).sum().to(sum.scalar_type());
}

}  // namespace ranklab::models
