#include "models/loader.h"

#include <torch/torch.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "common/allocator.h"
#include "common/atomic_file.h"
#include "common/device.h"
#include "common/error.h"
#include "common/json_field.h"
#include "io/binary_io.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "models/low_rank_linear.h"
#include "models/weight_loader.h"

namespace ranklab::models {
namespace fs = std::filesystem;

namespace {

const char* kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

// GGUF llama tensor names -> Hugging Face LLaMA names. q/k are stored with interleaved RoPE pairs.
io::TensorMap ggufToHf(const io::GgufFile& g, const io::ModelConfig& c) {
  io::TensorMap out;
  auto take = [&](const std::string& from, const std::string& to) {
    auto it = g.tensors.find(from);
    if (it == g.tensors.end()) return false;
    out[to] = it->second;
    return true;
  };
  take("token_embd.weight", "model.embed_tokens.weight");
  take("output_norm.weight", "model.norm.weight");
  take("output.weight", "lm_head.weight");
  for (int64_t i = 0; i < c.numLayers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".", p = "model.layers." + std::to_string(i) + ".";
    take(b + "attn_norm.weight", p + "input_layernorm.weight");
    take(b + "ffn_norm.weight", p + "post_attention_layernorm.weight");
    if (take(b + "attn_q.weight", p + "self_attn.q_proj.weight"))
      out[p + "self_attn.q_proj.weight"] =
          io::permuteInterleavedToHalf(out[p + "self_attn.q_proj.weight"], c.numHeads);
    if (take(b + "attn_k.weight", p + "self_attn.k_proj.weight"))
      out[p + "self_attn.k_proj.weight"] =
          io::permuteInterleavedToHalf(out[p + "self_attn.k_proj.weight"], c.numKvHeads);
    take(b + "attn_v.weight", p + "self_attn.v_proj.weight");
    take(b + "attn_output.weight", p + "self_attn.o_proj.weight");
    take(b + "ffn_gate.weight", p + "mlp.gate_proj.weight");
    take(b + "ffn_up.weight", p + "mlp.up_proj.weight");
    take(b + "ffn_down.weight", p + "mlp.down_proj.weight");
    // Biases are permuted along with their weights by llama.cpp's converter.
    if (take(b + "attn_q.bias", p + "self_attn.q_proj.bias"))
      out[p + "self_attn.q_proj.bias"] =
          io::permuteInterleavedToHalf(out[p + "self_attn.q_proj.bias"], c.numHeads);
    if (take(b + "attn_k.bias", p + "self_attn.k_proj.bias"))
      out[p + "self_attn.k_proj.bias"] =
          io::permuteInterleavedToHalf(out[p + "self_attn.k_proj.bias"], c.numKvHeads);
    take(b + "attn_v.bias", p + "self_attn.v_proj.bias");
  }
  return out;
}

io::ModelConfig ggufConfig(const io::GgufFile& g, const std::string& file) {
  const std::string arch = g.has("general.architecture") ? g.getString("general.architecture") : "";
  if (arch != "llama")
    throw Error(file + ": GGUF architecture '" + arch + "' is not supported (supported: llama)");
  // RoPE scaling (Llama 3.1-style rope_freqs, linear/yarn scaling) would compute silently wrong
  // logits if ignored: refuse it until it is implemented.
  if (g.has("llama.rope.scaling.type") && g.getString("llama.rope.scaling.type") != "none")
    throw Error(file + ": RoPE scaling '" + g.getString("llama.rope.scaling.type") +
                "' is not supported yet");
  if (g.tensors.count("rope_freqs.weight"))
    throw Error(file +
                ": per-frequency RoPE scaling (rope_freqs.weight, Llama 3.1 style) is not supported yet");
  io::ModelConfig c;
  c.arch = io::Architecture::Llama;
  c.modelType = "llama";
  c.hiddenSize = g.getInt("llama.embedding_length");
  c.numLayers = g.getInt("llama.block_count");
  c.numHeads = g.getInt("llama.attention.head_count");
  c.numKvHeads =
      g.has("llama.attention.head_count_kv") ? g.getInt("llama.attention.head_count_kv") : c.numHeads;
  c.intermediateSize = g.getInt("llama.feed_forward_length");
  c.maxPositions = g.getInt("llama.context_length");
  c.normEps = g.has("llama.attention.layer_norm_rms_epsilon")
                  ? g.getFloat("llama.attention.layer_norm_rms_epsilon")
                  : 1e-5;
  c.ropeTheta = g.has("llama.rope.freq_base") ? g.getFloat("llama.rope.freq_base") : 10000.0;
  auto emb = g.tensors.find("token_embd.weight");
  if (emb == g.tensors.end()) throw Error(file + ": tensor 'token_embd.weight' is missing");
  c.vocabSize = emb->second.size(0);
  c.tieWordEmbeddings = g.tensors.count("output.weight") == 0;
  c.qkvBias = g.tensors.count("blk.0.attn_q.bias") != 0;
  c.hiddenAct = "silu";
  c.bosTokenId = g.has("tokenizer.ggml.bos_token_id") ? g.getInt("tokenizer.ggml.bos_token_id") : -1;
  c.eosTokenId = g.has("tokenizer.ggml.eos_token_id") ? g.getInt("tokenizer.ggml.eos_token_id") : -1;
  return c;
}

void loadGgufTokenizer(const io::GgufFile& g, LoadedModel& out) {
  if (!g.has("tokenizer.ggml.model") || !g.has("tokenizer.ggml.tokens")) return;
  const std::string kind = g.getString("tokenizer.ggml.model");
  const auto& tokens = g.getArray("tokenizer.ggml.tokens");
  auto optionalId = [&](const char* key) { return g.has(key) ? g.getInt(key) : int64_t{-1}; };
  if (kind == "llama") {
    io::Llama2cVocab vocab;
    const auto& scores = g.getArray("tokenizer.ggml.scores");
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string piece = replaceAll(tokens[i].get<std::string>(), kSpaceMarker, " ");
      vocab.maxTokenLength = std::max<int32_t>(vocab.maxTokenLength, static_cast<int32_t>(piece.size()));
      vocab.pieces.push_back(std::move(piece));
      vocab.scores.push_back(i < scores.size() ? scores[i].get<float>() : 0.0f);
    }
    out.tokenizer = tokenize::makeScoredPieceTokenizer(
        vocab.pieces, vocab.scores, optionalId("tokenizer.ggml.bos_token_id"),
        optionalId("tokenizer.ggml.eos_token_id"), optionalId("tokenizer.ggml.unknown_token_id"));
    out.scoredVocab = std::move(vocab);
  } else if (kind == "gpt2") {
    std::vector<std::string> pieces, merges;
    for (const auto& t : tokens) pieces.push_back(t.get<std::string>());
    for (const auto& m : g.getArray("tokenizer.ggml.merges")) merges.push_back(m.get<std::string>());
    // Llama-3-style vocabularies name another pre-tokenizer; makeGpt2Bpe refuses those rather
    // than producing wrong ids.
    const std::string pre = g.has("tokenizer.ggml.pre") ? g.getString("tokenizer.ggml.pre") : "";
    out.tokenizer =
        tokenize::makeGpt2Bpe(std::move(pieces), std::move(merges), optionalId("tokenizer.ggml.bos_token_id"),
                              optionalId("tokenizer.ggml.eos_token_id"), pre);
  }
}

// A config.json describing a far bigger model than the weights hold would otherwise be allocated
// first (and could exhaust memory) before the first shape check fails: compare sizes up front.
void checkWeightsFitConfig(const io::ModelConfig& c, const io::TensorMap& weights,
                           const std::string& source) {
  // A learned position table (GPT-2, BERT) is sized by the config's context length: compare the two
  // before the model allocates it (n_positions 2^31 would ask for terabytes).
  if (c.arch != io::Architecture::Llama) {
    const std::string field = c.arch == io::Architecture::Gpt2 ? "n_positions" : "max_position_embeddings";
    for (const auto& [name, t] : weights) {
      const bool table = name.size() >= 10 && (name.compare(name.size() - 10, 10, "wpe.weight") == 0 ||
                                               name.find("position_embeddings.weight") != std::string::npos);
      if (table && t.dim() == 2 && t.size(0) != c.maxPositions)
        throw Error(source + ": config.json gives " + field + " = " + std::to_string(c.maxPositions) +
                    " but the position table '" + name + "' holds " + std::to_string(t.size(0)) +
                    " positions");
    }
  }
  double stored = 0.0;
  for (const auto& [name, t] : weights) stored += static_cast<double>(t.numel());
  // A lower bound of what the config implies: token embeddings plus every block's attention and MLP.
  const double h = static_cast<double>(c.hiddenSize), kv = static_cast<double>(c.numKvHeads * c.headDim());
  const double mlp =
      (c.arch == io::Architecture::Llama ? 3.0 : 2.0) * h * static_cast<double>(c.intermediateSize);
  const double implied = static_cast<double>(c.vocabSize) * h +
                         static_cast<double>(c.numLayers) * (2.0 * h * h + 2.0 * h * kv + mlp);
  if (implied > 1.01 * stored)
    throw Error(source + ": the config describes a model of at least " +
                std::to_string(static_cast<int64_t>(implied)) + " parameters but the weights hold " +
                std::to_string(static_cast<int64_t>(stored)) +
                " (config.json and weights from different models?)");
}

void finish(LoadedModel& out, const io::TensorMap& weights, const LoadOptions& options) {
  int64_t bytes = 0;
  for (const auto& [name, t] : weights) bytes += static_cast<int64_t>(t.nbytes());
  fitAllocatorToModel(bytes);
  out.model->loadHfWeights(weights, out.source.string());
  out.model->eval();
  out.model->to(parseDevice(options.device));
}

void loadTokenizerFrom(LoadedModel& out, const fs::path& path, int64_t vocabHint) {
  out.tokenizerSource = path;
  if (fs::is_regular_file(path) && path.extension() == ".bin") {
    // llama2.c tokenizer.bin: read once, keep the table for converters, build the tokenizer from it.
    auto vocab = io::readLlama2cTokenizer(path, vocabHint);
    out.tokenizer = tokenize::makeScoredPieceTokenizer(vocab.pieces, vocab.scores, 1, 2, 0, "llama2c");
    out.scoredVocab = std::move(vocab);
  } else {
    out.tokenizer = tokenize::loadTokenizer(path, vocabHint);
  }
}

// The tokenizer a directory holds (or the one options name), when there is one.
void loadDirectoryTokenizer(LoadedModel& out, const fs::path& dir, const LoadOptions& options) {
  const int64_t vocab = out.model->config().vocabSize;
  if (!options.tokenizerPath.empty()) {
    loadTokenizerFrom(out, options.tokenizerPath, vocab);
  } else if (fs::exists(dir / "tokenizer.bin")) {
    loadTokenizerFrom(out, dir / "tokenizer.bin", vocab);
  } else {
    for (const char* f : {"tokenizer.json", "vocab.json", "vocab.txt", "tokenizer.model"}) {
      if (fs::exists(dir / f)) {
        loadTokenizerFrom(out, dir, vocab);
        break;
      }
    }
  }
}

// Ids the model cannot embed would fail deep inside LibTorch (and poison a CUDA context).
void checkTokenizerFitsModel(const LoadedModel& out) {
  if (!out.tokenizer) return;
  const int64_t modelVocab = out.model->config().vocabSize;
  if (out.tokenizer->vocabSize() > modelVocab)
    throw Error((out.tokenizerSource.empty() ? out.source : out.tokenizerSource).string() +
                ": the tokenizer has " + std::to_string(out.tokenizer->vocabSize()) +
                " ids but the model's vocabulary has " + std::to_string(modelVocab) +
                " (wrong --tokenizer?)");
}

}  // namespace

