// GGUF byte layout (v2 and v3; https://github.com/ggerganov/ggml/blob/master/docs/gguf.md), all
// integers little-endian:
//
//   u32 magic "GGUF" (bytes 47 47 55 46)
//   u32 version            2 or 3 (v1 used u32 counts and lengths: not supported)
//   u64 tensor_count
//   u64 metadata_kv_count
//   metadata_kv_count x {  string key; u32 value_type; value  }
//       string  = u64 length + bytes (no terminator)
//       value   = u8/i8/u16/i16/u32/i32/f32/bool(u8)/string/u64/i64/f64 by value_type, or
//                 array = u32 element_type, u64 count, count x element (arrays may nest)
//   tensor_count x {  string name; u32 n_dims (<= 4); u64 ne[n_dims]; u32 ggml_type; u64 offset  }
//       ne[0] is the fastest-varying (innermost) dimension, so the torch shape is ne reversed;
//       offset is relative to the data section and a multiple of the alignment
//   padding to a multiple of `general.alignment` (u32 metadata, default 32)
//   data section: tensor bytes
//
// Tensor types read here: F32 (0), F16 (1), BF16 (30), Q8_0 (8): blocks of 32 values along ne[0],
// each block = f16 scale d followed by 32 int8 q, value = d * q (34 bytes per block).
//
// Every count and length is checked against the bytes left in the file before anything is
// allocated, so a corrupted length gives a ranklab::Error rather than std::bad_alloc. Counts also
// have hard limits (kMaxArrayElements, kMaxTensors, kMaxMetadataPairs), and reserve() never asks for
// more than kMaxReserve entries up front: a parsed element costs far more memory than its bytes in
// the file (16 B as JSON, 48+ B for a string), so the byte check alone would let a corrupted count
// in a large file claim 16-48x the file size.
#include "io/gguf.h"

#include <ATen/ATen.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "common/error.h"
#include "io/binary_io.h"
#include "io/mapped_file.h"

