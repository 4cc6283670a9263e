#include <ATen/ATen.h>

#include <cstring>

#include "io/safetensors.h"
#include "io_test_util.h"

namespace ranklab::io {
namespace {

using test::ScratchDir;

TensorMap sampleTensors() {
  at::manual_seed(7);
  TensorMap t;
  t["a.f32"] = at::randn({3, 5});
  t["b.f16"] = at::randn({4, 2}).to(at::kHalf);
  t["c.bf16"] = at::randn({7}).to(at::kBFloat16);
  t["d.i64"] = at::arange(6, at::kLong).reshape({2, 3});
  t["e.scalar"] = at::scalar_tensor(2.5);
  return t;
}

// Writes a safetensors file by hand: header length, `header` as given, then `dataBytes` bytes.
void writeRaw(const std::filesystem::path& file, const std::string& header, size_t dataBytes) {
  std::vector<char> bytes(8 + header.size() + dataBytes, 0);
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  test::writeBytes(file, bytes);
}

TEST(Safetensors, RoundTripExactInOwnDtype) {
  ScratchDir dir;
  const TensorMap in = sampleTensors();
  writeSafetensors(dir / "model.safetensors", in, {{"format", "pt"}, {"note", "ranklab"}});

  const SafetensorsHeader h = readSafetensorsHeader(dir / "model.safetensors");
  EXPECT_EQ(h.metadata.at("format"), "pt");
  EXPECT_EQ(h.metadata.at("note"), "ranklab");
  EXPECT_EQ(h.dataOffset % 8, 0u) << "header padded to 8-byte alignment";
  ASSERT_EQ(h.tensors.size(), in.size());

  // computeDtype = each tensor's own dtype: the comparison is bit-exact (metric: torch::equal).
  for (const auto& [name, t] : in) {
    const TensorMap out = readSafetensors(dir / "model.safetensors", t.scalar_type());
    ASSERT_TRUE(out.count(name)) << name;
    EXPECT_EQ(out.at(name).scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(out.at(name).sizes(), t.sizes()) << name;
    EXPECT_TRUE(at::equal(out.at(name), t)) << name << ": exact equality";
  }
}

TEST(Safetensors, FloatsConvertToComputeDtypeIntsKeepTheirs) {
  ScratchDir dir;
  const TensorMap in = sampleTensors();
  writeSafetensors(dir / "m.safetensors", in);
  const TensorMap out = readSafetensors(dir / "m.safetensors");
  EXPECT_EQ(out.at("b.f16").scalar_type(), at::kFloat);
  EXPECT_EQ(out.at("c.bf16").scalar_type(), at::kFloat);
  EXPECT_EQ(out.at("d.i64").scalar_type(), at::kLong);
  // f16/bf16 -> f32 is exact: metric max abs difference, tolerance 0.
  EXPECT_TRUE(at::equal(out.at("b.f16"), in.at("b.f16").to(at::kFloat))) << "exact widening";
  EXPECT_TRUE(at::equal(out.at("c.bf16"), in.at("c.bf16").to(at::kFloat))) << "exact widening";
}

TEST(Safetensors, WriteIsDeterministicAndLeavesNoTemporaryFiles) {
  ScratchDir dir;
  writeSafetensors(dir / "a.safetensors", sampleTensors(), {{"k", "v"}});
  writeSafetensors(dir / "b.safetensors", sampleTensors(), {{"k", "v"}});
  EXPECT_EQ(test::readBytes(dir / "a.safetensors"), test::readBytes(dir / "b.safetensors"));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 2);
}

TEST(Safetensors, WriteToMissingDirectoryNamesFile) {
  ScratchDir dir;
  EXPECT_RANKLAB_ERROR(writeSafetensors(dir / "no/such/dir/x.safetensors", sampleTensors()), "x.safetensors");
}

TEST(Safetensors, ShardedIndex) {
  ScratchDir dir;
  const TensorMap all = sampleTensors();
  TensorMap s1{{"a.f32", all.at("a.f32")}, {"b.f16", all.at("b.f16")}};
  TensorMap s2{{"c.bf16", all.at("c.bf16")}, {"d.i64", all.at("d.i64")}};
  writeSafetensors(dir / "model-00001-of-00002.safetensors", s1);
  writeSafetensors(dir / "model-00002-of-00002.safetensors", s2);
  std::ofstream(dir / "model.safetensors.index.json") << R"({"metadata": {"total_size": 0}, "weight_map": {
      "a.f32": "model-00001-of-00002.safetensors", "b.f16": "model-00001-of-00002.safetensors",
      "c.bf16": "model-00002-of-00002.safetensors", "d.i64": "model-00002-of-00002.safetensors"}})";
  const TensorMap out = readSafetensorsModel(dir.path());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(at::equal(out.at("a.f32"), all.at("a.f32"))) << "exact";
  EXPECT_TRUE(at::equal(out.at("d.i64"), all.at("d.i64"))) << "exact";

  // A tensor present in two shards is an error.
  writeSafetensors(
      dir / "model-00002-of-00002.safetensors",
      TensorMap{{"a.f32", all.at("a.f32")}, {"c.bf16", all.at("c.bf16")}, {"d.i64", all.at("d.i64")}});
  EXPECT_RANKLAB_ERROR(readSafetensorsModel(dir.path()), "a.f32", "more than one shard");

  // A missing shard is an error naming it.
  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  EXPECT_RANKLAB_ERROR(readSafetensorsModel(dir.path()), "model.safetensors.index.json",
                       "model-00002-of-00002.safetensors", "missing");
}

