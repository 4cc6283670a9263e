// llama2.c checkpoint byte layout (legacy "version 0" export of karpathy/llama2.c), little-endian:
//
//   7 x i32 header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//       vocab_size > 0: the classifier shares the token embedding;
//       vocab_size < 0: a separate classifier follows at the end, vocab = -vocab_size
//   f32 tensors, row-major, weights stored [out, in] (y = W x), L = n_layers,
//   head_size = dim / n_heads, kv_dim = head_size * n_kv_heads:
//       token_embedding [vocab, dim]
//       rms_att_weight  [L, dim]
//       wq              [L, dim, dim]
//       wk              [L, kv_dim, dim]
//       wv              [L, kv_dim, dim]
//       wo              [L, dim, dim]
//       rms_ffn_weight  [L, dim]
//       w1              [L, hidden_dim, dim]   (gate)
//       w2              [L, dim, hidden_dim]   (down)
//       w3              [L, hidden_dim, dim]   (up)
//       rms_final       [dim]
//       freq_cis_real   [seq_len, head_size / 2]   (RoPE tables: skipped, recomputed by the model)
//       freq_cis_imag   [seq_len, head_size / 2]
//       wcls            [vocab, dim]            (only when vocab_size < 0)
//   The file size must equal exactly what the header implies.
//
// llama2.c tokenizer.bin layout:
//   i32 max_token_length
//   vocab_size x { f32 score; i32 len; len bytes (the piece, not NUL-terminated) }
#include "io/llama2c.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "io/binary_io.h"
#include "io/mapped_file.h"

namespace ranklab::io {

namespace {

using detail::BoundedReader;

struct Header {
  int32_t dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen;
};

}  // namespace

Llama2cCheckpoint readLlama2c(const std::filesystem::path& file) {
  BoundedReader in(file, "reading " + file.string());
  if (in.size() < sizeof(Header))
    in.fail("file has " + std::to_string(in.size()) + " bytes, too small for the 28-byte llama2.c header");
  Header h{};
  in.read(&h, sizeof(Header), "header");

  const auto headerText = [&] {
    return "dim=" + std::to_string(h.dim) + " hidden_dim=" + std::to_string(h.hiddenDim) +
           " n_layers=" + std::to_string(h.nLayers) + " n_heads=" + std::to_string(h.nHeads) +
           " n_kv_heads=" + std::to_string(h.nKvHeads) + " vocab_size=" + std::to_string(h.vocabSize) +
           " seq_len=" + std::to_string(h.seqLen);
  };
  const bool sharedClassifier = h.vocabSize > 0;
  if (h.dim <= 0 || h.hiddenDim <= 0 || h.nLayers <= 0 || h.nHeads <= 0 || h.nKvHeads <= 0 ||
      h.vocabSize == 0 || h.vocabSize == INT32_MIN || h.seqLen <= 0)
    in.fail("not a llama2.c checkpoint: header has a non-positive size (" + headerText() + ")");
  if (h.dim % h.nHeads != 0 || (h.dim / h.nHeads) % 2 != 0)
    in.fail("not a llama2.c checkpoint: dim is not divisible into an even head size by n_heads (" +
            headerText() + ")");
  if (h.nHeads % h.nKvHeads != 0)
    in.fail("not a llama2.c checkpoint: n_kv_heads does not divide n_heads (" + headerText() + ")");

  const uint64_t dim = static_cast<uint64_t>(h.dim);
  const uint64_t hidden = static_cast<uint64_t>(h.hiddenDim);
  const uint64_t layers = static_cast<uint64_t>(h.nLayers);
  const uint64_t vocab =
      static_cast<uint64_t>(sharedClassifier ? h.vocabSize : -static_cast<int64_t>(h.vocabSize));
  const uint64_t headSize = dim / static_cast<uint64_t>(h.nHeads);
  const uint64_t kvDim = headSize * static_cast<uint64_t>(h.nKvHeads);
  const uint64_t seq = static_cast<uint64_t>(h.seqLen);
  // Every factor is < 2^31 and there are at most three per term, so 128-bit sums cannot overflow.
  const unsigned __int128 floats = static_cast<unsigned __int128>(vocab) * dim + layers * dim +
                                   static_cast<unsigned __int128>(layers) * dim * dim * 2 +
                                   static_cast<unsigned __int128>(layers) * kvDim * dim * 2 + layers * dim +
                                   static_cast<unsigned __int128>(layers) * hidden * dim * 3 + dim +
                                   static_cast<unsigned __int128>(seq) * (headSize / 2) * 2;
  const unsigned __int128 classifier = static_cast<unsigned __int128>(vocab) * dim;
  const unsigned __int128 expected = sizeof(Header) + 4 * (floats + (sharedClassifier ? 0 : classifier));
  if (expected != in.size()) {
    const unsigned __int128 other = sizeof(Header) + 4 * (floats + (sharedClassifier ? classifier : 0));
    std::string hint;
    if (other == in.size())
      hint = sharedClassifier ? " (the file holds a separate classifier but vocab_size is positive)"
                              : " (vocab_size is negative but the file holds no separate classifier)";
    const auto big = [](unsigned __int128 v) {
      return v > UINT64_MAX ? std::string("more than 2^64") : std::to_string(static_cast<uint64_t>(v));
    };
    in.fail("header (" + headerText() + ") implies " + big(expected) + " bytes, file has " +
            std::to_string(in.size()) + hint);
  }

  const auto d = static_cast<int64_t>(dim);
  const auto hd = static_cast<int64_t>(hidden);
  const auto kv = static_cast<int64_t>(kvDim);
  const auto L = static_cast<int64_t>(layers);
  const auto V = static_cast<int64_t>(vocab);

  // The file is memory-mapped: each tensor, and each layer's slice of a stacked one, is a view of
  // its own range of the file (no copy), so dropping one layer's weight hands its pages back.
  const auto mapped = MappedFile::open(file);
  uint64_t offset = sizeof(Header);
  const auto next = [&](const std::vector<int64_t>& shape) {
    at::Tensor out = mapped->tensorAt(offset, shape, at::kFloat);
    offset += static_cast<uint64_t>(out.nbytes());
    return out;
  };
  const auto perLayer = [&](const std::vector<int64_t>& shape) {
    std::vector<at::Tensor> out;
    for (int64_t i = 0; i < L; ++i) out.push_back(next(shape));
    return out;
  };
  Llama2cCheckpoint ck;
  TensorMap& t = ck.tensors;
  t["model.embed_tokens.weight"] = next({V, d});
  const auto rmsAtt = perLayer({d});
  const auto wq = perLayer({d, d});
  const auto wk = perLayer({kv, d});
  const auto wv = perLayer({kv, d});
  const auto wo = perLayer({d, d});
  const auto rmsFfn = perLayer({d});
  const auto w1 = perLayer({hd, d});
  const auto w2 = perLayer({d, hd});
  const auto w3 = perLayer({hd, d});
  t["model.norm.weight"] = next({d});
  offset += seq * (headSize / 2) * 2 * 4;  // the RoPE tables, recomputed by the model
  if (!sharedClassifier) t["lm_head.weight"] = next({V, d});

  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    t[p + "input_layernorm.weight"] = rmsAtt[i];
    t[p + "self_attn.q_proj.weight"] = permuteInterleavedToHalf(wq[i], h.nHeads).contiguous();
    t[p + "self_attn.k_proj.weight"] = permuteInterleavedToHalf(wk[i], h.nKvHeads).contiguous();
    t[p + "self_attn.v_proj.weight"] = wv[i];
    t[p + "self_attn.o_proj.weight"] = wo[i];
    t[p + "post_attention_layernorm.weight"] = rmsFfn[i];
    t[p + "mlp.gate_proj.weight"] = w1[i];
    t[p + "mlp.down_proj.weight"] = w2[i];
    t[p + "mlp.up_proj.weight"] = w3[i];
  }