namespace ranklab::io {

namespace {

using detail::BoundedReader;
using nlohmann::json;

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
constexpr int64_t kQ8Block = 32;
constexpr uint64_t kQ8BlockBytes = 2 + kQ8Block;
// Far above real files (the largest vocabularies and merge lists have a few hundred thousand
// entries, models a few thousand tensors) and far below what would exhaust memory.
constexpr uint64_t kMaxArrayElements = uint64_t{1} << 24;
constexpr uint64_t kMaxTensors = uint64_t{1} << 20;
constexpr uint64_t kMaxMetadataPairs = uint64_t{1} << 20;
constexpr uint64_t kMaxReserve = 65536;

// Common ggml types, so errors can name what a file holds. blockSize/typeSize give the storage
// size (bytes per block of blockSize values); 0 where the layout is not needed here.
struct GgmlTypeInfo {
  uint32_t id;
  const char* name;
  uint64_t blockSize;
  uint64_t typeSize;
};

constexpr GgmlTypeInfo kGgmlTypes[] = {
    {0, "F32", 1, 4},       {1, "F16", 1, 2},       {2, "Q4_0", 32, 18},    {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},    {7, "Q5_1", 32, 24},    {8, "Q8_0", 32, 34},    {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},  {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144}, {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292}, {16, "IQ2_XXS", 0, 0},  {17, "IQ2_XS", 0, 0},
    {18, "IQ3_XXS", 0, 0},  {19, "IQ1_S", 0, 0},    {20, "IQ4_NL", 0, 0},   {21, "IQ3_S", 0, 0},
    {22, "IQ2_S", 0, 0},    {23, "IQ4_XS", 0, 0},   {24, "I8", 1, 1},       {25, "I16", 1, 2},
    {26, "I32", 1, 4},      {27, "I64", 1, 8},      {28, "F64", 1, 8},      {29, "IQ1_M", 0, 0},
    {30, "BF16", 1, 2},     {34, "TQ1_0", 0, 0},    {35, "TQ2_0", 0, 0},
};

const GgmlTypeInfo* ggmlTypeInfo(uint32_t id) {
  for (const GgmlTypeInfo& t : kGgmlTypes)
    if (t.id == id) return &t;
  return nullptr;
}

std::string ggmlTypeName(uint32_t id) {
  const GgmlTypeInfo* t = ggmlTypeInfo(id);
  return t ? t->name : "unknown";
}

// The dtype of an F32/F16/BF16 tensor as stored.
at::ScalarType storedScalarType(GgmlType type) {
  return type == GgmlType::F32 ? at::kFloat : type == GgmlType::F16 ? at::kHalf : at::kBFloat16;
}

bool isSupportedTensorType(uint32_t id) {
  return id == static_cast<uint32_t>(GgmlType::F32) || id == static_cast<uint32_t>(GgmlType::F16) ||
         id == static_cast<uint32_t>(GgmlType::BF16) || id == static_cast<uint32_t>(GgmlType::Q8_0);
}

std::string ctxOf(const std::filesystem::path& file) { return "reading " + file.string(); }

// ---- reading ----

std::string readString(BoundedReader& in, const std::string& what) {
  const uint64_t len = in.readLe<uint64_t>(what + " length");
  in.require(len, what + " (length " + std::to_string(len) + ")");
  std::string s(len, '\0');
  in.read(s.data(), len, what);
  return s;
}

// The fewest bytes one value of `type` occupies: bounds array counts before reserving memory.
uint64_t minValueBytes(GgufType type) {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
    case GgufType::String:
      return 8;
    case GgufType::Array:
      return 12;
  }
  return 1;
}

bool isKnownValueType(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }

json readValue(BoundedReader& in, GgufType type, const std::string& what, GgufType* arrayType, int depth) {
  switch (type) {
    case GgufType::U8:
      return in.readLe<uint8_t>(what);
    case GgufType::I8:
      return in.readLe<int8_t>(what);
    case GgufType::U16:
      return in.readLe<uint16_t>(what);
    case GgufType::I16:
      return in.readLe<int16_t>(what);
    case GgufType::U32:
      return in.readLe<uint32_t>(what);
    case GgufType::I32:
      return in.readLe<int32_t>(what);
    case GgufType::F32:
      return in.readLe<float>(what);
    case GgufType::Bool: {
      const uint8_t b = in.readLe<uint8_t>(what);
      if (b > 1) in.fail(what + " is a bool with value " + std::to_string(b));
      return b != 0;
    }
    case GgufType::String:
      return readString(in, what);
    case GgufType::U64:
      return in.readLe<uint64_t>(what);
    case GgufType::I64:
      return in.readLe<int64_t>(what);
    case GgufType::F64:
      return in.readLe<double>(what);
    case GgufType::Array: {
      if (depth > 8) in.fail(what + " nests arrays too deeply");
      const uint32_t elemRaw = in.readLe<uint32_t>(what + " element type");
      if (!isKnownValueType(elemRaw))
        in.fail(what + " has unknown array element type " + std::to_string(elemRaw));
      const auto elem = static_cast<GgufType>(elemRaw);
      const uint64_t count = in.readLe<uint64_t>(what + " element count");
      if (count > kMaxArrayElements)
        in.fail(what + " claims " + std::to_string(count) + " elements, more than the limit of " +
                std::to_string(kMaxArrayElements) + " (corrupt length)");
      const auto minBytes = detail::checkedMul(count, minValueBytes(elem));
      if (!minBytes || *minBytes > in.remaining())
        in.fail(what + " claims " + std::to_string(count) + " elements, more than the " +
                std::to_string(in.remaining()) + " bytes left in the file (corrupt length)");
      if (arrayType) *arrayType = elem;
      json arr = json::array();
      arr.get_ref<json::array_t&>().reserve(std::min(count, kMaxReserve));
      for (uint64_t i = 0; i < count; ++i) arr.push_back(readValue(in, elem, what, nullptr, depth + 1));
      return arr;
    }
  }
  in.fail(what + " has unknown value type " + std::to_string(static_cast<uint32_t>(type)));
}

struct ParsedHeader {
  GgufFile file;
  uint64_t dataOffset = 0;
};

ParsedHeader parseHeader(BoundedReader& in) {
  ParsedHeader p;
  GgufFile& g = p.file;
  const uint32_t magic = in.readLe<uint32_t>("magic");
  if (magic != kGgufMagic) in.fail("not a GGUF file (magic bytes are not \"GGUF\")");
  g.version = in.readLe<uint32_t>("version");
  if (g.version == 1) in.fail("GGUF version 1 is not supported (re-convert the model to GGUF v2 or v3)");
  if (g.version != 2 && g.version != 3)
    in.fail("GGUF version " + std::to_string(g.version) + " is not supported (supported: 2, 3)");
  const uint64_t tensorCount = in.readLe<uint64_t>("tensor count");
  const uint64_t kvCount = in.readLe<uint64_t>("metadata count");
  if (kvCount > kMaxMetadataPairs)
    in.fail("metadata count " + std::to_string(kvCount) + " is more than the limit of " +
            std::to_string(kMaxMetadataPairs) + " (corrupt header)");
  if (tensorCount > kMaxTensors)
    in.fail("tensor count " + std::to_string(tensorCount) + " is more than the limit of " +
            std::to_string(kMaxTensors) + " (corrupt header)");
  // A key-value pair takes at least 13 bytes (key length, type, 1-byte value); a tensor info 24.
  if (kvCount > in.remaining() / 13)
    in.fail("metadata count " + std::to_string(kvCount) + " cannot fit in the file (corrupt header)");
  if (tensorCount > in.remaining() / 24)
    in.fail("tensor count " + std::to_string(tensorCount) + " cannot fit in the file (corrupt header)");

  for (uint64_t i = 0; i < kvCount; ++i) {
    const std::string key = readString(in, "metadata key #" + std::to_string(i));
    const uint32_t typeRaw = in.readLe<uint32_t>("type of metadata '" + key + "'");
    if (!isKnownValueType(typeRaw))
      in.fail("metadata '" + key + "' has unknown value type " + std::to_string(typeRaw));
    GgufValue v;
    v.type = static_cast<GgufType>(typeRaw);
    v.value = readValue(in, v.type, "metadata '" + key + "'", &v.arrayType, 0);
    if (g.metadata.count(key)) in.fail("metadata key '" + key + "' appears twice");
    g.metadata.emplace(key, std::move(v));
  }

  uint64_t alignment = kDefaultAlignment;
  if (auto it = g.metadata.find("general.alignment"); it != g.metadata.end()) {
    const json& a = it->second.value;
    if (!a.is_number_integer() || a.get<int64_t>() <= 0 || (a.get<uint64_t>() & (a.get<uint64_t>() - 1)) != 0)
      in.fail("general.alignment must be a positive power of two, got " + a.dump());
    alignment = a.get<uint64_t>();
  }

  g.tensorInfos.reserve(std::min(tensorCount, kMaxReserve));
  for (uint64_t i = 0; i < tensorCount; ++i) {
    GgufTensorInfo t;
    t.name = readString(in, "tensor name #" + std::to_string(i));
    const std::string where = "tensor '" + t.name + "'";
    const uint32_t nDims = in.readLe<uint32_t>(where + " dimension count");
    if (nDims == 0 || nDims > kMaxDims)
      in.fail(where + " has " + std::to_string(nDims) + " dimensions (1 to 4 allowed)");
    std::vector<int64_t> ne(nDims);
    // span: the product of the non-zero dimensions. LibTorch multiplies the sizes in its own order, so
    // [0, 2^40, 2^40] (no elements) would still overflow there: every partial product must fit.
    uint64_t numel = 1, span = 1;
    for (uint32_t d = 0; d < nDims; ++d) {
      const uint64_t n = in.readLe<uint64_t>(where + " shape");
      const auto product = detail::checkedMul(numel, n);
      const auto spanned = detail::checkedMul(span, std::max<uint64_t>(n, 1));
      if (!product || !spanned || n > static_cast<uint64_t>(INT64_MAX) ||
          *spanned > static_cast<uint64_t>(INT64_MAX))
        in.fail(where + " has an impossibly large shape");
      numel = *product;
      span = *spanned;
      ne[d] = static_cast<int64_t>(n);
    }
    t.shape.assign(ne.rbegin(), ne.rend());
    t.type = in.readLe<uint32_t>(where + " type");
    t.offset = in.readLe<uint64_t>(where + " offset");
    if (t.offset % alignment != 0)
      in.fail(where + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
              std::to_string(alignment));
    g.tensorInfos.push_back(std::move(t));
  }

  const uint64_t pos = in.position();
  p.dataOffset = (pos + alignment - 1) / alignment * alignment;
  g.dataOffset = p.dataOffset;
  if (p.dataOffset > in.size() && tensorCount > 0)
    in.fail("data section starts at byte " + std::to_string(p.dataOffset) + ", file has " +
            std::to_string(in.size()));

  // Check each tensor whose storage size is known lies inside the file.
  for (const GgufTensorInfo& t : g.tensorInfos) {
    const GgmlTypeInfo* info = ggmlTypeInfo(t.type);
    if (!info || info->blockSize == 0) continue;
    const uint64_t ne0 = static_cast<uint64_t>(t.shape.back());
    if (ne0 % info->blockSize != 0)
      in.fail("tensor '" + t.name + "' of type " + info->name + " has row length " + std::to_string(ne0) +
              ", not a multiple of its block size " + std::to_string(info->blockSize));
    uint64_t numel = 1;
    for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
    const auto bytes = detail::checkedMul(numel / info->blockSize, info->typeSize);
    const auto start = detail::checkedAdd(p.dataOffset, t.offset);
    const auto end = bytes && start ? detail::checkedAdd(*start, *bytes) : std::nullopt;
    if (!end || *end > in.size())
      in.fail("tensor '" + t.name + "' ends at byte " +
              (end ? std::to_string(*end) : std::string("(overflow)")) + ", file has " +
              std::to_string(in.size()));
  }
  return p;
}

// One tensor over the mapped file: F32/F16/BF16 view it without a copy (converted only when
// `computeDtype` asks for another dtype), Q8_0 is dequantised to float32 straight from the mapping.
// parseHeader() has checked that every tensor's bytes lie inside the file.
at::Tensor mappedTensor(MappedFile& mapped, const GgufTensorInfo& t, uint64_t dataOffset,
                        at::ScalarType computeDtype) {
  const auto type = static_cast<GgmlType>(t.type);
  const uint64_t begin = dataOffset + t.offset;
  at::Tensor out;
  if (type == GgmlType::Q8_0) {
    const int64_t blocks = c10::multiply_integers(t.shape) / kQ8Block;
    out = at::empty(t.shape, at::kFloat);
    float* dst = out.data_ptr<float>();
    const uint8_t* src = mapped.data() + begin;
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* block = src + b * kQ8BlockBytes;
      uint16_t bits = 0;
      std::memcpy(&bits, block, 2);
      const float d = static_cast<float>(c10::Half(bits, c10::Half::from_bits()));
      const auto* q = reinterpret_cast<const int8_t*>(block + 2);
      float* o = dst + b * kQ8Block;
      for (int64_t k = 0; k < kQ8Block; ++k) o[k] = d * static_cast<float>(q[k]);
    }
  } else {
    out = mapped.tensorAt(begin, t.shape, storedScalarType(type));
  }
  return computeDtype == kStoredDtype || out.scalar_type() == computeDtype ? out : out.to(computeDtype);
}

