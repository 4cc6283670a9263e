// Internal helper for strict, shape-checked weight loading (models/*.cpp only).
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "common/error.h"
#include "io/tensor_map.h"

namespace ranklab::models::detail {

class WeightLoader {
 public:
  WeightLoader(const io::TensorMap& tensors, std::string source) : m_tensors(tensors), m_source(std::move(source)) {}

  bool has(const std::string& name) const { return m_tensors.count(name) != 0; }

  // The tensor `name` with the expected shape, as float on the CPU; throws ranklab::Error.
  at::Tensor get(const std::string& name, at::IntArrayRef shape) const {
    auto it = m_tensors.find(name);
    if (it == m_tensors.end()) throw Error(m_source + ": tensor '" + name + "' is missing");
    if (it->second.sizes() != shape)
      throw Error(m_source + ": tensor '" + name + "' has shape " + shapeString(it->second.sizes()) + ", expected " +
                  shapeString(shape));
    at::Tensor t = it->second.to(at::kFloat);
    // Corrupted or badly converted weights often show up as NaN/Inf: refuse them up front instead of
    // producing NaN perplexities later.
    if (!at::isfinite(t).all().item<bool>())
      throw Error(m_source + ": tensor '" + name + "' contains NaN or infinite values");
    return t;
  }

  // Copies tensor `name` into `target` (same shape), without recording autograd history.
  void into(at::Tensor& target, const std::string& name) const {
    at::Tensor src = get(name, target.sizes());
    at::NoGradGuard guard;
    target.copy_(src);
  }

  static std::string shapeString(at::IntArrayRef s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
  }

 private:
  const io::TensorMap& m_tensors;
  std::string m_source;
};

}  // namespace ranklab::models::detail
