// safetensors byte layout (https://github.com/huggingface/safetensors):
//
//   offset 0   u64 little-endian N: length of the JSON header in bytes
//   offset 8   N bytes of UTF-8 JSON:
//                {"<tensor name>": {"dtype": "F32", "shape": [d0, d1, ...],
//                                   "data_offsets": [begin, end]},
//                 ...,
//                 "__metadata__": {"<key>": "<string value>", ...}}   (optional)
//              the writer pads it with trailing spaces so that the data section is 8-byte aligned
//   offset 8+N the data section: each tensor's row-major little-endian bytes at
//              [8 + N + begin, 8 + N + end)
//
// Sharded checkpoints add model.safetensors.index.json: {"metadata": {...}, "weight_map":
// {"<tensor name>": "<shard file name>"}}.
//
// Everything in the header is untrusted: the header length, dtypes, shapes and offsets are
// checked against each other and against the file size before any tensor memory is allocated.
#include "io/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "io/binary_io.h"
#include "io/mapped_file.h"

namespace ranklab::io {

namespace {

using detail::BoundedReader;

// A header larger than this is certainly corrupt (real headers are well under 10 MB even for
// models with tens of thousands of tensors); refusing early avoids a giant allocation.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DtypeInfo {
  const char* name;
  at::ScalarType scalar;
  uint64_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", at::kDouble, 8}, {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},  {"BF16", at::kBFloat16, 2},
    {"I64", at::kLong, 8},   {"I32", at::kInt, 4},   {"I16", at::kShort, 2}, {"I8", at::kChar, 1},
    {"U8", at::kByte, 1},    {"BOOL", at::kBool, 1},
};

const DtypeInfo* findDtype(const std::string& name) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo* findDtype(at::ScalarType s) {
  for (const DtypeInfo& d : kDtypes)
    if (s == d.scalar) return &d;
  return nullptr;
}

std::string supportedDtypeList() {
  std::string s;
  for (const DtypeInfo& d : kDtypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

std::string context(const std::filesystem::path& file) { return "reading " + file.string(); }

SafetensorsHeader parseHeader(BoundedReader& in) {
  const uint64_t headerLen = in.readLe<uint64_t>("header length");
  if (headerLen > in.remaining())
    in.fail("header length " + std::to_string(headerLen) + " is larger than the file (" +
            std::to_string(in.size()) + " bytes); not a safetensors file or truncated");
  if (headerLen > kMaxHeaderBytes)
    in.fail("header length " + std::to_string(headerLen) + " exceeds the " + std::to_string(kMaxHeaderBytes) +
            "-byte limit; not a safetensors file or corrupt");
  std::string text(headerLen, '\0');
  in.read(text.data(), headerLen, "header");

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    in.fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) in.fail("header is not a JSON object");

  SafetensorsHeader h;
  h.dataOffset = 8 + headerLen;
  const uint64_t dataBytes = in.size() - h.dataOffset;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) in.fail("__metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) in.fail("__metadata__ value '" + m.key() + "' is not a string");
        h.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + it.key() + "'";
    const nlohmann::json& t = *it;
    if (!t.is_object()) in.fail(where + " is not an object");
    auto dtype = t.find("dtype");
    auto shape = t.find("shape");
    auto offsets = t.find("data_offsets");
    if (dtype == t.end() || !dtype->is_string()) in.fail(where + " has no dtype string");
    if (shape == t.end() || !shape->is_array()) in.fail(where + " has no shape array");
    if (offsets == t.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
      in.fail(where + " needs data_offsets [begin, end] of non-negative integers");

    SafetensorsEntry e;
    e.name = it.key();
    e.dtype = dtype->get<std::string>();
    const DtypeInfo* info = findDtype(e.dtype);
    if (!info)
      in.fail(where + " has dtype '" + e.dtype +
              "', which RankLab does not support; supported: " + supportedDtypeList());
    uint64_t bytes = info->size;
    for (const nlohmann::json& d : *shape) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0)
        in.fail(where + " has a negative or non-integer dimension in shape " + shape->dump());
      const uint64_t dim = d.get<uint64_t>();
      auto product = detail::checkedMul(bytes, dim);
      if (!product || dim > static_cast<uint64_t>(INT64_MAX))
        in.fail(where + " shape " + shape->dump() + " overflows");
      bytes = *product;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    e.begin = (*offsets)[0].get<uint64_t>();
    e.end = (*offsets)[1].get<uint64_t>();
    if (e.end < e.begin)
      in.fail(where + " has data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
              "] with end before begin");
    if (e.end > dataBytes)
      in.fail(where + " ends at byte " + std::to_string(h.dataOffset + e.end) + ", file has " +
              std::to_string(in.size()));
    if (e.end - e.begin != bytes)
      in.fail(where + " holds " + std::to_string(e.end - e.begin) + " bytes but dtype " + e.dtype +
              " and shape " + shape->dump() + " need " + std::to_string(bytes));
    h.tensors.push_back(std::move(e));
  }

  // Overlapping tensors mean a corrupt or hostile header; the reference writer never produces them.
  std::vector<const SafetensorsEntry*> byOffset;
  for (const auto& e : h.tensors) byOffset.push_back(&e);
  std::sort(byOffset.begin(), byOffset.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < byOffset.size(); ++i)
    if (byOffset[i]->begin < byOffset[i - 1]->end && byOffset[i]->begin != byOffset[i]->end)
      in.fail("tensor '" + byOffset[i]->name + "' overlaps tensor '" + byOffset[i - 1]->name + "'");
  return h;
}

// Tensors view the mapped file (no copy) unless they are converted to `computeDtype`; with
// `headersOnly` they are meta tensors (shape and dtype, no data), and the file is not mapped.
void readInto(const std::filesystem::path& file, const SafetensorsHeader& h, at::ScalarType computeDtype,
              bool headersOnly, TensorMap& out, const std::string& ctx) {
  std::shared_ptr<MappedFile> mapped = headersOnly ? nullptr : MappedFile::open(file);
  for (const SafetensorsEntry& e : h.tensors) {
    if (out.count(e.name)) throw Error(errorIn(ctx, "tensor '" + e.name + "' appears twice"));
    const DtypeInfo* info = findDtype(e.dtype);
    if (headersOnly) {
      out.emplace(e.name, at::empty(e.shape, at::TensorOptions().dtype(info->scalar).device(at::kMeta)));
      continue;
    }
    at::Tensor t = mapped->tensorAt(h.dataOffset + e.begin, e.shape, info->scalar);
    if (at::isFloatingType(info->scalar) && computeDtype != kStoredDtype && info->scalar != computeDtype)
      t = t.to(computeDtype);
    out.emplace(e.name, std::move(t));
  }
}

}  // namespace