// ---- writing ----

void writeString(AtomicFileWriter& out, const std::string& s) {
  out.writeLe<uint64_t>(s.size());
  out.write(s.data(), s.size());
}

template <typename T>
T numberAs(const json& v, const std::string& key) {
  if (v.is_boolean()) return static_cast<T>(v.get<bool>());
  if (!v.is_number()) throw Error("metadata '" + key + "' should be a number, is " + v.dump());
  return v.get<T>();
}

void writeValue(AtomicFileWriter& out, GgufType type, GgufType arrayType, const json& v,
                const std::string& key) {
  switch (type) {
    case GgufType::U8:
      out.writeLe(numberAs<uint8_t>(v, key));
      return;
    case GgufType::I8:
      out.writeLe(numberAs<int8_t>(v, key));
      return;
    case GgufType::U16:
      out.writeLe(numberAs<uint16_t>(v, key));
      return;
    case GgufType::I16:
      out.writeLe(numberAs<int16_t>(v, key));
      return;
    case GgufType::U32:
      out.writeLe(numberAs<uint32_t>(v, key));
      return;
    case GgufType::I32:
      out.writeLe(numberAs<int32_t>(v, key));
      return;
    case GgufType::F32:
      out.writeLe(numberAs<float>(v, key));
      return;
    case GgufType::Bool:
      if (!v.is_boolean()) throw Error("metadata '" + key + "' should be a bool, is " + v.dump());
      out.writeLe<uint8_t>(v.get<bool>() ? 1 : 0);
      return;
    case GgufType::String:
      if (!v.is_string()) throw Error("metadata '" + key + "' should be a string, is " + v.dump());
      writeString(out, v.get_ref<const std::string&>());
      return;
    case GgufType::U64:
      out.writeLe(numberAs<uint64_t>(v, key));
      return;
    case GgufType::I64:
      out.writeLe(numberAs<int64_t>(v, key));
      return;
    case GgufType::F64:
      out.writeLe(numberAs<double>(v, key));
      return;
    case GgufType::Array:
      if (!v.is_array()) throw Error("metadata '" + key + "' should be an array, is " + v.dump());
      if (arrayType == GgufType::Array)
        throw Error("metadata '" + key + "': writing nested arrays is not supported");
      out.writeLe<uint32_t>(static_cast<uint32_t>(arrayType));
      out.writeLe<uint64_t>(v.size());
      for (const json& e : v) writeValue(out, arrayType, GgufType::U32, e, key);
      return;
  }
  throw Error("metadata '" + key + "' has unknown type " + std::to_string(static_cast<uint32_t>(type)));
}

