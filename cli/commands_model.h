// ranklab-cli's model commands: info, tokenize, generate, eval, convert and bpe-train. Each has one
// options struct, a function registering its flags into it, and a function running it. Internal to
// the cli library.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "tokenize/bpe_trainer.h"

namespace ranklab::cli {

// Flags of the commands that load a model.
struct ModelFlags {
  bool asJson = false;
  std::string device = "auto";
  int threads = 0;        // 0: LibTorch's choice
  std::string tokenizer;  // empty: the model's own
};

struct InfoOptions {
  std::string model;
  ModelFlags flags;
};

struct TokenizeOptions {
  std::string tokenizer;
  std::string text;
  int64_t vocabSize = -1;  // llama2.c tokenizer.bin only; -1: read to the end
  bool asJson = false;
};

struct GenerateOptions {
  std::string model;
  int64_t steps = 256;
  std::string prompt;
  double temperature = 0.0;
  uint64_t seed = 0;
  ModelFlags flags;
};

struct EvalOptions {
  std::string model;
  std::string text;      // perplexity, or
  std::string labelled;  // accuracy, or
  std::string choices;   // multiple-choice acc and acc_norm
  std::string format;    // of `choices`; "" = detected
  std::string labels;    // PIQA's labels file
  int64_t maxItems = 0;
  std::string docSep = "<|endoftext|>";
  int64_t ctx = 0;
  bool truncate = false;
  int64_t stride = 0;
  int64_t maxDocs = 0;
  int64_t batch = 8;
  ModelFlags flags;
};

struct ConvertOptions {
  std::string model;
  std::string output;
  std::string format;          // empty: from the output's extension
  std::string dtype = "fp32";  // stored precision of the written weights: fp32 | fp16 | bf16
  ModelFlags flags;            // --device is accepted but conversion always loads on the CPU
};

struct SynthOptions {
  std::string preset;
  std::string arch;  // optional: checked against the preset's
  std::string dtype = "fp16";
  uint64_t seed = 0;
  std::string out;
  bool list = false;
  bool asJson = false;
};

struct BpeTrainOptions {
  std::vector<std::string> inputs;
  std::string out;
  tokenize::BpeTrainOptions bpe;
  bool asJson = false;
};

// Each add* registers the subcommand on `app` with its flags bound to `o` (which must outlive
// parsing) and returns it; each run* runs the parsed command and returns the exit code. The run
// functions throw ranklab::Error for foreseeable mistakes (the caller prints them).
CLI::App* addInfo(CLI::App& app, InfoOptions& o);
int runInfo(const InfoOptions& o);

CLI::App* addTokenize(CLI::App& app, TokenizeOptions& o);
int runTokenize(const TokenizeOptions& o);

CLI::App* addGenerate(CLI::App& app, GenerateOptions& o);
int runGenerate(const GenerateOptions& o);

CLI::App* addEval(CLI::App& app, EvalOptions& o);
int runEval(const EvalOptions& o);

CLI::App* addConvert(CLI::App& app, ConvertOptions& o);
int runConvert(const ConvertOptions& o);

CLI::App* addSynth(CLI::App& app, SynthOptions& o);
int runSynth(const SynthOptions& o);

CLI::App* addBpeTrain(CLI::App& app, BpeTrainOptions& o);
int runBpeTrain(const BpeTrainOptions& o);

}  // namespace ranklab::cli