api::ModelSummary LoadedModel::summary() const {
  api::ModelSummary s;
  const auto& c = model->config();
  s.architecture = io::architectureName(c.arch);
  s.source = source.string();
  s.format = format;
  s.totalParams = model->totalParams();
  s.compressibleParams = model->ops().compressibleParams();
  s.layers = c.numLayers;
  s.hidden = c.hiddenSize;
  s.heads = c.numHeads;
  s.kvHeads = c.numKvHeads;
  s.vocab = c.vocabSize;
  s.context = c.maxPositions;
  s.numLabels = c.numLabels;
  s.ops = model->ops().infos();
  return s;
}

namespace {

// Module path ("h_0.q") of every op slot, in op order.
std::vector<std::string> slotPaths(const LanguageModel& model) {
  std::vector<std::string> out;
  const auto named = model.named_modules("", /*include_self=*/false);
  for (const auto& e : model.ops().entries()) {
    std::string path;
    for (const auto& item : named)
      if (item.value().get() == e.slot.get()) path = item.key();
    if (path.empty()) throw Error("op '" + e.info.name + "' is not a submodule of the model");
    out.push_back(path);
  }
  return out;
}

// ranklab.json, parsed strictly (the whole file one JSON document) and checked against the
// architecture config.json builds: every op's name, shape, full rank and rank, and rank_pattern
// agreeing with the ops. The factors' shapes are checked against these ranks when they are read.
void readManifestInto(const fs::path& manifestFile, LoadedModel& out) {
  const std::string file = manifestFile.string();
  nlohmann::json manifest;
  {
    std::ifstream in(manifestFile, std::ios::binary);
    if (!in) throw Error(file + ": cannot open");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      manifest = nlohmann::json::parse(text);  // trailing content is an error
    } catch (const nlohmann::json::exception& e) {
      throw Error(file + ": not valid JSON (" + e.what() + ")");
    }
  }
  if (!manifest.is_object() || !manifest.contains("format") ||
      manifest["format"] != nlohmann::json("ranklab-factorized"))
    throw Error(file + ": not a RankLab factorized model (format is not \"ranklab-factorized\")");
  if (!manifest.contains("version") || manifest["version"] != nlohmann::json(1))
    throw Error(file + ": factorized format version " + manifest.value("version", nlohmann::json()).dump() +
                " is not supported (this build reads version 1)");
  const auto& entries = out.model->ops().entries();
  const auto& ops = manifest.contains("ops") ? manifest["ops"] : nlohmann::json();
  if (!ops.is_array() || ops.size() != entries.size())
    throw Error(file + ": /ops lists " + std::to_string(ops.is_array() ? ops.size() : 0) +
                " ops, the architecture in config.json has " + std::to_string(entries.size()));
  std::map<std::string, int64_t> pattern;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& op = ops[i];
    const auto& info = entries[i].info;
    const std::string where = "/ops/" + std::to_string(i);
    const auto name = jsonField<std::string>(op, "name", file, where);
    if (name != info.name)
      throw Error(file + ": " + where + "/name is '" + name + "', expected '" + info.name + "'");
    const int64_t full = std::min(info.inFeatures, info.outFeatures);
    for (const auto& [key, want] : {std::pair<const char*, int64_t>{"in", info.inFeatures},
                                    {"out", info.outFeatures},
                                    {"full_rank", full}}) {
      const auto got = jsonField<int64_t>(op, key, file, where);
      if (got != want)
        throw Error(file + ": " + where + "/" + key + " is " + std::to_string(got) + " but op '" + info.name +
                    "' in config.json has " + std::to_string(want));
    }
    const auto k = jsonField<int64_t>(op, "rank", file, where);
    if (k < 0 || k > full)
      throw Error(file + ": " + where + "/rank of op '" + info.name + "' is " + std::to_string(k) +
                  ", outside [0, " + std::to_string(full) + "]");
    if (k < full) pattern[info.name] = k;
    if (jsonField<bool>(op, "factorized", file, where))
      entries[i].slot->replace(
          std::make_shared<LowRankLinear>(at::empty({info.inFeatures, k}), at::empty({k, info.outFeatures}),
                                          info.hasBias ? at::empty({info.outFeatures}) : at::Tensor()));
  }
  if (manifest.contains("rank_pattern")) {
    const auto stated = jsonField<std::map<std::string, int64_t>>(manifest, "rank_pattern", file);
    if (stated != pattern)
      throw Error(file + ": /rank_pattern does not match the ranks in /ops (" +
                  std::to_string(stated.size()) + " entries, /ops gives " + std::to_string(pattern.size()) +
                  " ops below full rank)");
  }
}