// llama.cpp's reference Q8_0 quantiser: d = max|x| / 127, q = round(x / d), d stored as f16.
std::vector<uint8_t> quantizeQ8_0(const at::Tensor& t) {
  const at::Tensor f = t.to(at::kFloat).contiguous();
  const float* x = f.data_ptr<float>();
  const int64_t blocks = f.numel() / kQ8Block;
  std::vector<uint8_t> out(static_cast<size_t>(blocks) * kQ8BlockBytes);
  for (int64_t b = 0; b < blocks; ++b) {
    const float* xb = x + b * kQ8Block;
    float amax = 0.0f;
    for (int64_t k = 0; k < kQ8Block; ++k) amax = std::max(amax, std::fabs(xb[k]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* block = out.data() + b * kQ8BlockBytes;
    const uint16_t bits = c10::Half(d).x;
    std::memcpy(block, &bits, 2);
    auto* q = reinterpret_cast<int8_t*>(block + 2);
    for (int64_t k = 0; k < kQ8Block; ++k)
      q[k] = static_cast<int8_t>(std::clamp(std::lround(xb[k] * id), -127L, 127L));
  }
  return out;
}

}  // namespace

std::string GgufFile::getString(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) throw Error("GGUF metadata '" + key + "' is missing");
  if (!it->second.value.is_string()) throw Error("GGUF metadata '" + key + "' is not a string");
  return it->second.value.get<std::string>();
}