  ModelConfig& c = ck.config;
  c.arch = Architecture::Llama;
  c.modelType = "llama";
  c.vocabSize = V;
  c.hiddenSize = d;
  c.numLayers = L;
  c.numHeads = h.nHeads;
  c.numKvHeads = h.nKvHeads;
  c.intermediateSize = hd;
  c.maxPositions = h.seqLen;
  c.normEps = 1e-5;
  c.ropeTheta = 10000.0;
  c.tieWordEmbeddings = sharedClassifier;
  c.hiddenAct = "silu";
  c.qkvBias = c.oBias = c.mlpBias = false;
  c.bosTokenId = 1;
  c.eosTokenId = 2;
  return ck;
}

Llama2cVocab readLlama2cTokenizer(const std::filesystem::path& file, int64_t vocabSize) {
  BoundedReader in(file, "reading " + file.string());
  if (vocabSize <= 0) in.fail("vocabulary size must be positive, got " + std::to_string(vocabSize));
  // Each token takes at least 8 bytes (score + length), which bounds the reservation below.
  if (static_cast<uint64_t>(vocabSize) > in.size() / 8)
    in.fail("cannot hold " + std::to_string(vocabSize) + " tokens in " + std::to_string(in.size()) +
            " bytes");
  Llama2cVocab v;
  v.maxTokenLength = in.readLe<int32_t>("max_token_length");
  if (v.maxTokenLength < 0)
    in.fail("max_token_length is negative (" + std::to_string(v.maxTokenLength) + ")");
  v.pieces.reserve(static_cast<size_t>(vocabSize));
  v.scores.reserve(static_cast<size_t>(vocabSize));
  for (int64_t i = 0; i < vocabSize; ++i) {
    const std::string what = "token " + std::to_string(i);
    const float score = in.readLe<float>(what + " score");
    const int32_t len = in.readLe<int32_t>(what + " length");
    if (len < 0) in.fail(what + " has negative length " + std::to_string(len));
    in.require(static_cast<uint64_t>(len), what + " (length " + std::to_string(len) + ")");
    std::string piece(static_cast<size_t>(len), '\0');
    in.read(piece.data(), static_cast<uint64_t>(len), what);
    v.scores.push_back(score);
    v.pieces.push_back(std::move(piece));
  }
  return v;
}

namespace {

void checkPermutable(const at::Tensor& w, int64_t heads, const char* fn) {
  if (heads <= 0 || w.dim() < 1 || w.size(0) % (2 * heads) != 0)
    throw Error(std::string(fn) + ": first dimension " + (w.dim() ? std::to_string(w.size(0)) : "(scalar)") +
                " is not divisible by 2 x " + std::to_string(heads) + " heads");
}

}  // namespace

at::Tensor permuteInterleavedToHalf(const at::Tensor& w, int64_t heads) {
  checkPermutable(w, heads, "permuteInterleavedToHalf");
  // Per head, rows (2i, 2i+1) become rows (i, i + headDim/2): HF's convert_llama_weights_to_hf.
  const int64_t half = w.size(0) / heads / 2;
  return w.reshape({heads, half, 2, -1}).transpose(1, 2).reshape(w.sizes());
}

at::Tensor permuteHalfToInterleaved(const at::Tensor& w, int64_t heads) {
  checkPermutable(w, heads, "permuteHalfToInterleaved");
  const int64_t half = w.size(0) / heads / 2;
  return w.reshape({heads, 2, half, -1}).transpose(1, 2).reshape(w.sizes());
}

}  // namespace ranklab::io