void loadFactorized(const fs::path& dir, const LoadOptions& options, LoadedModel& out) {
  const auto config = io::parseHfConfig(dir / "config.json");
  out.model = createModel(config, /*initialise=*/false);
  readManifestInto(dir / "ranklab.json", out);
  const fs::path factorsFile = dir / "factors.safetensors";
  const auto tensors = io::readSafetensors(factorsFile, io::kStoredDtype);
  detail::WeightLoader w(tensors, factorsFile.string());
  for (auto& item : out.model->named_parameters(/*recurse=*/true)) {
    if (out.model->keepsStoredDtype(item.key()))
      w.take(item.value(), item.key());
    else
      w.into(item.value(), item.key());
  }
  for (auto& item : out.model->named_buffers(/*recurse=*/true)) w.into(item.value(), item.key());
  out.model->eval();
  out.model->to(parseDevice(options.device));
}

LoadedModel loadModelUnchecked(const fs::path& path, const LoadOptions& options) {
  if (!fs::exists(path)) throw Error(path.string() + ": no such file or directory");
  LoadedModel out;
  out.source = path;
  // Parse the device first: a bad --device should fail before any heavy reading.
  parseDevice(options.device);
  if (fs::is_directory(path)) {
    if (fs::exists(path / "ranklab.json")) {
      out.format = "ranklab-factorized";
      loadFactorized(path, options, out);
      loadDirectoryTokenizer(out, path, options);
      return out;
    }
    // Everything cheap first (config, tensor headers against the config, the tokenizer against the
    // vocabulary), so a wrong file fails in a second, not after the weights were read.
    out.format = "hf-safetensors";
    const auto config = io::parseHfConfig(path / "config.json");
    const auto headers = io::readSafetensorsModel(path, io::kStoredDtype, /*headersOnly=*/true);
    checkWeightsFitConfig(config, headers, path.string());
    out.model = createModel(config, /*initialise=*/false);
    out.model->loadHfWeights(headers, path.string());  // meta tensors: names and shapes only
    loadDirectoryTokenizer(out, path, options);
    checkTokenizerFitsModel(out);
    if (options.headersOnly) return out;
    finish(out, io::readSafetensorsModel(path, io::kStoredDtype), options);
    return out;
  }
  const auto ext = path.extension().string();
  if (ext == ".gguf") {
    out.format = "gguf";
    // As for a directory: the header (config, tensor shapes against it, the tokenizer) first, then
    // the weights, memory-mapped in their stored dtype.
    const auto header = io::readGguf(path, io::kStoredDtype, /*headersOnly=*/true);
    const auto config = ggufConfig(header, path.string());
    const auto shapes = ggufToHf(header, config);
    checkWeightsFitConfig(config, shapes, path.string());
    out.model = createModel(config, /*initialise=*/false);
    out.model->loadHfWeights(shapes, path.string());  // meta tensors: names and shapes only
    if (!options.tokenizerPath.empty())
      loadTokenizerFrom(out, options.tokenizerPath, config.vocabSize);
    else
      loadGgufTokenizer(header, out);
    checkTokenizerFitsModel(out);
    if (options.headersOnly) return out;
    finish(out, ggufToHf(io::readGguf(path, io::kStoredDtype), config), options);
    return out;
  }
  if (ext == ".bin") {
    out.format = "llama2c";
    auto ckpt = io::readLlama2c(path);
    out.model = createModel(ckpt.config, /*initialise=*/false);
    finish(out, ckpt.tensors, options);
    fs::path tok = options.tokenizerPath;
    if (tok.empty() && fs::exists(path.parent_path() / "tokenizer.bin"))
      tok = path.parent_path() / "tokenizer.bin";
    if (!tok.empty()) loadTokenizerFrom(out, tok, ckpt.config.vocabSize);
    return out;
  }
  throw Error(path.string() +
              ": unrecognised model format (expected a Hugging Face directory, a .gguf file or a llama2.c "
              ".bin checkpoint)");
}

}  // namespace