int64_t GgufFile::getInt(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) throw Error("GGUF metadata '" + key + "' is missing");
  if (!it->second.value.is_number_integer()) throw Error("GGUF metadata '" + key + "' is not an integer");
  return it->second.value.get<int64_t>();
}

double GgufFile::getFloat(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) throw Error("GGUF metadata '" + key + "' is missing");
  if (!it->second.value.is_number()) throw Error("GGUF metadata '" + key + "' is not a number");
  return it->second.value.get<double>();
}

const nlohmann::json& GgufFile::getArray(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) throw Error("GGUF metadata '" + key + "' is missing");
  if (!it->second.value.is_array()) throw Error("GGUF metadata '" + key + "' is not an array");
  return it->second.value;
}

GgufFile readGgufHeader(const std::filesystem::path& file) {
  BoundedReader in(file, ctxOf(file));
  return parseHeader(in).file;
}

GgufFile readGguf(const std::filesystem::path& file, at::ScalarType computeDtype, bool headersOnly) {
  BoundedReader in(file, ctxOf(file));
  ParsedHeader p = parseHeader(in);
  // Fail on an unsupported type before reading any data, so the error comes fast on big files.
  for (const GgufTensorInfo& t : p.file.tensorInfos)
    if (!isSupportedTensorType(t.type))
      in.fail("tensor '" + t.name + "' has ggml type " + ggmlTypeName(t.type) + " (" +
              std::to_string(t.type) + "), which RankLab does not support; supported: F32, F16, BF16, Q8_0");
  std::shared_ptr<MappedFile> mapped = headersOnly ? nullptr : MappedFile::open(file);
  for (const GgufTensorInfo& t : p.file.tensorInfos) {
    if (p.file.tensors.count(t.name)) in.fail("tensor '" + t.name + "' appears twice");
    at::Tensor tensor;
    if (headersOnly) {
      const auto type = static_cast<GgmlType>(t.type);
      const at::ScalarType stored = type == GgmlType::Q8_0 ? at::kFloat : storedScalarType(type);
      tensor = at::empty(
          t.shape,
          at::TensorOptions().dtype(computeDtype == kStoredDtype ? stored : computeDtype).device(at::kMeta));
    } else {
      tensor = mappedTensor(*mapped, t, p.dataOffset, computeDtype);
    }
    p.file.tensors.emplace(t.name, std::move(tensor));
  }
  return std::move(p.file);
}

