// Loading models from disk in any supported format, and writing them back out.
//
// Formats: a RankLab factorized directory (ranklab.json + factors.safetensors + config.json, see
// saveFactorizedDirectory), a Hugging Face directory (config.json + model.safetensors or a sharded index), a
// GGUF file (llama architecture; F32/F16/BF16/Q8_0 tensors; embedded tokenizer), a llama2.c checkpoint
// (.bin; tokenizer passed separately). Everything is validated before use; failures throw
// ranklab::Error naming the file and the problem.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
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
  // Hugging Face directories and GGUF files: read the config, the tensor headers and the tokenizer,
  // check them against each other, and stop before any weight is read (a second for any model size).
  // The model's weights are then uninitialised: use the result for summary() and planning only.
  // llama2.c checkpoints (small by nature) load fully.
  bool headersOnly = false;
};

struct LoadedModel {
  std::shared_ptr<LanguageModel> model;
  std::shared_ptr<tokenize::Tokenizer> tokenizer;  // null when none was found
  std::string format;  // "hf-safetensors", "ranklab-factorized", "gguf", "llama2c"
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
// Floating-point weights are stored as `dtype` (float32, float16 or bfloat16).
void saveHfDirectory(const LoadedModel& loaded, const std::filesystem::path& dir,
                     c10::ScalarType dtype = c10::kFloat);

// Writes a RankLab factorized directory that loadModel reloads with identical logits:
//  - config.json: the Hugging Face config of the uncompressed architecture;
//  - factors.safetensors: every parameter and buffer of the model under its LibTorch module path
//    (an op stored low-rank holds "<slot>.impl.a" [M, k] and "<slot>.impl.b" [k, N], a dense one
//    "<slot>.impl.weight" [out, in]; "<slot>.impl.bias" when the op has a bias);
//  - ranklab.json: {"format": "ranklab-factorized", "version": 1, "architecture", "ops": [{"name",
//    "module", "in", "out", "rank", "full_rank", "factorized"}], "rank_pattern": {op name: rank}
//    (PEFT-style, every op stored below full rank), "r": the most common such rank} merged with
//    `extra` (the job's ledger, decomposition, selector, source model and run id; an "op_ranks"
//    array in `extra`, one rank per op, names the chosen rank of ops kept dense as cheaper);
//  - the tokenizer files, as saveHfDirectory copies them.
// Each file is written atomically. Throws ranklab::Error naming the file.
void saveFactorizedDirectory(const LoadedModel& loaded, const std::filesystem::path& dir,
                             const nlohmann::json& extra);

// Writes a GGUF v3 file (llama architecture only) with the embedded tokenizer when the model has
// a scored-piece vocabulary. q/k weights are permuted to GGUF's interleaved RoPE layout. Weights are
// stored as `dtype` (float32: F32, float16: F16, bfloat16: BF16).
void saveGguf(const LoadedModel& loaded, const std::filesystem::path& file,
              c10::ScalarType dtype = c10::kFloat);

// Writes a llama2.c tokenizer.bin.
void writeLlama2cTokenizer(const io::Llama2cVocab& vocab, const std::filesystem::path& file);

}  // namespace ranklab::models
