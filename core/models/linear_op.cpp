#include "models/linear_op.h"

#include <torch/torch.h>

#include "common/error.h"

namespace ranklab::models {

DenseLinear::DenseLinear(int64_t in, int64_t out, bool withBias, bool initialise) : m_in(in), m_out(out) {
  m_weight = register_parameter("weight", torch::empty({out, in}));
  if (withBias) m_bias = register_parameter("bias", torch::empty({out}));
  if (!initialise) return;
  // Same initialisation as torch::nn::Linear, so freshly built models are usable for tests.
  torch::NoGradGuard guard;
  torch::nn::init::kaiming_uniform_(m_weight, std::sqrt(5.0));
  if (withBias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    m_bias.uniform_(-bound, bound);
  }
}

at::Tensor DenseLinear::forward(const at::Tensor& x) {
  const at::Tensor w = computeAs(m_weight, x);
  return m_bias.defined() ? torch::nn::functional::linear(x, w, computeAs(m_bias, x))
                          : torch::nn::functional::linear(x, w);
}

int64_t DenseLinear::parameterCount() const { return m_in * m_out + (m_bias.defined() ? m_out : 0); }

OpSlot::OpSlot(std::shared_ptr<LinearOp> impl) : m_impl(register_module("impl", std::move(impl))) {}

void OpSlot::replace(std::shared_ptr<LinearOp> impl) {
  if (impl->inFeatures() != m_impl->inFeatures() || impl->outFeatures() != m_impl->outFeatures())
    throw Error("replacing op: new implementation is " + std::to_string(impl->inFeatures()) + "x" +
                std::to_string(impl->outFeatures()) + ", op is " + std::to_string(m_impl->inFeatures()) +
                "x" + std::to_string(m_impl->outFeatures()));
  m_impl = replace_module("impl", std::move(impl));
}

void OpRegistry::add(api::OpInfo info, std::shared_ptr<OpSlot> slot) {
  m_entries.push_back(OpEntry{std::move(info), std::move(slot)});
}

std::vector<api::OpInfo> OpRegistry::infos() const {
  std::vector<api::OpInfo> out;
  out.reserve(m_entries.size());
  for (const auto& e : m_entries) out.push_back(e.info);
  return out;
}

const OpEntry& OpRegistry::at(const std::string& name) const {
  for (const auto& e : m_entries)
    if (e.info.name == name) return e;
  throw Error("op '" + name + "' does not exist in this model");
}

void OpRegistry::replace(const std::string& name, std::shared_ptr<LinearOp> impl) {
  at(name).slot->replace(std::move(impl));
}

int64_t OpRegistry::compressibleParams() const {
  int64_t total = 0;
  for (const auto& e : m_entries) total += e.info.params();
  return total;
}

}  // namespace ranklab::models
