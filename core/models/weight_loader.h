// Internal helper for strict, shape-checked weight loading (models/*.cpp only).
//
// Two ways to load a tensor into a model:
//  - take(): the model's tensor becomes the stored one itself, in its stored dtype (fp16, bf16 or
//    fp32) and, for a memory-mapped file, viewing the file's pages: no copy. For the large matrices
//    whose users convert them per use (the linear ops' weights, token and position embeddings, LM
//    heads): one copy of the weights, in their stored precision (DESIGN.md "Memory and scale").
//  - into(): a copy into the model's own (float) tensor, for the small ones (norms, biases, heads
//    built from torch::nn modules).
// When the map holds meta tensors (a header-only read) both only check the shape: a dry run that
// proves config and weights agree before any weight is read.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "common/error.h"
#include "io/tensor_map.h"

namespace ranklab::models::detail {

class WeightLoader {
 public:
  WeightLoader(const io::TensorMap& tensors, std::string source)
      : m_tensors(tensors), m_source(std::move(source)) {}

  bool has(const std::string& name) const { return m_tensors.count(name) != 0; }

  // The tensor `name` with the expected shape, in its stored dtype; throws ranklab::Error when it is
  // missing, has another shape, or holds NaN or infinite values.
  at::Tensor get(const std::string& name, at::IntArrayRef shape) const {
    auto it = m_tensors.find(name);
    if (it == m_tensors.end()) throw Error(m_source + ": tensor '" + name + "' is missing");
    if (it->second.sizes() != shape)
      throw Error(m_source + ": tensor '" + name + "' has shape " + shapeString(it->second.sizes()) +
                  ", expected " + shapeString(shape));
    const at::Tensor& t = it->second;
    // Corrupted or badly converted weights often show up as NaN/Inf: refuse them up front instead of
    // producing NaN perplexities later. In blocks of 2^20 values: a whole-tensor check would allocate
    // a temporary as large as the tensor (a GPT-2 embedding: 39 MB of flags).
    if (!t.is_meta() && t.is_floating_point()) {
      const at::Tensor flat = t.reshape({-1});
      for (int64_t i = 0; i < flat.numel(); i += int64_t{1} << 20)
        if (!at::isfinite(flat.narrow(0, i, std::min<int64_t>(int64_t{1} << 20, flat.numel() - i)))
                 .all()
                 .item<bool>())
          throw Error(m_source + ": tensor '" + name + "' contains NaN or infinite values");
    }
    return t;
  }

  // Copies tensor `name` into `target` (same shape, target's dtype), without autograd history.
  void into(at::Tensor& target, const std::string& name) const { copy(target, get(name, target.sizes())); }
  // Makes `target` the stored tensor `name` itself (same shape; stored dtype; no copy).
  void take(at::Tensor& target, const std::string& name) const { share(target, get(name, target.sizes())); }

  // The same two for a tensor already fetched with get() (a slice of a fused matrix).
  static void copy(at::Tensor& target, const at::Tensor& src) {
    if (src.is_meta()) return;
    at::NoGradGuard guard;
    target.copy_(src);
  }
  static void share(at::Tensor& target, const at::Tensor& src) {
    if (src.is_meta()) return;
    at::NoGradGuard guard;
    target.set_data(src);
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
