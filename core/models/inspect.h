// Model inspection for callers that must not see LibTorch (the GUI's model loader, teaching mode).
// Torch-free header; implemented in core/models.
#pragma once

#include <string>

#include "api/types.h"

namespace ranklab::models {

// Loads the model at `path` (Hugging Face directory, .gguf, or llama2.c .bin with `tokenizerPath`
// optional) on the CPU and summarises it: architecture, parameter counts, the op table.
// Slow (reads every weight); call it off the UI thread. Thread-safe. Throws ranklab::Error
// (a std::runtime_error) whose message names the file and the problem.
api::ModelSummary inspectModel(const std::string& path, const std::string& tokenizerPath = {});

}  // namespace ranklab::models
