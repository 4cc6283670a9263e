#include <ATen/ATen.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "common/error.h"
#include "io/gguf.h"
#include "io_test_util.h"

namespace ranklab::io {
namespace {

using nlohmann::json;
using test::ScratchDir;

GgufValue value(GgufType type, json v, GgufType arrayType = GgufType::U32) {
  GgufValue g;
  g.type = type;
  g.arrayType = arrayType;
  g.value = std::move(v);
  return g;
}

std::map<std::string, GgufValue> allKindsOfMetadata() {
  std::map<std::string, GgufValue> m;
  m["general.architecture"] = value(GgufType::String, "llama");
  m["t.u8"] = value(GgufType::U8, 200);
  m["t.i8"] = value(GgufType::I8, -100);
  m["t.u16"] = value(GgufType::U16, 60000);
  m["t.i16"] = value(GgufType::I16, -30000);
  m["t.u32"] = value(GgufType::U32, 4000000000u);
  m["t.i32"] = value(GgufType::I32, -2000000000);
  m["t.f32"] = value(GgufType::F32, 0.5);
  m["t.bool"] = value(GgufType::Bool, true);
  m["t.u64"] = value(GgufType::U64, 18000000000000000000ull);
  m["t.i64"] = value(GgufType::I64, -9000000000000000000ll);
  m["t.f64"] = value(GgufType::F64, 3.141592653589793);
  m["t.strings"] = value(GgufType::Array, json::array({"<unk>", "<s>", "", "héllo"}), GgufType::String);
  m["t.floats"] = value(GgufType::Array, json::array({-1.0, 0.25, 1e-3}), GgufType::F32);
  m["t.ints"] = value(GgufType::Array, json::array({1, -2, 3}), GgufType::I32);
  m["t.empty"] = value(GgufType::Array, json::array(), GgufType::U8);
  return m;
}

TensorMap sampleTensors() {
  at::manual_seed(11);
  TensorMap t;
  t["blk.0.attn_q.weight"] = at::randn({8, 64});
  t["blk.0.ffn_norm.weight"] = at::randn({24});
  t["odd.weight"] = at::randn({3, 5, 7});
  return t;
}

TEST(Gguf, MetadataOfEveryTypeRoundTrips) {
  ScratchDir dir;
  const auto meta = allKindsOfMetadata();
  writeGguf(dir / "m.gguf", meta, {});
  const GgufFile g = readGgufHeader(dir / "m.gguf");
  EXPECT_EQ(g.version, 3u);
  ASSERT_EQ(g.metadata.size(), meta.size());
  for (const auto& [key, v] : meta) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(g.has(key));
    EXPECT_EQ(g.metadata.at(key).type, v.type);
    if (v.type == GgufType::Array) {
      EXPECT_EQ(g.metadata.at(key).arrayType, v.arrayType);
    }
    if (v.type == GgufType::F32 || (v.type == GgufType::Array && v.arrayType == GgufType::F32)) {
      // f32 storage: metric relative error, tolerance 2^-24 (one f32 rounding).
      const json a = v.value.is_array() ? v.value : json::array({v.value});
      const json b = g.metadata.at(key).value.is_array() ? g.metadata.at(key).value
                                                         : json::array({g.metadata.at(key).value});
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i)
        EXPECT_NEAR(b[i].get<double>(), a[i].get<double>(), std::abs(a[i].get<double>()) * 6e-8)
            << "f32 rounding";
    } else {
      EXPECT_EQ(g.metadata.at(key).value, v.value) << "exact";
    }
  }
  EXPECT_EQ(g.getString("general.architecture"), "llama");
  EXPECT_EQ(g.getInt("t.i64"), -9000000000000000000ll);
  EXPECT_DOUBLE_EQ(g.getFloat("t.f64"), 3.141592653589793) << "f64 exact";
  EXPECT_EQ(g.getArray("t.strings").size(), 4u);
  EXPECT_RANKLAB_ERROR(g.getString("t.u8"), "t.u8");
  EXPECT_RANKLAB_ERROR(g.getInt("missing.key"), "missing.key");
}

