// LowRankLinear: a compressible op stored as factors, y = (x A) B + b.
// A: [M, k] (in x rank), B: [k, N] (rank x out), b: [N] or undefined; float, on the model's device.
// An optional mask [k] (0/1 floats) switches singular directions off without changing the shapes:
// y = ((x A) * mask) B + b; a transient gate (setGate) multiplies the same way. Not thread-safe (a module of
// one model).
#pragma once

#include "models/linear_op.h"

namespace ranklab::models {

// "[2, 3]": a tensor's shape for error messages.
std::string shapeString(const at::Tensor& t);

class LowRankLinear : public LinearOp {
 public:
  // Throws ranklab::Error when the shapes do not chain (A [M, k], B [k, N], bias [N]).
  LowRankLinear(at::Tensor a, at::Tensor b, at::Tensor bias);

  at::Tensor forward(const at::Tensor& x) override;
  int64_t inFeatures() const override { return m_a.size(0); }
  int64_t outFeatures() const override { return m_b.size(1); }
  int64_t rank() const { return m_a.size(1); }
  // k (M + N) (+ N for the bias): what the factors store.
  int64_t parameterCount() const override;
  // (A B)^T, [out, in], in denseDtype(): float16 or bfloat16 factors multiply in float32.
  at::Tensor denseWeight() const override;
  // The dtype denseWeight() returns, without computing it.
  at::ScalarType denseDtype() const;
  at::Tensor bias() const override { return m_bias; }

  const at::Tensor& a() const { return m_a; }
  const at::Tensor& b() const { return m_b; }
  // mask [k] of 0/1 (undefined = all directions on). Throws ranklab::Error on a wrong length.
  void setMask(const at::Tensor& mask);
  const at::Tensor& mask() const { return m_mask; }
  // A transient gate [k] multiplied in like the mask, but neither a buffer nor exported: it may carry
  // autograd history (ARS trains it through the hypernetwork). Undefined clears it. Throws
  // ranklab::Error on a wrong length.
  void setGate(const at::Tensor& gate);
  const at::Tensor& gate() const { return m_gate; }
  // The gate, when set.
  std::vector<at::Tensor> transientInputs() const override;
  void setTransientInputs(const std::vector<at::Tensor>& inputs) override;

 private:
  at::Tensor m_a, m_b, m_bias, m_mask, m_gate;
};

}  // namespace ranklab::models
