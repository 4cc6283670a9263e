// Torch-free entry points into core for the UI: functions the GUI may call (on a worker thread)
// without seeing LibTorch. Implemented in core/models.
#pragma once

#include <string>
#include <vector>

#include "api/types.h"

namespace ranklab::api {

// Loads the model at `path` (Hugging Face directory, .gguf, or llama2.c .bin with `tokenizerPath`
// optional) on the CPU and summarises it: architecture, parameter counts, the op table.
// Slow (reads every weight); call it off the UI thread. Thread-safe. Throws ranklab::Error
// (a std::runtime_error) whose message names the file and the problem.
ModelSummary inspectModel(const std::string& path, const std::string& tokenizerPath = {});

// The device specs a job may name here: "auto", "cpu", then "cuda:0" ... for each CUDA device this
// LibTorch build sees. Cheap; thread-safe.
std::vector<std::string> availableDevices();
// What "auto" (or any spec) resolves to, for the status bar: "cpu" or "cuda:0". A malformed or
// unavailable spec gives the error message instead of throwing.
std::string resolveDevice(const std::string& spec);

}  // namespace ranklab::api
