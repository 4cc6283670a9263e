#include "models/low_rank_linear.h"

#include <torch/torch.h>

#include "common/error.h"

namespace ranklab::models {

std::string shapeString(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

LowRankLinear::LowRankLinear(at::Tensor a, at::Tensor b, at::Tensor bias) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(0))
    throw Error("LowRankLinear: factors " + shapeString(a) + " and " + shapeString(b) +
                " do not chain (expected [M, k] and [k, N])");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != b.size(1)))
    throw Error("LowRankLinear: bias " + shapeString(bias) + " does not match " + std::to_string(b.size(1)) +
                " outputs");
  m_a = register_parameter("a", a.contiguous());
  m_b = register_parameter("b", b.contiguous());
  if (bias.defined()) m_bias = register_parameter("bias", bias.contiguous());
}

at::Tensor LowRankLinear::forward(const at::Tensor& x) {
  // Two 2-D products on the flattened tokens, the bias fused into the second (addmm), as the dense
  // path fuses it into its one product.
  const at::Tensor flat = x.reshape({-1, x.size(-1)});
  at::Tensor h = torch::mm(flat, computeAs(m_a, x));
  if (m_mask.defined()) h = h * m_mask;
  if (m_gate.defined()) h = h * m_gate;
  const at::Tensor b = computeAs(m_b, x);
  h = m_bias.defined() ? torch::addmm(computeAs(m_bias, x), h, b) : torch::mm(h, b);
  auto shape = x.sizes().vec();
  shape.back() = m_b.size(1);
  return h.view(shape);
}

int64_t LowRankLinear::parameterCount() const {
  return rank() * (inFeatures() + outFeatures()) + (m_bias.defined() ? outFeatures() : 0);
}

at::ScalarType LowRankLinear::denseDtype() const {
  // At least float32: LibTorch has no CPU product of float16 or bfloat16 matrices.
  auto dtype = at::promote_types(at::kFloat, at::promote_types(m_a.scalar_type(), m_b.scalar_type()));
  for (const at::Tensor* t : {&m_mask, &m_gate})
    if (t->defined()) dtype = at::promote_types(dtype, t->scalar_type());
  return dtype;
}

at::Tensor LowRankLinear::denseWeight() const {
  const auto dtype = denseDtype();
  at::Tensor a = m_a.to(dtype);
  if (m_mask.defined()) a = a * m_mask;
  if (m_gate.defined()) a = a * m_gate;
  return torch::matmul(a, m_b.to(dtype)).t();
}

void LowRankLinear::setMask(const at::Tensor& mask) {
  if (mask.defined() && (mask.dim() != 1 || mask.size(0) != rank()))
    throw Error("LowRankLinear: mask " + shapeString(mask) + " does not match rank " +
                std::to_string(rank()));
  m_mask = mask.defined() ? register_buffer("mask", mask.to(m_a.options())) : at::Tensor();
}

void LowRankLinear::setGate(const at::Tensor& gate) {
  if (gate.defined() && (gate.dim() != 1 || gate.size(0) != rank()))
    throw Error("LowRankLinear: gate " + shapeString(gate) + " does not match rank " +
                std::to_string(rank()));
  m_gate = gate;
}

std::vector<at::Tensor> LowRankLinear::transientInputs() const {
  return m_gate.defined() ? std::vector<at::Tensor>{m_gate} : std::vector<at::Tensor>{};
}

void LowRankLinear::setTransientInputs(const std::vector<at::Tensor>& inputs) {
  m_gate = inputs.empty() ? at::Tensor() : inputs.front();
}

}  // namespace ranklab::models