SafetensorsHeader readSafetensorsHeader(const std::filesystem::path& file) {
  BoundedReader in(file, context(file));
  return parseHeader(in);
}

TensorMap readSafetensors(const std::filesystem::path& file, at::ScalarType computeDtype, bool headersOnly) {
  SafetensorsHeader h;
  {
    BoundedReader in(file, context(file));
    h = parseHeader(in);
  }
  TensorMap out;
  readInto(file, h, computeDtype, headersOnly, out, context(file));
  return out;
}

TensorMap readSafetensorsModel(const std::filesystem::path& path, at::ScalarType computeDtype,
                               bool headersOnly) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return readSafetensors(path, computeDtype, headersOnly);

  const fs::path single = path / "model.safetensors";
  const fs::path index = path / "model.safetensors.index.json";
  if (fs::exists(single, ec)) return readSafetensors(single, computeDtype, headersOnly);
  if (!fs::exists(index, ec))
    throw Error(errorIn("reading " + path.string(),
                        "directory holds neither model.safetensors nor model.safetensors.index.json"));

  const std::string ctx = "reading " + index.string();
  std::ifstream in(index, std::ios::binary);
  if (!in) throw Error(errorIn(ctx, "cannot open file"));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(errorIn(ctx, std::string("not valid JSON: ") + e.what()));
  }
  auto map = j.find("weight_map");
  if (!j.is_object() || map == j.end() || !map->is_object())
    throw Error(errorIn(ctx, "has no \"weight_map\" object"));

  // shard -> tensor names the index assigns to it, so each shard is opened once.
  std::map<std::string, std::set<std::string>> shards;
  for (auto it = map->begin(); it != map->end(); ++it) {
    if (!it->is_string()) throw Error(errorIn(ctx, "weight_map entry '" + it.key() + "' is not a file name"));
    const std::string shard = it->get<std::string>();
    if (shard.empty() || fs::path(shard).has_parent_path() || shard == "..")
      throw Error(errorIn(ctx, "weight_map entry '" + it.key() + "' names shard '" + shard +
                                   "', which is not a plain file name"));
    shards[shard].insert(it.key());
  }

  TensorMap out;
  for (const auto& [shard, names] : shards) {
    const fs::path shardPath = path / shard;
    if (!fs::exists(shardPath, ec))
      throw Error(errorIn(ctx, "shard '" + shard + "' (holding tensor '" + *names.begin() + "') is missing"));
    const std::string shardCtx = context(shardPath);
    SafetensorsHeader h;
    {
      BoundedReader reader(shardPath, shardCtx);
      h = parseHeader(reader);
    }
    for (const auto& e : h.tensors)
      if (out.count(e.name))
        throw Error(errorIn(shardCtx, "tensor '" + e.name + "' appears in more than one shard"));
    readInto(shardPath, h, computeDtype, headersOnly, out, shardCtx);
  }
  for (auto it = map->begin(); it != map->end(); ++it)
    if (!out.count(it.key()))
      throw Error(errorIn(ctx, "tensor '" + it.key() + "' is listed in weight_map but missing from shard '" +
                                   it->get<std::string>() + "'"));
  return out;
}

