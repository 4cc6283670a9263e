// Training checkpoints shared by pretraining and fine-tuning (internal to core/train).
//
// One file, <dir>/checkpoint.pt, written atomically: a LibTorch archive holding a format tag, the
// run's fingerprint, the step it was saved after, the series logged so far and the loop's running
// numbers (the partly accumulated logging interval), as JSON, the module's parameters and buffers, and
// the optimizer's state. A checkpoint is only resumed by the run it belongs to (same fingerprint).
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <filesystem>
#include <string>
#include <vector>

#include "api/run.h"

namespace ranklab::train::detail {

void saveCheckpoint(const std::filesystem::path& dir, torch::nn::Module& module,
                    torch::optim::Optimizer& optimizer, int64_t step, const std::string& fingerprint,
                    const std::vector<api::SeriesPoint>& series, const std::vector<double>& running);

// Loads <dir>/checkpoint.pt into `module` and `optimizer` when it exists and returns its step (0: no
// checkpoint; nothing is touched). Throws ranklab::Error naming the file when it is unreadable or
// belongs to another run.
int64_t loadCheckpoint(const std::filesystem::path& dir, torch::nn::Module& module,
                       torch::optim::Optimizer& optimizer, const std::string& fingerprint,
                       std::vector<api::SeriesPoint>& series, std::vector<double>& running);

// SHA-256 over every parameter's name and bytes: the starting point of a run, part of its fingerprint.
std::string weightsHash(const torch::nn::Module& module);

}  // namespace ranklab::train::detail