TEST(Gguf, F32RoundTripExact) {
  ScratchDir dir;
  const TensorMap in = sampleTensors();
  writeGguf(dir / "m.gguf", {{"general.architecture", value(GgufType::String, "llama")}}, in, GgmlType::F32);
  const GgufFile g = readGguf(dir / "m.gguf");
  ASSERT_EQ(g.tensors.size(), in.size());
  ASSERT_EQ(g.tensorInfos.size(), in.size());
  for (const auto& [name, t] : in) {
    EXPECT_EQ(g.tensors.at(name).sizes(), t.sizes()) << name << ": torch order shape";
    EXPECT_TRUE(at::equal(g.tensors.at(name), t)) << name << ": exact equality";
  }
  for (const GgufTensorInfo& info : g.tensorInfos) EXPECT_EQ(info.offset % 32, 0u) << "aligned to 32";
}

TEST(Gguf, HalfPrecisionRoundTripWithinRounding) {
  ScratchDir dir;
  const TensorMap in = sampleTensors();
  for (GgmlType type : {GgmlType::F16, GgmlType::BF16}) {
    const bool f16 = type == GgmlType::F16;
    SCOPED_TRACE(f16 ? "F16" : "BF16");
    writeGguf(dir / "m.gguf", {}, in, type);
    const GgufFile g = readGguf(dir / "m.gguf");
    // Metric: max relative error per element; tolerance one rounding of the format's mantissa
    // (2^-11 for F16, 2^-8 for BF16). Values are ~N(0,1), well inside both formats' normal range.
    const double tol = f16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
    for (const auto& [name, t] : in) {
      const at::Tensor rel = (g.tensors.at(name) - t).abs() / t.abs().clamp_min(1e-4);
      EXPECT_LE(rel.max().item<double>(), tol) << name << ": max relative error";
      // And exactly what torch's own conversion gives.
      EXPECT_TRUE(at::equal(g.tensors.at(name), t.to(f16 ? at::kHalf : at::kBFloat16).to(at::kFloat)))
          << name;
    }
    EXPECT_EQ(g.tensorInfos.front().type, static_cast<uint32_t>(type));
  }
}

TEST(Gguf, StoredDtypeTensorsViewTheMappedFileWithoutACopy) {
  ScratchDir dir;
  const TensorMap in = sampleTensors();
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16}) {
    const at::ScalarType dtype = type == GgmlType::F32   ? at::kFloat
                                 : type == GgmlType::F16 ? at::kHalf
                                                         : at::kBFloat16;
    SCOPED_TRACE(c10::toString(dtype));
    writeGguf(dir / "m.gguf", {}, in, type);
    const GgufFile g = readGguf(dir / "m.gguf", kStoredDtype);
    for (const auto& [name, t] : in) {
      EXPECT_EQ(g.tensors.at(name).scalar_type(), dtype) << name << ": kept in its stored dtype";
      EXPECT_TRUE(at::equal(g.tensors.at(name), t.to(dtype))) << name;
    }
    // Views of one mapping: the tensors lie as far apart in memory as their offsets in the file.
    std::map<std::string, uint64_t> offsets;
    for (const auto& info : g.tensorInfos) offsets[info.name] = info.offset;
    const auto* a = static_cast<const char*>(g.tensors.at("blk.0.attn_q.weight").data_ptr());
    const auto* b = static_cast<const char*>(g.tensors.at("odd.weight").data_ptr());
    EXPECT_EQ(static_cast<uint64_t>(b - a), offsets.at("odd.weight") - offsets.at("blk.0.attn_q.weight"));
  }
}