LoadedModel loadModel(const fs::path& path, const LoadOptions& options) {
  // Every failure leaves here as a ranklab::Error that names the model.
  const std::string where = path.string();
  auto named = [&](const std::string& message) {
    return message.find(path.filename().string()) != std::string::npos ? message : where + ": " + message;
  };
  try {
    auto out = loadModelUnchecked(path, options);
    checkTokenizerFitsModel(out);
    return out;
  } catch (const Error& e) {
    throw Error(named(e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw Error(named(e.what()));
  } catch (const fs::filesystem_error& e) {
    throw Error(named(e.what()));
  } catch (const c10::Error& e) {
    throw Error(named(e.what_without_backtrace()));
  }
}

void writeLlama2cTokenizer(const io::Llama2cVocab& vocab, const fs::path& file) {
  AtomicFileWriter w(file);
  int32_t maxLen = 0;
  for (const auto& p : vocab.pieces) maxLen = std::max<int32_t>(maxLen, static_cast<int32_t>(p.size()));
  w.writeLe<int32_t>(maxLen);
  for (size_t i = 0; i < vocab.pieces.size(); ++i) {
    w.writeLe<float>(vocab.scores.at(i));
    w.writeLe<int32_t>(static_cast<int32_t>(vocab.pieces[i].size()));
    w.write(vocab.pieces[i].data(), vocab.pieces[i].size());
  }
  w.commit();
}

namespace {

void copyTokenizerFiles(const LoadedModel& loaded, const fs::path& dir) {
  if (loaded.scoredVocab) {
    writeLlama2cTokenizer(*loaded.scoredVocab, dir / "tokenizer.bin");
  } else if (!loaded.tokenizerSource.empty()) {
    std::error_code ec;
    auto copy = [&](const fs::path& from) {
      if (fs::exists(dir / from.filename()) && fs::equivalent(from, dir / from.filename())) return;
      fs::copy_file(from, dir / from.filename(), fs::copy_options::overwrite_existing, ec);
      if (ec) throw Error((dir / from.filename()).string() + ": cannot copy the tokenizer: " + ec.message());
    };
    if (fs::is_directory(loaded.tokenizerSource)) {
      for (const char* f : {"tokenizer.json", "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model",
                            "tokenizer_config.json", "special_tokens_map.json"})
        if (fs::exists(loaded.tokenizerSource / f)) copy(loaded.tokenizerSource / f);
    } else {
      copy(loaded.tokenizerSource);
    }
  }
}

}  // namespace

void saveHfDirectory(const LoadedModel& loaded, const fs::path& dir, c10::ScalarType dtype) {
  if (dtype != at::kFloat && dtype != at::kHalf && dtype != at::kBFloat16)
    throw Error(dir.string() + ": weights can be saved as float32, float16 or bfloat16 only");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message());
  removeAbandonedTemporaries(dir);  // files a killed export left half-written
  const auto& c = loaded.model->config();
  auto config = io::toHfConfigJson(c);
  config["torch_dtype"] = dtype == at::kHalf ? "float16" : dtype == at::kBFloat16 ? "bfloat16" : "float32";
  writeFileAtomically(dir / "config.json", config.dump(2) + "\n");
  // Two passes over the weights: their names and shapes for the header, then each one converted and
  // written as it comes, so no more than one converted tensor is held (a 7B model in fp16 would
  // otherwise need its fp32 copy, 27 GB). A weight computed from factors is computed in the second
  // pass only.
  std::vector<io::SafetensorsStreamWriter::Entry> layout;
  loaded.model->forEachHfWeight(
      [&](const std::string& name, const at::Tensor& t) {
        layout.push_back({name, t.is_floating_point() ? dtype : t.scalar_type(), t.sizes().vec()});
      },
      LanguageModel::HfPass::Layout);
  io::SafetensorsStreamWriter out(dir / "model.safetensors", std::move(layout), {{"format", "pt"}});
  loaded.model->forEachHfWeight([&](const std::string&, const at::Tensor& t) { out.write(t); });
  out.commit();
  copyTokenizerFiles(loaded, dir);
}

void saveFactorizedDirectory(const LoadedModel& loaded, const fs::path& dir, const nlohmann::json& extra) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message());
  removeAbandonedTemporaries(dir);  // files a killed export left half-written
  const auto& model = *loaded.model;
  writeFileAtomically(dir / "config.json", io::toHfConfigJson(model.config()).dump(2) + "\n");
  io::TensorMap tensors;
  for (const auto& item : model.named_parameters(/*recurse=*/true))
    tensors[item.key()] = item.value().detach().to(at::kCPU).contiguous();
  for (const auto& item : model.named_buffers(/*recurse=*/true))
    tensors[item.key()] = item.value().detach().to(at::kCPU).contiguous();
  io::writeSafetensors(dir / "factors.safetensors", tensors, {{"format", "ranklab-factorized"}});

  nlohmann::json manifest = extra.is_object() ? extra : nlohmann::json::object();
  // Ops kept dense under the dense-if-cheaper rule still have a chosen rank; the caller may pass it.
  const nlohmann::json chosen = manifest.contains("op_ranks") ? manifest["op_ranks"] : nlohmann::json();
  manifest.erase("op_ranks");
  manifest["format"] = "ranklab-factorized";
  manifest["version"] = 1;
  manifest["architecture"] = io::architectureName(model.config().arch);
  nlohmann::json ops = nlohmann::json::array(), pattern = nlohmann::json::object();
  std::map<int64_t, int> rankCounts;
  const auto paths = slotPaths(model);
  const auto& entries = model.ops().entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& info = entries[i].info;
    const int64_t full = std::min(info.inFeatures, info.outFeatures);
    auto lowRank = std::dynamic_pointer_cast<LowRankLinear>(entries[i].slot->impl());
    const int64_t rank =
        lowRank ? lowRank->rank()
                : (chosen.is_array() && chosen.size() == entries.size() ? chosen[i].get<int64_t>() : full);
    ops.push_back({{"name", info.name},
                   {"module", paths[i]},
                   {"in", info.inFeatures},
                   {"out", info.outFeatures},
                   {"rank", rank},
                   {"full_rank", full},
                   {"factorized", static_cast<bool>(lowRank)}});
    if (rank < full) {
      pattern[info.name] = rank;
      ++rankCounts[rank];
    }
  }
  manifest["ops"] = ops;
  manifest["rank_pattern"] = pattern;
  int64_t common = 0;
  int best = 0;
  for (const auto& [rank, count] : rankCounts)
    if (count > best) {
      best = count;
      common = rank;
    }
  manifest["r"] = common;
  writeFileAtomically(dir / "ranklab.json", manifest.dump(2) + "\n");
  copyTokenizerFiles(loaded, dir);
}

