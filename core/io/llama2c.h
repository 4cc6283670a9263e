// llama2.c checkpoints (legacy version-0 .bin: seven int32 header fields then float32 tensors) and
// llama2.c tokenizer.bin. See llama2c.cpp for the byte layouts.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "io/tensor_map.h"

namespace ranklab::io {

// Weights are renamed to Hugging Face LLaMA names ("model.embed_tokens.weight",
// "model.layers.0.self_attn.q_proj.weight" [out, in], ..., "lm_head.weight" when not shared) and
// the q/k projections are permuted from llama2.c's interleaved RoPE pairs (2i, 2i+1) to HF's
// rotate-half layout, so the same LlamaModel runs every format.
struct Llama2cCheckpoint {
  ModelConfig config;
  TensorMap tensors;
};

// The file is memory-mapped and the tensors view it (io/mapped_file.h), each layer's weight its own
// range; only the permuted q/k projections are copies. Throws ranklab::Error naming the file on a bad
// header (non-positive sizes, heads not dividing dim, ...) or when the file size does not match it.
Llama2cCheckpoint readLlama2c(const std::filesystem::path& file);

struct Llama2cVocab {
  int32_t maxTokenLength = 0;
  std::vector<std::string> pieces;  // as stored (space, not U+2581)
  std::vector<float> scores;
};
Llama2cVocab readLlama2cTokenizer(const std::filesystem::path& file, int64_t vocabSize);

// HF <-> interleaved RoPE row permutations for a q/k weight [heads*headDim, in].
at::Tensor permuteInterleavedToHalf(const at::Tensor& w, int64_t heads);
at::Tensor permuteHalfToInterleaved(const at::Tensor& w, int64_t heads);

}  // namespace ranklab::io