TEST(Gguf, HeadersOnlyGivesMetaTensorsOfTheDtypeTheyWouldHave) {
  ScratchDir dir;
  writeGguf(dir / "m.gguf", {}, sampleTensors(), GgmlType::Q8_0);
  const GgufFile g = readGguf(dir / "m.gguf", kStoredDtype, /*headersOnly=*/true);
  ASSERT_EQ(g.tensors.size(), 3u);
  for (const auto& [name, t] : g.tensors) EXPECT_TRUE(t.is_meta()) << name;
  EXPECT_EQ(g.tensors.at("blk.0.attn_q.weight").sizes(), (std::vector<int64_t>{8, 64}));
  EXPECT_EQ(g.tensors.at("blk.0.attn_q.weight").scalar_type(), at::kFloat)
      << "Q8_0 is dequantised to float32";
  writeGguf(dir / "h.gguf", {}, sampleTensors(), GgmlType::F16);
  EXPECT_EQ(readGguf(dir / "h.gguf", kStoredDtype, true).tensors.at("odd.weight").scalar_type(), at::kHalf);
  EXPECT_EQ(readGguf(dir / "h.gguf", at::kFloat, true).tensors.at("odd.weight").scalar_type(), at::kFloat);
  // A truncated file is refused from its header alone: each tensor's extent is checked against the size.
  std::filesystem::resize_file(dir / "h.gguf", std::filesystem::file_size(dir / "h.gguf") - 16);
  EXPECT_THROW(readGguf(dir / "h.gguf", kStoredDtype, /*headersOnly=*/true), Error);
}

TEST(Gguf, Q8_0RoundTrip) {
  ScratchDir dir;
  const TensorMap in = sampleTensors();
  writeGguf(dir / "m.gguf", {}, in, GgmlType::Q8_0);
  const GgufFile g = readGguf(dir / "m.gguf");
  std::map<std::string, uint32_t> types;
  for (const auto& info : g.tensorInfos) types[info.name] = info.type;
  EXPECT_EQ(types.at("blk.0.attn_q.weight"), static_cast<uint32_t>(GgmlType::Q8_0));
  EXPECT_EQ(types.at("odd.weight"), static_cast<uint32_t>(GgmlType::F32)) << "last dim 7 falls back to F32";
  EXPECT_EQ(types.at("blk.0.ffn_norm.weight"), static_cast<uint32_t>(GgmlType::F32))
      << "last dim 24 falls back";
  EXPECT_TRUE(at::equal(g.tensors.at("odd.weight"), in.at("odd.weight"))) << "F32 fallback is exact";

  const at::Tensor x = in.at("blk.0.attn_q.weight").reshape({-1, 32});
  const at::Tensor y = g.tensors.at("blk.0.attn_q.weight").reshape({-1, 32});
  // Metric 1: per-block max abs error <= d/2 + amax * 2^-11, with d = amax/127 (half a
  // quantisation step, plus the f16 rounding of the scale d times |q| <= 127).
  const at::Tensor amax = std::get<0>(x.abs().max(1));
  const at::Tensor bound = amax / 127.0 / 2.0 + amax * std::ldexp(1.0, -11);
  const at::Tensor err = std::get<0>((y - x).abs().max(1));
  EXPECT_TRUE((err <= bound).all().item<bool>()) << "max abs error per block within d/2 + amax*2^-11";
  // Metric 2: NMSE = sum (y-x)^2 / sum x^2, tolerance 1e-4.
  const double nmse = ((y - x).pow(2).sum() / x.pow(2).sum()).item<double>();
  EXPECT_LT(nmse, 1e-4) << "NMSE";
}

// Builds a minimal GGUF file by hand: one tensor `w` of the given ggml type and shape (torch order).
std::vector<char> handMadeGguf(uint32_t ggmlType, std::vector<uint64_t> ne, uint64_t dataBytes) {
  std::vector<char> b;
  auto put = [&](const void* p, size_t n) {
    b.insert(b.end(), static_cast<const char*>(p), static_cast<const char*>(p) + n);
  };
  auto u32 = [&](uint32_t v) { put(&v, 4); };
  auto u64 = [&](uint64_t v) { put(&v, 8); };
  put("GGUF", 4);
  u32(3);
  u64(1);  // tensors
  u64(1);  // kvs
  u64(4);
  put("name", 4);
  u32(static_cast<uint32_t>(GgufType::String));
  u64(3);
  put("abc", 3);
  u64(1);
  put("w", 1);
  u32(static_cast<uint32_t>(ne.size()));
  for (uint64_t n : ne) u64(n);
  u32(ggmlType);
  u64(0);
  while (b.size() % 32) b.push_back(0);
  b.resize(b.size() + dataBytes, 1);
  return b;
}

