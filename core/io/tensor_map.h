// Named tensors as read from or written to a weights file. Ordered by name.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace ranklab::io {
using TensorMap = std::map<std::string, at::Tensor>;

// Pass to a reader as its computeDtype to keep every tensor in the dtype the file stores it in.
constexpr at::ScalarType kStoredDtype = at::ScalarType::Undefined;
}  // namespace ranklab::io
