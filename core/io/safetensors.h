// safetensors reader and writer (single file and sharded via model.safetensors.index.json).
// See safetensors.cpp for the byte layout. Every read validates the header, dtypes, shapes and
// data offsets against the file size before allocating; failures throw ranklab::Error naming the
// file and the tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/tensor_map.h"

namespace ranklab::io {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets relative to the data section
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"
  uint64_t dataOffset = 0;                      // 8 + header length
};

// Parses and validates the header only (cheap).
SafetensorsHeader readSafetensorsHeader(const std::filesystem::path& file);

// Every tensor, on the CPU. The file is memory-mapped (io/mapped_file.h): a tensor kept in its
// stored dtype views the file's pages without a copy (writable copy-on-write, never written back).
// Floating tensors (F32/F16/BF16/F64) are converted to computeDtype unless it is kStoredDtype;
// integer tensors keep their dtype. With `headersOnly` nothing is read past the header: the map
// holds meta tensors (shape and dtype only) for checking names and shapes cheaply.
TensorMap readSafetensors(const std::filesystem::path& file, at::ScalarType computeDtype = at::kFloat,
                          bool headersOnly = false);

// A model's weights: `path` is a .safetensors file, or a directory holding model.safetensors or
// model.safetensors.index.json (+ the shards it names). Same dtype and headersOnly rules.
TensorMap readSafetensorsModel(const std::filesystem::path& path, at::ScalarType computeDtype = at::kFloat,
                               bool headersOnly = false);

// Writes a safetensors file whose tensors are known by name, dtype and shape before their values:
// the header goes out first and each tensor's bytes follow as write() receives them, so a writer
// never holds more than one tensor (layer-streamed decompositions). Tensors must be written in the
// order of `layout`. Atomic like writeSafetensors: the file appears complete at commit() or not at
// all. Throws ranklab::Error naming the file.
class SafetensorsStreamWriter {
 public:
  struct Entry {
    std::string name;
    at::ScalarType dtype;
    std::vector<int64_t> shape;
  };
  SafetensorsStreamWriter(const std::filesystem::path& file, std::vector<Entry> layout,
                          const std::map<std::string, std::string>& metadata = {});
  ~SafetensorsStreamWriter();
  // The next entry of the layout: `tensor` must have its shape; it is converted to its dtype.
  void write(const at::Tensor& tensor);
  // Throws unless every entry was written.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Writes tensors in their own dtype (F32, F16, BF16, F64, I64, I32, I8, U8, BOOL), contiguous,
// CPU copies taken as needed. Writes to a temporary file in the same directory and renames it, so
// a failure (e.g. a full disk) never leaves a truncated file under `file`. Throws ranklab::Error.
void writeSafetensors(const std::filesystem::path& file, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace ranklab::io