TEST(Gguf, UnsupportedTensorType) {
  ScratchDir dir;
  // Q4_K: blocks of 256 values in 144 bytes.
  test::writeBytes(dir / "q4k.gguf", handMadeGguf(12, {256, 2}, 288));
  EXPECT_RANKLAB_ERROR(readGguf(dir / "q4k.gguf"), "q4k.gguf",
                       "tensor 'w' has ggml type Q4_K (12), which RankLab does not support; supported: F32, "
                       "F16, BF16, Q8_0");
  // The header alone still reads (metadata and tensor infos).
  const GgufFile h = readGgufHeader(dir / "q4k.gguf");
  EXPECT_EQ(h.tensorInfos.at(0).shape, (std::vector<int64_t>{2, 256}));
  EXPECT_EQ(h.getString("name"), "abc");
}

// The streamed writer: the header from names and shapes, then each tensor as it comes, in the
// layout's order (the file keeps that order), into one file that reads back exactly.
TEST(Gguf, StreamWriterWritesTheLayoutInOrderAndReadsBack) {
  ScratchDir dir;
  const TensorMap in = sampleTensors();
  const std::vector<std::string> order = {"odd.weight", "blk.0.attn_q.weight", "blk.0.ffn_norm.weight"};
  std::vector<GgufStreamWriter::Entry> layout;
  for (const auto& n : order) layout.push_back({n, in.at(n).sizes().vec()});
  GgufStreamWriter out(dir / "s.gguf", {{"general.architecture", value(GgufType::String, "llama")}}, layout);
  for (const auto& n : order) out.write(in.at(n));
  EXPECT_FALSE(std::filesystem::exists(dir / "s.gguf")) << "nothing under the name before commit";
  out.commit();
  const GgufFile g = readGguf(dir / "s.gguf");
  ASSERT_EQ(g.tensorInfos.size(), order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(g.tensorInfos[i].name, order[i]) << "file order is the layout's";
    EXPECT_TRUE(at::equal(g.tensors.at(order[i]), in.at(order[i]))) << order[i] << ": exact equality";
  }
}

