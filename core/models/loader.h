// Loading models from disk in any supported format, and writing them back out.
//
// Formats: a Hugging Face directory (config.json + model.safetensors or a sharded index), a GGUF
// file (llama architecture; F32/F16/BF16/Q8_0 tensors; embedded tokenizer), a llama2.c checkpoint
// (.bin; tokenizer passed separately). Everything is validated before use; failures throw
// ranklab::Error naming the file and the problem.
#pragma once

#include <c10/core/Device.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "api/types.h"
#include "io/llama2c.h"
#include "models/language_model.h"
#include "tokenize/tokenizer.h"

namespace ranklab::models {

struct LoadOptions {
  std::string device = "auto";          // auto | cpu | cuda[:N]
  std::filesystem::path tokenizerPath;  // overrides the tokenizer found next to the model
};

struct LoadedModel {
  std::shared_ptr<LanguageModel> model;
  std::shared_ptr<tokenize::Tokenizer> tokenizer;  // null when none was found
  std::string format;                              // "hf-safetensors", "gguf", "llama2c"
  std::filesystem::path source;
  // Scored-piece vocabulary (llama2.c / GGUF llama tokenizers), kept so converters can write it.
  std::optional<io::Llama2cVocab> scoredVocab;
  // Where the tokenizer came from (a file or a directory), when it came from files.
  std::filesystem::path tokenizerSource;

  api::ModelSummary summary() const;
};

LoadedModel loadModel(const std::filesystem::path& path, const LoadOptions& options = {});

// Writes a Hugging Face directory: config.json, model.safetensors and the tokenizer files
// (copied from a HF source; tokenizer.bin in llama2.c format for scored-piece vocabularies).
void saveHfDirectory(const LoadedModel& loaded, const std::filesystem::path& dir);

// Writes a GGUF v3 file (llama architecture only) with the embedded tokenizer when the model has
// a scored-piece vocabulary. q/k weights are permuted to GGUF's interleaved RoPE layout.
void saveGguf(const LoadedModel& loaded, const std::filesystem::path& file);

// Writes a llama2.c tokenizer.bin.
void writeLlama2cTokenizer(const io::Llama2cVocab& vocab, const std::filesystem::path& file);

}  // namespace ranklab::models