struct GgufStreamWriter::Impl {
  struct Planned {
    std::string name;
    GgmlType type;
    uint64_t bytes;
    std::vector<int64_t> shape;
  };
  explicit Impl(const std::filesystem::path& f) : ctx("writing " + f.string()), out(f) {}
  std::string ctx;
  uint64_t alignment = kDefaultAlignment;
  std::vector<Planned> plan;
  size_t next = 0;
  AtomicFileWriter out;

  // Runs `f`; an Error that does not name the file yet gets the file's context.
  template <typename F>
  void named(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.rfind(ctx, 0) == 0) throw;
      throw Error(errorIn(ctx, what));
    }
  }
};

GgufStreamWriter::GgufStreamWriter(const std::filesystem::path& file,
                                   const std::map<std::string, GgufValue>& metadata,
                                   std::vector<Entry> layout, GgmlType storeType)
    : m_impl(std::make_unique<Impl>(file)) {
  auto& m = *m_impl;
  if (auto it = metadata.find("general.alignment"); it != metadata.end()) {
    const json& a = it->second.value;
    if (!a.is_number_integer() || a.get<int64_t>() <= 0 || (a.get<uint64_t>() & (a.get<uint64_t>() - 1)) != 0)
      throw Error(errorIn(m.ctx, "general.alignment must be a positive power of two"));
    m.alignment = a.get<uint64_t>();
  }
  // Sizes come from the shapes, so the header is written before any tensor exists.
  std::set<std::string> names;
  for (Entry& e : layout) {
    if (!names.insert(e.name).second) throw Error(errorIn(m.ctx, "tensor '" + e.name + "' appears twice"));
    if (e.shape.size() > kMaxDims)
      throw Error(errorIn(m.ctx, "tensor '" + e.name + "' has " + std::to_string(e.shape.size()) +
                                     " dimensions; GGUF allows at most 4"));
    Impl::Planned p{std::move(e.name), storeType, 0, std::move(e.shape)};
    const int64_t lastDim = p.shape.empty() ? 1 : p.shape.back();
    if (p.type == GgmlType::Q8_0 && lastDim % kQ8Block != 0) p.type = GgmlType::F32;
    uint64_t n = 1;
    for (int64_t d : p.shape) n *= static_cast<uint64_t>(d);
    p.bytes = p.type == GgmlType::Q8_0  ? n / kQ8Block * kQ8BlockBytes
              : p.type == GgmlType::F32 ? 4 * n
                                        : 2 * n;
    m.plan.push_back(std::move(p));
  }
  m.named([&] {
    auto& out = m.out;
    out.writeLe<uint32_t>(kGgufMagic);
    out.writeLe<uint32_t>(3);
    out.writeLe<uint64_t>(m.plan.size());
    out.writeLe<uint64_t>(metadata.size());
    for (const auto& [key, value] : metadata) {
      writeString(out, key);
      out.writeLe<uint32_t>(static_cast<uint32_t>(value.type));
      writeValue(out, value.type, value.arrayType, value.value, key);
    }
    uint64_t offset = 0;
    for (const Impl::Planned& p : m.plan) {
      writeString(out, p.name);
      std::vector<int64_t> shape = p.shape;
      if (shape.empty()) shape.push_back(1);  // ggml has no 0-d tensors
      out.writeLe<uint32_t>(static_cast<uint32_t>(shape.size()));
      for (auto it = shape.rbegin(); it != shape.rend(); ++it)
        out.writeLe<uint64_t>(static_cast<uint64_t>(*it));
      out.writeLe<uint32_t>(static_cast<uint32_t>(p.type));
      out.writeLe<uint64_t>(offset);
      offset += (p.bytes + m.alignment - 1) / m.alignment * m.alignment;
    }
    const uint64_t pos = out.bytesWritten();
    out.writeZeros((m.alignment - pos % m.alignment) % m.alignment);
  });
}

