// safetensors reader and writer (single file and sharded via model.safetensors.index.json).
// See safetensors.cpp for the byte layout. Every read validates the header, dtypes, shapes and
// data offsets against the file size before allocating; failures throw ranklab::Error naming the
// file and the tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/tensor_map.h"

namespace ranklab::io {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; // byte offsets relative to the data section
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"
  uint64_t dataOffset = 0;                       // 8 + header length
};

// Parses and validates the header only (cheap).
SafetensorsHeader readSafetensorsHeader(const std::filesystem::path& file);

// Reads every tensor. Floating tensors (F32/F16/BF16/F64) are converted to computeDtype; integer
// tensors keep their dtype. Tensors are on the CPU.
TensorMap readSafetensors(const std::filesystem::path& file, at::ScalarType computeDtype = at::kFloat);

// A model's weights: `path` is a .safetensors file, or a directory holding model.safetensors or
// model.safetensors.index.json (+ the shards it names).
TensorMap readSafetensorsModel(const std::filesystem::path& path, at::ScalarType computeDtype = at::kFloat);

// Writes tensors in their own dtype (F32, F16, BF16, F64, I64, I32, I8, U8, BOOL), contiguous,
// CPU copies taken as needed. Writes to a temporary file in the same directory and renames it, so
// a failure (e.g. a full disk) never leaves a truncated file under `file`. Throws ranklab::Error.
void writeSafetensors(const std::filesystem::path& file, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace ranklab::io
