// ranklab-cli's training commands: pretrain (causal LM, or --mlm for BERT encoders) and finetune
// (sequence classification, or causal-LM fine-tuning). Each has one options struct, a function
// registering its flags into it, and a function running it. Internal to the cli library.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "train/finetune.h"
#include "train/pretrain.h"

namespace ranklab::cli {

// Flags both training commands take.
struct TrainFlags {
  std::string out;
  std::string valid;
  std::string saveDtype = "fp16";
  std::string docSep = "<|endoftext|>";
  bool asJson = false;
  std::string device = "auto";
  int threads = 0;  // 0: LibTorch's choice
};

struct PretrainOptions {
  std::vector<std::string> trainFiles;
  std::string tokenizer;
  bool mlm = false;
  int64_t layers = 4, hidden = 256, heads = 4, ff = 1024, ctx = 128;
  train::PretrainOptions train;  // addPretrain sets the CLI's defaults (sequence length 0: --ctx)
  TrainFlags flags;
};

struct FinetuneOptions {
  std::string model;
  std::string labelled;  // sequence classification, or
  std::string text;      // causal LM
  std::string labels;
  int64_t maxLength = 128, seqLen = 128;
  train::FinetuneOptions train;  // addFinetune sets the CLI's defaults
  TrainFlags flags;
};

// Each add* registers the subcommand on `app` with its flags bound to `o` (which must outlive
// parsing) and returns it; each run* runs the parsed command (`commandLine` is recorded in the
// output's training.json) and returns the exit code. The run functions throw ranklab::Error for
// foreseeable mistakes (the caller prints them).
CLI::App* addPretrain(CLI::App& app, PretrainOptions& o);
int runPretrain(const PretrainOptions& o, const std::string& commandLine);

CLI::App* addFinetune(CLI::App& app, FinetuneOptions& o);
int runFinetune(const FinetuneOptions& o, const std::string& commandLine);

}  // namespace ranklab::cli
