// Small tensor helpers shared by core modules (part of the ranklab_device library, which links
// LibTorch).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace ranklab {

// The values of `t` (any dtype, any device, any shape) flattened in row-major order as float32 on
// the host; empty for an undefined tensor. Detaches from autograd.
std::vector<float> toFloatVector(const at::Tensor& t);

}  // namespace ranklab