struct SafetensorsStreamWriter::Impl {
  Impl(const std::filesystem::path& f) : file(f), ctx("writing " + f.string()), out(f) {}
  std::filesystem::path file;
  std::string ctx;
  std::vector<Entry> layout;
  size_t next = 0;
  AtomicFileWriter out;
};

SafetensorsStreamWriter::SafetensorsStreamWriter(const std::filesystem::path& file, std::vector<Entry> layout,
                                                 const std::map<std::string, std::string>& metadata)
    : m_impl(std::make_unique<Impl>(file)) {
  const std::string& ctx = m_impl->ctx;
  // nlohmann::json objects are key-sorted; the data follows the layout's order.
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) {
    nlohmann::json m = nlohmann::json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (const Entry& e : layout) {
    if (e.name == "__metadata__") throw Error(errorIn(ctx, "'__metadata__' is reserved, not a tensor name"));
    if (header.contains(e.name)) throw Error(errorIn(ctx, "tensor '" + e.name + "' appears twice"));
    const DtypeInfo* info = findDtype(e.dtype);
    if (!info)
      throw Error(errorIn(
          ctx, "tensor '" + e.name + "' has dtype " + std::string(c10::toString(e.dtype)) +
                   ", which safetensors writing does not support; supported: " + supportedDtypeList()));
    uint64_t bytes = info->size;
    for (int64_t d : e.shape) bytes *= static_cast<uint64_t>(d);
    header[e.name] = {{"dtype", info->name}, {"shape", e.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // Pad with spaces (valid JSON whitespace) so the data section starts 8-byte aligned, as the
  // reference implementation does; readers then map tensors without copying.
  text.append((8 - (text.size() % 8)) % 8, ' ');
  m_impl->out.writeLe<uint64_t>(text.size());
  m_impl->out.write(text.data(), text.size());
  m_impl->layout = std::move(layout);
}

SafetensorsStreamWriter::~SafetensorsStreamWriter() = default;

void SafetensorsStreamWriter::write(const at::Tensor& tensor) {
  auto& m = *m_impl;
  if (m.next >= m.layout.size()) throw Error(errorIn(m.ctx, "more tensors written than the header lists"));
  const Entry& e = m.layout[m.next];
  if (!tensor.defined() || tensor.sizes() != at::IntArrayRef(e.shape))
    throw Error(errorIn(m.ctx, "tensor '" + e.name + "' does not have the shape its header entry gives"));
  const at::Tensor t = tensor.detach().to(at::kCPU, e.dtype).contiguous();
  m.out.write(t.data_ptr(), static_cast<uint64_t>(t.nbytes()));
  ++m.next;
}

void SafetensorsStreamWriter::commit() {
  auto& m = *m_impl;
  if (m.next != m.layout.size())
    throw Error(errorIn(
        m.ctx, std::to_string(m.layout.size() - m.next) + " tensor(s) of the header were not written"));
  m.out.commit();
}

void writeSafetensors(const std::filesystem::path& file, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsStreamWriter::Entry> layout;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined())
      throw Error(errorIn("writing " + file.string(), "tensor '" + name + "' is undefined"));
    layout.push_back({name, tensor.scalar_type(), tensor.sizes().vec()});
  }
  SafetensorsStreamWriter out(file, std::move(layout), metadata);
  for (const auto& [name, tensor] : tensors) out.write(tensor);
  out.commit();
}

}  // namespace ranklab::io
