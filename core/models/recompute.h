// Activation checkpointing: a piece of a forward pass whose intermediate activations are not kept for
// the backward pass but computed again during it (Chen et al. 2016, "Training Deep Nets with Sublinear
// Memory Cost"; PyTorch's torch.utils.checkpoint). Training through the whole model (ARS, RankDyna,
// fine-tuning) then holds one decoder layer's activations at a time, plus each layer's input, for about
// one more forward pass of compute.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace ranklab::models {

class LanguageModel;

using RecomputedFn = std::function<at::Tensor(const std::vector<at::Tensor>& inputs)>;

// fn(inputs), computed without autograd history; when a gradient reaches the result, fn runs again
// on detached copies of `inputs` with gradients on, and the gradient flows back through that
// recomputation into `inputs` and into the leaf tensors fn reads directly (parameters: their .grad
// accumulates as in an ordinary backward pass). `leaves` names those leaves so that the result
// requires a gradient when only they do. fn must be deterministic (no dropout) and must read every
// non-leaf tensor with autograd history through `inputs`. `inputs` are kept until the backward pass.
// Without grad mode, or when nothing needs a gradient, this is fn(inputs).
at::Tensor recomputed(RecomputedFn fn, const std::vector<at::Tensor>& inputs,
                      const std::vector<at::Tensor>& leaves);

// The mean next-token cross-entropy of a causal LM, ids [B, T] -> targets [B, T] (-100 ignored), as
// cross_entropy(model.forward(ids), targets) computes it, with every decoder layer recomputed in the
// backward pass and the LM head and loss computed (and recomputed) in chunks of tokens, so that no
// [B, T, vocab] tensor is ever held. `chunkTokens` tokens per chunk (0: as many as make 8 Mi
// logits). Throws ranklab::Error for an encoder.
at::Tensor recomputedNextTokenLoss(LanguageModel& model, const at::Tensor& ids, const at::Tensor& targets,
                                   int64_t chunkTokens = 0);

}  // namespace ranklab::models
