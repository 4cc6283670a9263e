#include "models/synth.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/resources.h"
#include "io/llama2c.h"
#include "io/safetensors.h"
#include "models/loader.h"

namespace fs = std::filesystem;

namespace ranklab::models {

namespace {

io::ModelConfig gpt2(int64_t vocab, int64_t d, int64_t layers, int64_t heads, int64_t context) {
  io::ModelConfig c;
  c.arch = io::Architecture::Gpt2;
  c.modelType = "gpt2";
  c.vocabSize = vocab;
  c.hiddenSize = d;
  c.numLayers = layers;
  c.numHeads = c.numKvHeads = heads;
  c.intermediateSize = 4 * d;
  c.maxPositions = context;
  c.hiddenAct = "gelu_new";
  c.qkvBias = c.oBias = c.mlpBias = true;
  c.tieWordEmbeddings = true;
  c.bosTokenId = c.eosTokenId = 50256;
  return c;
}

io::ModelConfig llama(int64_t vocab, int64_t d, int64_t layers, int64_t heads, int64_t kvHeads, int64_t ff,
                      int64_t context) {
  io::ModelConfig c;
  c.arch = io::Architecture::Llama;
  c.modelType = "llama";
  c.vocabSize = vocab;
  c.hiddenSize = d;
  c.numLayers = layers;
  c.numHeads = heads;
  c.numKvHeads = kvHeads;
  c.intermediateSize = ff;
  c.maxPositions = context;
  c.hiddenAct = "silu";
  c.tieWordEmbeddings = false;
  c.bosTokenId = 1;
  c.eosTokenId = 2;
  return c;
}

// byte pieces <0x00>..<0xFF> after three specials, printable ASCII, then lowercase n-grams (with and
// without a leading space) until the vocabulary is full; longer pieces score higher, so the llama2.c
// merge loop builds them when the text has them.
io::Llama2cVocab synthVocab(int64_t size) {
  io::Llama2cVocab v;
  auto add = [&](const std::string& piece, float score) {
    if (static_cast<int64_t>(v.pieces.size()) >= size) return;
    v.pieces.push_back(piece);
    v.scores.push_back(score);
    v.maxTokenLength = std::max<int32_t>(v.maxTokenLength, static_cast<int32_t>(piece.size()));
  };
  add("<unk>", 0.0f);
  add("<s>", 0.0f);
  add("</s>", 0.0f);
  char hex[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    add(hex, 0.0f);
  }
  for (char c = ' '; c <= '~'; ++c) add(std::string(1, c), 1.0f);
  std::vector<std::string> grams{""};
  for (int n = 1; static_cast<int64_t>(v.pieces.size()) < size && n <= 6; ++n) {
    std::vector<std::string> longer;
    for (const auto& g : grams)
      for (char c = 'a'; c <= 'z'; ++c) longer.push_back(g + c);
    for (const auto& g : longer) {
      if (n >= 2) add(g, static_cast<float>(n));
      add(" " + g, static_cast<float>(n) + 0.5f);
    }
    grams = std::move(longer);
  }
  for (int64_t i = static_cast<int64_t>(v.pieces.size()); i < size; ++i)
    add("<extra_" + std::to_string(i) + ">", -1.0f);
  return v;
}

void writeTokenizer(const io::ModelConfig& config, const fs::path& dir) {
  if (config.arch == io::Architecture::Llama) {
    if (config.vocabSize < 3 + 256)
      throw Error(dir.string() + ": a synthetic LLaMA needs a vocabulary of 259 or more");
    writeLlama2cTokenizer(synthVocab(config.vocabSize), dir / "tokenizer.bin");
    return;
  }
  const fs::path gpt2 = resourcePath("tokenizers/gpt2");
  for (const char* f : {"vocab.json", "merges.txt"}) {
    std::error_code ec;
    fs::copy_file(gpt2 / f, dir / f, fs::copy_options::overwrite_existing, ec);
    if (ec)
      throw Error((dir / f).string() + ": cannot copy the GPT-2 tokenizer from " + gpt2.string() + ": " +
                  ec.message());
  }
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const std::vector<SynthPreset>& synthPresets() {
  static const std::vector<SynthPreset> presets{
      {"llama-tiny", "LLaMA, 4 layers, hidden 64 (tests)", llama(512, 64, 4, 4, 2, 176, 256)},
      {"gpt2-tiny", "GPT-2, 2 layers, hidden 64, GPT-2's vocabulary (tests)", gpt2(50257, 64, 2, 2, 256)},
      {"gpt2", "GPT-2 small, 124M", gpt2(50257, 768, 12, 12, 1024)},
      {"gpt2-medium", "GPT-2 medium, 355M", gpt2(50257, 1024, 24, 16, 1024)},
      {"tinyllama", "TinyLlama 1.1B (22 layers, hidden 2048, 4 kv heads)",
       llama(32000, 2048, 22, 32, 4, 5632, 2048)},
      {"llama2-7b", "LLaMA-2 7B (32 layers, hidden 4096)", llama(32000, 4096, 32, 32, 32, 11008, 4096)},
  };
  return presets;
}

const SynthPreset& synthPreset(const std::string& name) {
  std::string names;
  for (const auto& p : synthPresets()) {
    if (p.name == name) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  throw Error("unknown model preset '" + name + "' (presets: " + names + ")");
}

std::vector<std::pair<std::string, std::vector<int64_t>>> hfTensorLayout(const io::ModelConfig& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  const int64_t d = c.hiddenSize, ff = c.intermediateSize, v = c.vocabSize;
  if (c.arch == io::Architecture::Gpt2) {
    out.push_back({"transformer.wte.weight", {v, d}});
    out.push_back({"transformer.wpe.weight", {c.maxPositions, d}});
    for (int64_t i = 0; i < c.numLayers; ++i) {
      const std::string p = "transformer.h." + std::to_string(i) + ".";
      out.push_back({p + "ln_1.weight", {d}});
      out.push_back({p + "ln_1.bias", {d}});
      out.push_back({p + "attn.c_attn.weight", {d, 3 * d}});
      out.push_back({p + "attn.c_attn.bias", {3 * d}});
      out.push_back({p + "attn.c_proj.weight", {d, d}});
      out.push_back({p + "attn.c_proj.bias", {d}});
      out.push_back({p + "ln_2.weight", {d}});
      out.push_back({p + "ln_2.bias", {d}});
      out.push_back({p + "mlp.c_fc.weight", {d, ff}});
      out.push_back({p + "mlp.c_fc.bias", {ff}});
      out.push_back({p + "mlp.c_proj.weight", {ff, d}});
      out.push_back({p + "mlp.c_proj.bias", {d}});
    }
    out.push_back({"transformer.ln_f.weight", {d}});
    out.push_back({"transformer.ln_f.bias", {d}});
    return out;
  }
  if (c.arch != io::Architecture::Llama)
    throw Error("synthetic models are GPT-2 or LLaMA, not " + io::architectureName(c.arch));
  const int64_t kv = c.numKvHeads * c.headDim();
  out.push_back({"model.embed_tokens.weight", {v, d}});
  for (int64_t i = 0; i < c.numLayers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    out.push_back({p + "input_layernorm.weight", {d}});
    out.push_back({p + "self_attn.q_proj.weight", {d, d}});
    out.push_back({p + "self_attn.k_proj.weight", {kv, d}});
    out.push_back({p + "self_attn.v_proj.weight", {kv, d}});
    out.push_back({p + "self_attn.o_proj.weight", {d, d}});
    out.push_back({p + "post_attention_layernorm.weight", {d}});
    out.push_back({p + "mlp.gate_proj.weight", {ff, d}});
    out.push_back({p + "mlp.up_proj.weight", {ff, d}});
    out.push_back({p + "mlp.down_proj.weight", {d, ff}});
  }
  out.push_back({"model.norm.weight", {d}});
  if (!c.tieWordEmbeddings) out.push_back({"lm_head.weight", {v, d}});
  return out;
}

void writeSyntheticModel(const io::ModelConfig& config, c10::ScalarType dtype, uint64_t seed,
                         const fs::path& dir, ProgressSink* progress, const CancelToken* cancel) {
  if (dtype != at::kFloat && dtype != at::kHalf && dtype != at::kBFloat16)
    throw Error(dir.string() + ": synthetic weights are float32, float16 or bfloat16");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message());
  const auto layout = hfTensorLayout(config);
  std::vector<io::SafetensorsStreamWriter::Entry> entries;
  for (const auto& [name, shape] : layout) entries.push_back({name, dtype, shape});
  io::SafetensorsStreamWriter out(dir / "model.safetensors", std::move(entries), {{"format", "pt"}});
  for (size_t i = 0; i < layout.size(); ++i) {
    if (cancel) cancel->check();
    const auto& [name, shape] = layout[i];
    at::Tensor t;
    if (shape.size() == 1) {
      const bool norm = endsWith(name, "norm.weight") || endsWith(name, "ln_1.weight") ||
                        endsWith(name, "ln_2.weight") || endsWith(name, "ln_f.weight");
      t = norm ? at::ones(shape) : at::zeros(shape);
    } else {
      auto gen = at::detail::createCPUGenerator(seed * 1000003u + i);
      t = at::randn(shape, gen).mul_(0.02);
    }
    out.write(t);
    if (progress)
      progress->progress("synth", static_cast<long long>(i + 1), static_cast<long long>(layout.size()));
  }
  out.commit();
  auto json = io::toHfConfigJson(config);
  json["torch_dtype"] = dtype == at::kHalf ? "float16" : dtype == at::kBFloat16 ? "bfloat16" : "float32";
  writeFileAtomically(dir / "config.json", json.dump(2) + "\n");
  writeTokenizer(config, dir);
}

}  // namespace ranklab::models
