#include <ATen/ATen.h>

#include <cstring>

#include "io/llama2c.h"
#include "io_test_util.h"
#include "test_paths.h"

namespace ranklab::io {
namespace {

using test::ScratchDir;

const std::filesystem::path kReference = std::filesystem::path(RANKLAB_REFERENCE_DIR) / "stories260K";

#define REQUIRE_REFERENCE(file) \
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "reference not found at " << (file)

TEST(Llama2c, ReferenceStories260K) {
  const auto file = kReference / "stories260K.bin";
  REQUIRE_REFERENCE(file);
  const Llama2cCheckpoint ck = readLlama2c(file);
  const ModelConfig& c = ck.config;
  EXPECT_EQ(c.arch, Architecture::Llama);
  EXPECT_EQ(c.modelType, "llama");
  EXPECT_EQ(c.hiddenSize, 64);
  EXPECT_EQ(c.intermediateSize, 172);
  EXPECT_EQ(c.numLayers, 5);
  EXPECT_EQ(c.numHeads, 8);
  EXPECT_EQ(c.numKvHeads, 4);
  EXPECT_EQ(c.vocabSize, 512);
  EXPECT_EQ(c.maxPositions, 512);
  EXPECT_TRUE(c.tieWordEmbeddings) << "positive vocab_size: classifier shares the embedding";
  EXPECT_EQ(c.bosTokenId, 1);
  EXPECT_EQ(c.eosTokenId, 2);
  EXPECT_FALSE(ck.tensors.count("lm_head.weight"));

  // 5 layers x 7 linear ops (q, k, v, o, gate, up, down) = 35, plus embedding, 2 norms per
  // layer, and the final norm.
  int linear = 0;
  for (const auto& [name, t] : ck.tensors)
    if (name.size() > 12 && name.compare(name.size() - 12, 12, "_proj.weight") == 0) ++linear;
  EXPECT_EQ(linear, 35);
  EXPECT_EQ(ck.tensors.size(), 35u + 1 + 10 + 1);
  EXPECT_EQ(ck.tensors.at("model.embed_tokens.weight").sizes(), (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(ck.tensors.at("model.layers.0.self_attn.q_proj.weight").sizes(), (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(ck.tensors.at("model.layers.4.self_attn.k_proj.weight").sizes(), (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(ck.tensors.at("model.layers.2.self_attn.v_proj.weight").sizes(), (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(ck.tensors.at("model.layers.1.mlp.gate_proj.weight").sizes(), (std::vector<int64_t>{172, 64}));
  EXPECT_EQ(ck.tensors.at("model.layers.1.mlp.up_proj.weight").sizes(), (std::vector<int64_t>{172, 64}));
  EXPECT_EQ(ck.tensors.at("model.layers.1.mlp.down_proj.weight").sizes(), (std::vector<int64_t>{64, 172}));
  EXPECT_EQ(ck.tensors.at("model.norm.weight").sizes(), (std::vector<int64_t>{64}));
  for (const auto& [name, t] : ck.tensors) {
    EXPECT_EQ(t.scalar_type(), at::kFloat) << name;
    EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << name;
  }

  // The q projection read from the file, un-permuted, must equal the raw interleaved bytes of wq[0]
  // (offset: header 28 + embedding 512*64 + rms_att 5*64 floats). Metric: exact equality.
  const std::vector<char> bytes = test::readBytes(file);
  at::Tensor rawWq0 = at::empty({64, 64}, at::kFloat);
  std::memcpy(rawWq0.data_ptr(), bytes.data() + 28 + 4 * (512 * 64 + 5 * 64), 64 * 64 * 4);
  EXPECT_TRUE(
      at::equal(permuteHalfToInterleaved(ck.tensors.at("model.layers.0.self_attn.q_proj.weight"), 8), rawWq0))
      << "q_proj is wq permuted to rotate-half, exactly";

  // Mapped, not copied: each layer's v projection views its own range of the file, one layer's
  // worth (32 x 64 floats) after the previous one's.
  const auto* v0 =
      static_cast<const char*>(ck.tensors.at("model.layers.0.self_attn.v_proj.weight").data_ptr());
  const auto* v1 =
      static_cast<const char*>(ck.tensors.at("model.layers.1.self_attn.v_proj.weight").data_ptr());
  EXPECT_EQ(v1 - v0, 32 * 64 * 4);
  at::Tensor rawWv0 = at::empty({32, 64}, at::kFloat);
  // header + embedding + rms_att + wq (5 x 64 x 64) + wk (5 x 32 x 64)
  std::memcpy(rawWv0.data_ptr(), bytes.data() + 28 + 4 * (512 * 64 + 5 * 64 + 5 * 64 * 64 + 5 * 32 * 64),
              32 * 64 * 4);
  EXPECT_TRUE(at::equal(ck.tensors.at("model.layers.0.self_attn.v_proj.weight"), rawWv0));
}

TEST(Llama2c, TruncatedReferenceNamesFile) {
  const auto file = kReference / "stories260K.bin";
  REQUIRE_REFERENCE(file);
  ScratchDir dir;
  std::vector<char> bytes = test::readBytes(file);
  bytes.resize(bytes.size() - 1000);
  test::writeBytes(dir / "cut_stories.bin", bytes);
  EXPECT_RANKLAB_ERROR(readLlama2c(dir / "cut_stories.bin"), "cut_stories.bin", "implies 1056540 bytes",
                       "file has " + std::to_string(bytes.size()));
}

TEST(Llama2c, ReferenceTokenizer) {
  const auto file = kReference / "tok512.bin";
  REQUIRE_REFERENCE(file);
  const Llama2cVocab v = readLlama2cTokenizer(file, 512);
  ASSERT_EQ(v.pieces.size(), 512u);
  ASSERT_EQ(v.scores.size(), 512u);
  EXPECT_GT(v.maxTokenLength, 0);
  EXPECT_EQ(v.pieces[0], "<unk>");
  EXPECT_EQ(v.pieces[1], "\n<s>\n");
  EXPECT_EQ(v.pieces[3], "<0x00>");
  EXPECT_EQ(v.pieces[258], "<0xFF>");

  ScratchDir dir;
  std::vector<char> bytes = test::readBytes(file);
  bytes.resize(bytes.size() - 3);
  test::writeBytes(dir / "tok_cut.bin", bytes);
  EXPECT_RANKLAB_ERROR(readLlama2cTokenizer(dir / "tok_cut.bin", 512), "tok_cut.bin", "token 511");
}

// A synthetic checkpoint with a separate classifier (negative vocab_size), built in the test.
std::vector<char> syntheticCheckpoint(bool separateClassifier, int32_t nHeads = 4) {
  const int32_t dim = 16, hidden = 24, layers = 2, kvHeads = 2, vocab = 10, seq = 8;
  const int32_t header[7] = {dim, hidden, layers, nHeads, kvHeads, separateClassifier ? -vocab : vocab, seq};
  const int64_t kvDim = dim / nHeads * kvHeads;
  const int64_t floats = vocab * dim + layers * dim * 2 + layers * dim * dim * 2 + layers * kvDim * dim * 2 +
                         layers * hidden * dim * 3 + dim + seq * (dim / nHeads / 2) * 2 +
                         (separateClassifier ? vocab * dim : 0);
  std::vector<char> b(sizeof(header) + floats * 4);
  std::memcpy(b.data(), header, sizeof(header));
  for (int64_t i = 0; i < floats; ++i) {
    const float f = static_cast<float>(i);
    std::memcpy(b.data() + sizeof(header) + i * 4, &f, 4);
  }
  return b;
}

TEST(Llama2c, SeparateClassifier) {
  ScratchDir dir;
  const std::vector<char> b = syntheticCheckpoint(true);
  test::writeBytes(dir / "cls.bin", b);
  const Llama2cCheckpoint ck = readLlama2c(dir / "cls.bin");
  EXPECT_FALSE(ck.config.tieWordEmbeddings);
  EXPECT_EQ(ck.config.vocabSize, 10);
  ASSERT_TRUE(ck.tensors.count("lm_head.weight"));
  // Floats hold their own index, so the classifier's first value is the count of floats before it.
  const int64_t total = static_cast<int64_t>((b.size() - 28) / 4);
  EXPECT_EQ(ck.tensors.at("lm_head.weight").sizes(), (std::vector<int64_t>{10, 16}));
  EXPECT_EQ(ck.tensors.at("lm_head.weight")[0][0].item<float>(), static_cast<float>(total - 160)) << "exact";
  EXPECT_EQ(ck.tensors.at("model.embed_tokens.weight")[1][0].item<float>(), 16.0f) << "exact";

  // Same bytes with a positive vocab_size: the size no longer matches and the message says why.
  std::vector<char> flipped = b;
  const int32_t positive = 10;
  std::memcpy(flipped.data() + 20, &positive, 4);
  test::writeBytes(dir / "flipped.bin", flipped);
  EXPECT_RANKLAB_ERROR(readLlama2c(dir / "flipped.bin"), "flipped.bin", "separate classifier");
}

TEST(Llama2c, BadHeader) {
  ScratchDir dir;
  test::writeBytes(dir / "bad_heads.bin", syntheticCheckpoint(false, 3));
  EXPECT_RANKLAB_ERROR(readLlama2c(dir / "bad_heads.bin"), "bad_heads.bin", "n_heads");
  std::vector<char> b = syntheticCheckpoint(false);
  const int32_t zero = 0;
  std::memcpy(b.data(), &zero, 4);
  test::writeBytes(dir / "zero_dim.bin", b);
  EXPECT_RANKLAB_ERROR(readLlama2c(dir / "zero_dim.bin"), "zero_dim.bin", "non-positive");
  test::writeBytes(dir / "tiny.bin", {1, 2, 3});
  EXPECT_RANKLAB_ERROR(readLlama2c(dir / "tiny.bin"), "tiny.bin", "too small");
}

TEST(Llama2c, PermuteRoundTripAndConvention) {
  at::manual_seed(3);
  const at::Tensor w = at::randn({32, 12});
  for (int64_t heads : {1, 2, 4, 8, 16}) {
    EXPECT_TRUE(at::equal(permuteHalfToInterleaved(permuteInterleavedToHalf(w, heads), heads), w))
        << heads << " heads: exact inverse";
    EXPECT_TRUE(at::equal(permuteInterleavedToHalf(permuteHalfToInterleaved(w, heads), heads), w))
        << heads << " heads: exact inverse";
  }
  // HF convention: within each head of size 8, interleaved rows (0,1,2,...,7) = pairs (0,1),(2,3),
  // (4,5),(6,7) become rotate-half order 0,2,4,6,1,3,5,7.
  const at::Tensor rows = at::arange(16, at::kFloat).reshape({16, 1});
  const at::Tensor half = permuteInterleavedToHalf(rows, 2).flatten();
  const std::vector<float> expected = {0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15};
  EXPECT_TRUE(at::equal(half, at::tensor(expected))) << "exact row order";
  EXPECT_RANKLAB_ERROR(permuteInterleavedToHalf(at::zeros({6, 2}), 2), "not divisible");
}

}  // namespace
}  // namespace ranklab::io
