// GGUF (v2/v3) reader and writer. See gguf.cpp for the byte layout. Reads metadata of every type,
// tensors of type F32, F16, BF16 and Q8_0 (dequantised to the compute dtype); any other tensor type
// gives a clear "not supported" error naming the tensor and its type. Everything is validated
// against the file size before allocation.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/tensor_map.h"

namespace ranklab::io {

// GGUF metadata value types (gguf_metadata_value_type).
enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12
};

// ggml tensor types RankLab reads or writes.
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 };

// One metadata value. `value` holds the number/bool/string, or a JSON array for arrays, in which
// case `arrayType` is the element type.
struct GgufValue {
  GgufType type = GgufType::U32;
  GgufType arrayType = GgufType::U32;
  nlohmann::json value;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // torch order (row-major): ggml's ne reversed
  uint32_t type = 0;           // ggml type id
  uint64_t offset = 0;         // relative to the (aligned) data section
};

struct GgufFile {
  uint32_t version = 3;
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensorInfo> tensorInfos;
  uint64_t dataOffset = 0;  // where the (aligned) data section starts in the file
  TensorMap tensors;        // CPU tensors (views of the mapped file where no conversion was needed), or meta

  // Typed metadata access; throw ranklab::Error naming the key when missing or of the wrong kind.
  bool has(const std::string& key) const { return metadata.count(key) != 0; }
  std::string getString(const std::string& key) const;
  int64_t getInt(const std::string& key) const;
  double getFloat(const std::string& key) const;
  const nlohmann::json& getArray(const std::string& key) const;
};

// Reads metadata and tensor infos only (no tensor data).
GgufFile readGgufHeader(const std::filesystem::path& file);
// Reads everything. The file is memory-mapped: F32/F16/BF16 tensors view it without a copy, in their
// stored dtype with computeDtype = kStoredDtype (converted to computeDtype otherwise); Q8_0 tensors
// are dequantised to float32. With `headersOnly` the tensors are meta tensors (shape and the dtype
// they would have; no data) and nothing past the header is read.
GgufFile readGguf(const std::filesystem::path& file, at::ScalarType computeDtype = at::kFloat,
                  bool headersOnly = false);

// Writes a GGUF v3 file whose tensors are known by name and shape before their values: the header
// goes out first and each tensor's bytes follow as write() receives them, so a writer never holds
// more than one converted tensor (an export computes each dense weight from its factors as it comes).
// Every tensor is stored as `storeType` (F32, F16, BF16 or Q8_0; Q8_0 only for tensors whose last dim
// is a multiple of 32, others fall back to F32). Shapes are in torch order. Tensors must be written
// in the order of `layout`. Atomic (temporary file + rename): the file appears complete at commit()
// or not at all. Throws ranklab::Error naming the file.
class GgufStreamWriter {
 public:
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
  };
  GgufStreamWriter(const std::filesystem::path& file, const std::map<std::string, GgufValue>& metadata,
                   std::vector<Entry> layout, GgmlType storeType = GgmlType::F32);
  ~GgufStreamWriter();
  // The next entry of the layout: a floating-point tensor of its shape, on any device.
  void write(const at::Tensor& tensor);
  // Throws unless every entry was written.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// All of `tensors` at once, in name order, through GgufStreamWriter.
void writeGguf(const std::filesystem::path& file, const std::map<std::string, GgufValue>& metadata,
               const TensorMap& tensors, GgmlType storeType = GgmlType::F32);

}  // namespace ranklab::io
