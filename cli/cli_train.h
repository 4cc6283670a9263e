// ranklab-cli's training commands: pretrain (causal LM, or --mlm for BERT encoders) and finetune
// (sequence classification, or causal-LM fine-tuning). Internal to the cli library.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

namespace ranklab::cli::detail {

struct TrainCommands;

// Registers the commands on `app`; the returned state must outlive parsing.
std::shared_ptr<TrainCommands> addTrainCommands(CLI::App& app);
// Runs the parsed training command (`commandLine` is recorded in the output's training.json). Returns -1
// when none of them was parsed. Throws ranklab::Error for foreseeable mistakes (the caller prints them).
int runTrainCommands(TrainCommands& commands, const std::string& commandLine);

}  // namespace ranklab::cli::detail