// A tensor that does not match its entry, one too many, or one missing at commit: an error naming
// the file and the tensor, and no file.
TEST(Gguf, StreamWriterRefusesTensorsThatDoNotMatchItsLayout) {
  ScratchDir dir;
  const auto file = dir / "bad.gguf";
  const std::map<std::string, GgufValue> meta = {{"general.architecture", value(GgufType::String, "llama")}};
  auto expectError = [&](const std::function<void()>& f, const std::string& what) {
    try {
      f();
      ADD_FAILURE() << "expected ranklab::Error: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  {
    GgufStreamWriter out(file, meta, {{"a.weight", {4, 8}}});
    expectError([&] { out.write(at::zeros({8, 4})); }, "tensor 'a.weight' does not have the shape");
    expectError([&] { out.write(at::zeros({4, 8}, at::kLong)); }, "'a.weight' is not a floating-point");
    out.write(at::zeros({4, 8}));
    expectError([&] { out.write(at::zeros({4, 8})); }, "more tensors written than the header lists");
  }
  EXPECT_FALSE(std::filesystem::exists(file)) << "no commit, no file";
  {
    GgufStreamWriter out(file, meta, {{"a.weight", {4, 8}}, {"b.weight", {2}}});
    out.write(at::zeros({4, 8}));
    expectError([&] { out.commit(); }, "1 tensor(s) of the header were not written");
  }
  EXPECT_FALSE(std::filesystem::exists(file));
  expectError(
      [&] {
        GgufStreamWriter(file, meta, {{"a.weight", {2}}, {"a.weight", {2}}});
      },
      "tensor 'a.weight' appears twice");
  expectError(
      [&] {
        GgufStreamWriter(file, meta, {{"five.weight", {1, 1, 1, 1, 1}}});
      },
      "GGUF allows at most 4");
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST(Gguf, Truncated) {
  ScratchDir dir;
  writeGguf(dir / "m.gguf", allKindsOfMetadata(), sampleTensors());
  const std::vector<char> full = test::readBytes(dir / "m.gguf");
  // Cut inside the data section, inside the tensor infos/metadata, and inside the fixed header.
  for (size_t keep : {full.size() - 100, full.size() / 3, size_t(100), size_t(10)}) {
    SCOPED_TRACE(keep);
    test::writeBytes(dir / "cut.gguf", std::vector<char>(full.begin(), full.begin() + keep));
    EXPECT_RANKLAB_ERROR(readGguf(dir / "cut.gguf"), "cut.gguf");
  }
  // Hand-made file whose tensor data is short by one byte.
  test::writeBytes(dir / "short.gguf", handMadeGguf(0, {4, 2}, 31));
  EXPECT_RANKLAB_ERROR(readGguf(dir / "short.gguf"), "short.gguf", "tensor 'w' ends at byte");
  // No elements, yet sizes whose product overflows int64 in LibTorch's own order (found by the gguf fuzz
  // target: LibTorch's "integer multiplication overflow" escaped).
  test::writeBytes(dir / "empty.gguf", handMadeGguf(0, {0, uint64_t{1} << 40, uint64_t{1} << 40}, 0));
  EXPECT_RANKLAB_ERROR(readGguf(dir / "empty.gguf"), "empty.gguf", "impossibly large shape");
  EXPECT_RANKLAB_ERROR(readGguf(dir / "empty.gguf", kStoredDtype, /*headersOnly=*/true), "empty.gguf");
}

TEST(Gguf, CorruptStringLengthGivesErrorNotBadAlloc) {
  ScratchDir dir;
  std::vector<char> b = handMadeGguf(0, {4, 2}, 32);
  // The first key's length lives at byte 24; make it absurd.
  const uint64_t huge = 0xFFFFFFFFFFFFull;
  std::memcpy(b.data() + 24, &huge, 8);
  test::writeBytes(dir / "corrupt.gguf", b);
  EXPECT_RANKLAB_ERROR(readGguf(dir / "corrupt.gguf"), "corrupt.gguf", "metadata key");

  // Corrupt kv count and an absurd array count.
  b = handMadeGguf(0, {4, 2}, 32);
  const uint64_t manyKvs = 1ull << 60;
  std::memcpy(b.data() + 16, &manyKvs, 8);
  test::writeBytes(dir / "corrupt.gguf", b);
  EXPECT_RANKLAB_ERROR(readGguf(dir / "corrupt.gguf"), "corrupt.gguf", "metadata count");

  ScratchDir dir2;
  std::map<std::string, GgufValue> m;
  m["a"] = value(GgufType::Array, json::array({1, 2, 3}), GgufType::U32);
  writeGguf(dir2 / "arr.gguf", m, {});
  std::vector<char> a = test::readBytes(dir2 / "arr.gguf");
  // header 24 + key (8 + 1) + type 4 + elem type 4 = 41: the array count.
  std::memcpy(a.data() + 41, &manyKvs, 8);
  test::writeBytes(dir2 / "arr.gguf", a);
  EXPECT_RANKLAB_ERROR(readGgufHeader(dir2 / "arr.gguf"), "arr.gguf", "corrupt length");
}

TEST(Gguf, VersionAndMagic) {
  ScratchDir dir;
  std::vector<char> b = handMadeGguf(0, {4, 2}, 32);
  const uint32_t v1 = 1;
  std::memcpy(b.data() + 4, &v1, 4);
  test::writeBytes(dir / "v1.gguf", b);
  EXPECT_RANKLAB_ERROR(readGguf(dir / "v1.gguf"), "v1.gguf", "version 1 is not supported");
  b[0] = 'X';
  test::writeBytes(dir / "bad.gguf", b);
  EXPECT_RANKLAB_ERROR(readGguf(dir / "bad.gguf"), "bad.gguf", "not a GGUF file");
}

}  // namespace
}  // namespace ranklab::io

