#include "common/tensor_util.h"

#include <ATen/ATen.h>

namespace ranklab {

std::vector<float> toFloatVector(const at::Tensor& t) {
  if (!t.defined()) return {};
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace ranklab
