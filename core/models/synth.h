// Random-weight models of real shapes, for measuring RankLab at scale (bench/scale.sh) where no
// pretrained weights of that size are at hand: GPT-2 small and medium, TinyLlama 1.1B, LLaMA-2 7B and
// tiny ones for tests. Quality is meaningless on random weights; time and memory are real.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/progress.h"
#include "io/model_config.h"

namespace ranklab::models {

struct SynthPreset {
  std::string name;         // "gpt2", "tinyllama", ...
  std::string description;  // "GPT-2 small, 124M"
  io::ModelConfig config;
};

// Every preset, in order of size.
const std::vector<SynthPreset>& synthPresets();
// The preset `name`; throws ranklab::Error listing the presets for an unknown one.
const SynthPreset& synthPreset(const std::string& name);

// The tensors a Hugging Face checkpoint of `config` holds (GPT-2 and LLaMA), name and shape, in the
// order they are written. Throws ranklab::Error for BERT.
std::vector<std::pair<std::string, std::vector<int64_t>>> hfTensorLayout(const io::ModelConfig& config);

// Writes `dir` as a Hugging Face directory RankLab (and transformers) can load: config.json,
// model.safetensors with every weight in `dtype` (float32, float16 or bfloat16) and a tokenizer
// (GPT-2: the shipped byte-level BPE; LLaMA: a llama2.c tokenizer.bin of the config's vocabulary size,
// byte pieces plus letter n-grams). Matrices are N(0, 0.02^2) from a generator seeded with `seed`,
// norm weights 1, biases 0. One tensor is in memory at a time; progress phase "synth", one unit per
// tensor. Throws ranklab::Error naming the directory (e.g. a full disk).
void writeSyntheticModel(const io::ModelConfig& config, c10::ScalarType dtype, uint64_t seed,
                         const std::filesystem::path& dir, ProgressSink* progress = nullptr,
                         const CancelToken* cancel = nullptr);

}  // namespace ranklab::models