namespace ranklab::io {
namespace {

template <typename T>
void appendLe(std::vector<char>& b, T v) {
  const char* p = reinterpret_cast<const char*>(&v);
  b.insert(b.end(), p, p + sizeof(T));
}

std::vector<char> ggufStart(uint64_t tensorCount, uint64_t kvCount) {
  std::vector<char> b;
  appendLe<uint32_t>(b, 0x46554747);  // "GGUF"
  appendLe<uint32_t>(b, 3);
  appendLe<uint64_t>(b, tensorCount);
  appendLe<uint64_t>(b, kvCount);
  return b;
}

// Writes `bytes` and extends the file with zeros (sparse, so cheap) to `size` bytes.
void writeSparse(const std::filesystem::path& file, const std::vector<char>& bytes, uint64_t size) {
  test::writeBytes(file, bytes);
  std::filesystem::resize_file(file, size);
}

// One metadata pair "tokenizer.ggml.scores": array of U8 with `count` elements.
std::vector<char> ggufWithU8Array(uint64_t count) {
  std::vector<char> b = ggufStart(0, 1);
  const std::string key = "tokenizer.ggml.scores";
  appendLe<uint64_t>(b, key.size());
  b.insert(b.end(), key.begin(), key.end());
  appendLe<uint32_t>(b, static_cast<uint32_t>(GgufType::Array));
  appendLe<uint32_t>(b, static_cast<uint32_t>(GgufType::U8));
  appendLe<uint64_t>(b, count);
  return b;
}

TEST(GgufLimits, ArrayCountAboveLimitGivesErrorBeforeReading) {
  ScratchDir dir;
  // 2^24 + 1 one-byte elements fit in the (sparse) file, so only the element limit refuses them; without
  // it the reader would build a 2^24-element JSON array (~270 MB) from a 17 MB file.
  const uint64_t count = (uint64_t{1} << 24) + 1;
  const std::vector<char> b = ggufWithU8Array(count);
  writeSparse(dir / "big_array.gguf", b, b.size() + count);
  EXPECT_RANKLAB_ERROR(readGgufHeader(dir / "big_array.gguf"), "big_array.gguf", "'tokenizer.ggml.scores'",
                       "claims 16777217 elements, more than the limit of 16777216");

  // A count of 1e9 in a tiny file: refused at once.
  test::writeBytes(dir / "tiny.gguf", ggufWithU8Array(1000000000));
  EXPECT_RANKLAB_ERROR(readGgufHeader(dir / "tiny.gguf"), "tiny.gguf", "'tokenizer.ggml.scores'",
                       "claims 1000000000 elements");
}

TEST(GgufLimits, ArrayAtTheLimitOfItsBytesStillReads) {
  // A large count that is genuine (as in a big vocabulary) is fine: reserve() is capped, not the count.
  ScratchDir dir;
  const uint64_t count = 200000;
  const std::vector<char> b = ggufWithU8Array(count);
  writeSparse(dir / "ok.gguf", b, b.size() + count);
  const GgufFile g = readGgufHeader(dir / "ok.gguf");
  EXPECT_EQ(g.getArray("tokenizer.ggml.scores").size(), count);
}

TEST(GgufLimits, TensorAndMetadataCountsAboveLimit) {
  ScratchDir dir;
  // Enough (sparse) bytes for the minimum sizes, so only the hard limits catch these counts.
  const uint64_t tensors = (uint64_t{1} << 20) + 1;
  writeSparse(dir / "tensors.gguf", ggufStart(tensors, 0), 24 + 24 * tensors + 64);
  EXPECT_RANKLAB_ERROR(readGgufHeader(dir / "tensors.gguf"), "tensors.gguf",
                       "tensor count 1048577 is more than the limit of 1048576");
  const uint64_t kvs = (uint64_t{1} << 20) + 1;
  writeSparse(dir / "kvs.gguf", ggufStart(0, kvs), 24 + 13 * kvs + 64);
  EXPECT_RANKLAB_ERROR(readGgufHeader(dir / "kvs.gguf"), "kvs.gguf",
                       "metadata count 1048577 is more than the limit of 1048576");
}

}  // namespace
}  // namespace ranklab::io