GgufStreamWriter::~GgufStreamWriter() = default;

void GgufStreamWriter::write(const at::Tensor& tensor) {
  auto& m = *m_impl;
  if (m.next >= m.plan.size()) throw Error(errorIn(m.ctx, "more tensors written than the header lists"));
  const Impl::Planned& p = m.plan[m.next];
  if (!tensor.defined() || tensor.sizes() != at::IntArrayRef(p.shape))
    throw Error(errorIn(m.ctx, "tensor '" + p.name + "' does not have the shape its header entry gives"));
  if (!at::isFloatingType(tensor.scalar_type()))
    throw Error(errorIn(m.ctx, "tensor '" + p.name + "' is not a floating-point tensor"));
  m.named([&] {
    const at::Tensor cpu = tensor.detach().to(at::kCPU);
    if (p.type == GgmlType::Q8_0) {
      m.out.write(quantizeQ8_0(cpu).data(), p.bytes);
    } else {
      const auto dtype = p.type == GgmlType::F32   ? at::kFloat
                         : p.type == GgmlType::F16 ? at::kHalf
                                                   : at::kBFloat16;
      m.out.write(cpu.to(dtype).contiguous().data_ptr(), p.bytes);
    }
    m.out.writeZeros((m.alignment - p.bytes % m.alignment) % m.alignment);
  });
  ++m.next;
}

void GgufStreamWriter::commit() {
  auto& m = *m_impl;
  if (m.next != m.plan.size())
    throw Error(
        errorIn(m.ctx, std::to_string(m.plan.size() - m.next) + " tensor(s) of the header were not written"));
  m.named([&] { m.out.commit(); });
}

void writeGguf(const std::filesystem::path& file, const std::map<std::string, GgufValue>& metadata,
               const TensorMap& tensors, GgmlType storeType) {
  std::vector<GgufStreamWriter::Entry> layout;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined())
      throw Error(errorIn("writing " + file.string(), "tensor '" + name + "' is undefined"));
    layout.push_back({name, tensor.sizes().vec()});
  }
  GgufStreamWriter out(file, metadata, std::move(layout), storeType);
  for (const auto& [name, tensor] : tensors) out.write(tensor);
  out.commit();
}

}  // namespace ranklab::io