TEST(Safetensors, ModelPathForms) {
  ScratchDir dir;
  writeSafetensors(dir / "model.safetensors", sampleTensors());
  EXPECT_EQ(readSafetensorsModel(dir.path()).size(), 5u) << "directory with model.safetensors";
  EXPECT_EQ(readSafetensorsModel(dir / "model.safetensors").size(), 5u) << "file path";
  ScratchDir empty;
  EXPECT_RANKLAB_ERROR(readSafetensorsModel(empty.path()), "neither model.safetensors");
}

TEST(Safetensors, TruncatedFile) {
  ScratchDir dir;
  writeSafetensors(dir / "model.safetensors", sampleTensors());
  std::vector<char> bytes = test::readBytes(dir / "model.safetensors");
  bytes.resize(bytes.size() - 3);
  test::writeBytes(dir / "model.safetensors", bytes);
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "model.safetensors"), "reading ", "model.safetensors",
                       "ends at byte", "file has " + std::to_string(bytes.size()));
  EXPECT_RANKLAB_ERROR(readSafetensorsHeader(dir / "model.safetensors"), "model.safetensors");
}

TEST(Safetensors, HeaderLengthLargerThanFile) {
  ScratchDir dir;
  writeSafetensors(dir / "model.safetensors", sampleTensors());
  std::vector<char> bytes = test::readBytes(dir / "model.safetensors");
  const uint64_t huge = 1ull << 40;
  std::memcpy(bytes.data(), &huge, 8);
  test::writeBytes(dir / "model.safetensors", bytes);
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "model.safetensors"), "model.safetensors", "header length",
                       "larger than the file");
  test::writeBytes(dir / "tiny.safetensors", {'a', 'b'});
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "tiny.safetensors"), "tiny.safetensors", "truncated");
}

TEST(Safetensors, GarbageJson) {
  ScratchDir dir;
  writeRaw(dir / "model.safetensors", "{\"a.f32\": [1, 2,", 16);
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "model.safetensors"), "model.safetensors", "not valid JSON");
}

TEST(Safetensors, OversizedOffset) {
  ScratchDir dir;
  writeRaw(dir / "model.safetensors", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[9000000,9000016]}})",
           16);
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "model.safetensors"), "reading ", "model.safetensors",
                       "tensor 'w' ends at byte",
                       "file has " + std::to_string(std::filesystem::file_size(dir / "model.safetensors")));
}

TEST(Safetensors, WrongAndUnknownDtype) {
  ScratchDir dir;
  // F16 with 16 bytes for 4 elements: size does not match dtype * shape.
  writeRaw(dir / "model.safetensors", R"({"w":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}})", 16);
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "model.safetensors"), "model.safetensors", "tensor 'w'",
                       "need 8");
  writeRaw(dir / "model.safetensors", R"({"w":{"dtype":"F8_E9","shape":[4],"data_offsets":[0,16]}})", 16);
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "model.safetensors"), "model.safetensors", "tensor 'w'",
                       "dtype 'F8_E9'");
  writeRaw(dir / "model.safetensors", R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", 16);
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "model.safetensors"), "model.safetensors", "negative");
}

TEST(Safetensors, OverlappingTensors) {
  ScratchDir dir;
  writeRaw(dir / "model.safetensors",
           R"({"u":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           16);
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "model.safetensors"), "model.safetensors", "overlaps");
}

TEST(Safetensors, MissingFile) {
  ScratchDir dir;
  EXPECT_RANKLAB_ERROR(readSafetensors(dir / "absent.safetensors"), "absent.safetensors", "not found");
}

}  // namespace
}  // namespace ranklab::io
