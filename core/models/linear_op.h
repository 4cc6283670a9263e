// Compressible linear ops and the registry that names them.
//
// Every compressible linear layer of a model sits in an OpSlot, which holds a replaceable
// implementation (a LinearOp). Models start with DenseLinear; later stages swap in other
// implementations (low-rank, masked) through OpRegistry::replace without the model knowing.
//
// Convention: y = x W + b in ALGORITHMS.md's notation (W is in x out, M x N). Implementations store
// torch's [out, in] layout internally and say so.
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

#include "api/types.h"

namespace ranklab::models {

// A linear map x [..., in] -> [..., out]. Subclasses are torch modules so their parameters show up
// in the owning model's parameters() and follow .to(device).
class LinearOp : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) = 0;
  virtual int64_t inFeatures() const = 0;
  virtual int64_t outFeatures() const = 0;
  // Number of stored parameters (weights and bias).
  virtual int64_t parameterCount() const = 0;
  // The dense weight this op computes, [out, in] (torch layout), and its bias (undefined if none).
  virtual at::Tensor denseWeight() const = 0;
  virtual at::Tensor bias() const = 0;
  // Tensors the op reads besides its parameters and buffers that may carry autograd history from
  // outside the model (LowRankLinear's gate). Activation checkpointing hands a recomputation
  // detached copies of them through setTransientInputs (same count and order) and restores them.
  virtual std::vector<at::Tensor> transientInputs() const { return {}; }
  virtual void setTransientInputs(const std::vector<at::Tensor>& /*inputs*/) {}
};

// `w` in the dtype of `x`. Weights stay in their stored precision (fp16, bf16 or fp32) and are
// converted per use, so a model holds one copy of them (DESIGN.md "Memory and scale").
inline at::Tensor computeAs(const at::Tensor& w, const at::Tensor& x) {
  return !w.defined() || w.scalar_type() == x.scalar_type() ? w : w.to(x.scalar_type());
}

// Plain dense linear: weight [out, in] in its stored dtype, optional bias [out]; computes in x's dtype.
class DenseLinear : public LinearOp {
 public:
  // `initialise` = false leaves the weights uninitialised (they are about to be loaded).
  DenseLinear(int64_t in, int64_t out, bool withBias, bool initialise = true);
  at::Tensor forward(const at::Tensor& x) override;
  int64_t inFeatures() const override { return m_in; }
  int64_t outFeatures() const override { return m_out; }
  int64_t parameterCount() const override;
  at::Tensor denseWeight() const override { return m_weight; }
  at::Tensor bias() const override { return m_bias; }
  at::Tensor& weight() { return m_weight; }
  at::Tensor& mutableBias() { return m_bias; }

 private:
  int64_t m_in, m_out;
  at::Tensor m_weight;  // [out, in]
  at::Tensor m_bias;    // [out] or undefined
};

// Holds one op implementation under the submodule name "impl".
class OpSlot : public torch::nn::Module {
 public:
  explicit OpSlot(std::shared_ptr<LinearOp> impl);
  at::Tensor forward(const at::Tensor& x) { return m_impl->forward(x); }
  const std::shared_ptr<LinearOp>& impl() const { return m_impl; }
  // Replaces the implementation; in/out features must match (throws ranklab::Error otherwise).
  void replace(std::shared_ptr<LinearOp> impl);

 private:
  std::shared_ptr<LinearOp> m_impl;
};

struct OpEntry {
  api::OpInfo info;
  std::shared_ptr<OpSlot> slot;
};

// The compressible ops of one model, in model order (layer, then op within layer). Names are
// stable across formats: "layers.{i}.attn.{q,k,v,o}", "layers.{i}.mlp.{gate,up,down}".
class OpRegistry {
 public:
  void add(api::OpInfo info, std::shared_ptr<OpSlot> slot);
  const std::vector<OpEntry>& entries() const { return m_entries; }
  std::vector<api::OpInfo> infos() const;
  // Throws ranklab::Error naming the op when it does not exist.
  const OpEntry& at(const std::string& name) const;
  void replace(const std::string& name, std::shared_ptr<LinearOp> impl);
  size_t size() const { return m_entries.size(); }
  // T_total: sum of in*out over ops.
  int64_t compressibleParams() const;

 private:
  std::vector<OpEntry> m_entries;
};

}  // namespace ranklab::models
