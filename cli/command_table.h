// ranklab-cli's top-level commands with their one-line descriptions, in --help order: one list for
// both halves of the program (cli/front.h: the torch-free launcher shows them in its --help; the
// LibTorch half registers each command under the same name and description). Torch-free.
#pragma once

#include <cstring>

namespace ranklab::cli {

struct CommandInfo {
  const char* name;
  const char* description;
  bool torchFree;  // runs in the launcher, without loading LibTorch
};

inline constexpr CommandInfo kCommands[] = {
    {"info", "Architecture, parameter counts and the table of compressible ops", false},
    {"tokenize", "Print the token ids of a text", false},
    {"generate", "Generate text (greedy at temperature 0)", false},
    {"eval",
     "Perplexity over a text file, accuracy over a labelled file, or zero-shot multiple-choice accuracy",
     false},
    {"convert", "Convert a model to a Hugging Face directory or a GGUF file", false},
    {"bpe-train", "Train a GPT-2-format byte-level BPE tokenizer (vocab.json + merges.txt)", false},
    {"synth",
     "Write a random-weight model of a real shape (for measuring time and memory at scale; its outputs "
     "mean nothing)",
     false},
    {"compress", "Compress a model: calibrate, decompose, select ranks, apply, evaluate, store", false},
    {"demo",
     "The demo job: compress the shipped gpt-mini with plain SVD and uniform ranks, evaluate before and "
     "after",
     false},
    {"run", "Run a job described by a JSON spec (the keys of a run's config)", false},
    {"sweep", "Run a grid of jobs (a job spec with lists in place of values), resumably, into one database",
     false},
    {"merge", "Fold run databases (e.g. a Slurm sweep's shards) into one (idempotent)", false},
    {"runs", "List, show, delete, tag, annotate and merge stored runs", true},
    {"pretrain", "Pretrain a GPT-2 decoder (causal LM) or, with --mlm, a BERT encoder from scratch", false},
    {"finetune", "Fine-tune a model: sequence classification (--labelled) or causal LM (--text)", false},
    {"completion",
     "Print a bash completion script (eval \"$(ranklab-cli completion bash)\"; the Debian package installs "
     "it)",
     false},
};

// The description of top-level command `name` (which must be in kCommands).
inline const char* commandDescription(const char* name) {
  for (const auto& c : kCommands)
    if (std::strcmp(c.name, name) == 0) return c.description;
  return "";
}

inline constexpr const char* kProgramDescription =
    "RankLab command-line interface: inspect, run and evaluate language models for low-rank compression";

}  // namespace ranklab::cli