void saveGguf(const LoadedModel& loaded, const fs::path& file, c10::ScalarType dtype) {
  io::GgmlType storeType = io::GgmlType::F32;
  if (dtype == c10::kHalf)
    storeType = io::GgmlType::F16;
  else if (dtype == c10::kBFloat16)
    storeType = io::GgmlType::BF16;
  else if (dtype != c10::kFloat)
    throw Error(file.string() + ": GGUF weights are stored as float32, float16 or bfloat16");
  const auto& c = loaded.model->config();
  if (c.arch != io::Architecture::Llama)
    throw Error(file.string() + ": GGUF export supports the llama architecture only, this model is " +
                io::architectureName(c.arch));
  if (c.oBias || c.mlpBias)
    throw Error(file.string() + ": GGUF llama export cannot store attention-output or MLP biases");
  using io::GgufType;
  using io::GgufValue;
  std::map<std::string, GgufValue> meta;
  auto u32 = [](int64_t v) { return GgufValue{GgufType::U32, GgufType::U32, v}; };
  auto f32 = [](double v) { return GgufValue{GgufType::F32, GgufType::U32, v}; };
  meta["general.architecture"] = GgufValue{GgufType::String, GgufType::U32, "llama"};
  meta["general.name"] = GgufValue{GgufType::String, GgufType::U32, loaded.source.stem().string()};
  meta["llama.context_length"] = u32(c.maxPositions);
  meta["llama.embedding_length"] = u32(c.hiddenSize);
  meta["llama.block_count"] = u32(c.numLayers);
  meta["llama.feed_forward_length"] = u32(c.intermediateSize);
  meta["llama.attention.head_count"] = u32(c.numHeads);
  meta["llama.attention.head_count_kv"] = u32(c.numKvHeads);
  meta["llama.rope.dimension_count"] = u32(c.headDim());
  meta["llama.attention.layer_norm_rms_epsilon"] = f32(c.normEps);
  meta["llama.rope.freq_base"] = f32(c.ropeTheta);
  if (loaded.scoredVocab) {
    const auto& v = *loaded.scoredVocab;
    nlohmann::json tokens = nlohmann::json::array(), scores = nlohmann::json::array(),
                   types = nlohmann::json::array();
    for (size_t i = 0; i < v.pieces.size(); ++i) {
      const auto& p = v.pieces[i];
      tokens.push_back(replaceAll(p, " ", kSpaceMarker));
      scores.push_back(v.scores[i]);
      // llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte.
      const bool isByte = p.size() == 6 && p.rfind("<0x", 0) == 0 && p.back() == '>';
      types.push_back(static_cast<int64_t>(i) == c.bosTokenId || static_cast<int64_t>(i) == c.eosTokenId ? 3
                      : i == 0                                                                           ? 2
                      : isByte                                                                           ? 6
                                                                                                         : 1);
    }
    meta["tokenizer.ggml.model"] = GgufValue{GgufType::String, GgufType::U32, "llama"};
    meta["tokenizer.ggml.tokens"] = GgufValue{GgufType::Array, GgufType::String, tokens};
    meta["tokenizer.ggml.scores"] = GgufValue{GgufType::Array, GgufType::F32, scores};
    meta["tokenizer.ggml.token_type"] = GgufValue{GgufType::Array, GgufType::I32, types};
    if (c.bosTokenId >= 0) meta["tokenizer.ggml.bos_token_id"] = u32(c.bosTokenId);
    if (c.eosTokenId >= 0) meta["tokenizer.ggml.eos_token_id"] = u32(c.eosTokenId);
    meta["tokenizer.ggml.unknown_token_id"] = u32(0);
  }
  // Streamed like saveHfDirectory: names and shapes first, then each weight computed, permuted and
  // written as it comes (a factorized model's dense weights are never all held at once).
  struct Target {
    std::string name;
    int64_t heads = 0;  // > 0: q or k rows, permuted to llama.cpp's interleaved rotary order
  };
  auto target = [&](const std::string& hf) -> std::optional<Target> {
    if (hf == "model.embed_tokens.weight") return Target{"token_embd.weight"};
    if (hf == "model.norm.weight") return Target{"output_norm.weight"};
    if (hf == "lm_head.weight") return Target{"output.weight"};
    static const std::regex layer(R"(model\.layers\.(\d+)\.(.+))");
    std::smatch m;
    if (!std::regex_match(hf, m, layer)) return std::nullopt;
    static const std::map<std::string, std::pair<std::string, int>> names = {
        {"input_layernorm.weight", {"attn_norm.weight", 0}},
        {"post_attention_layernorm.weight", {"ffn_norm.weight", 0}},
        {"self_attn.q_proj.weight", {"attn_q.weight", 1}},
        {"self_attn.k_proj.weight", {"attn_k.weight", 2}},
        {"self_attn.v_proj.weight", {"attn_v.weight", 0}},
        {"self_attn.o_proj.weight", {"attn_output.weight", 0}},
        {"mlp.gate_proj.weight", {"ffn_gate.weight", 0}},
        {"mlp.up_proj.weight", {"ffn_up.weight", 0}},
        {"mlp.down_proj.weight", {"ffn_down.weight", 0}},
        {"self_attn.q_proj.bias", {"attn_q.bias", 1}},
        {"self_attn.k_proj.bias", {"attn_k.bias", 2}},
        {"self_attn.v_proj.bias", {"attn_v.bias", 0}}};
    auto it = names.find(m[2].str());
    if (it == names.end()) return std::nullopt;
    const int64_t heads = it->second.second == 1 ? c.numHeads : it->second.second == 2 ? c.numKvHeads : 0;
    return Target{"blk." + m[1].str() + "." + it->second.first, heads};
  };
  std::vector<io::GgufStreamWriter::Entry> layout;
  loaded.model->forEachHfWeight(
      [&](const std::string& name, const at::Tensor& t) {
        if (auto to = target(name)) layout.push_back({to->name, t.sizes().vec()});
      },
      LanguageModel::HfPass::Layout);
  io::GgufStreamWriter out(file, meta, std::move(layout), storeType);
  loaded.model->forEachHfWeight([&](const std::string& name, const at::Tensor& t) {
    if (auto to = target(name)) out.write(to->heads > 0 ? io::permuteHalfToInterleaved(t, to->heads) : t);
  });
  out.commit();
}

}  // namespace ranklab::models
