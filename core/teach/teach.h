// The teaching mode's numerics (app/teach_session.h feeds the chapters from these): the SVD of a small
// matrix (an image) and the singular spectra of every op of a model, plain and weighted. Torch-free
// header: the GUI calls these on a worker thread. Every function is synchronous and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/teach.h"
#include "common/progress.h"

namespace ranklab::teach {

// The SVD of `values` (rows x cols, row-major), computed in float64 and returned as float32.
// Throws ranklab::Error when values.size() != rows * cols or a dimension is not positive.
api::MatrixSvd matrixSvd(const std::vector<float>& values, int64_t rows, int64_t cols);

// Loads the model at `modelPath` on the CPU and computes every op's plain spectrum; with a
// `calibPath` (a text file; causal language models only) it also runs a calibration pass over
// `samples` windows of `length` tokens (a seeded choice) and computes the weighted spectra.
// Seconds for the shipped gpt-mini. Throws ranklab::Error naming the file for a missing or
// unreadable model or text, or when calibration is asked of a model that is not a causal LM;
// ranklab::Cancelled when `cancel` is set.
api::ModelSpectra modelSpectra(const std::string& modelPath, const std::string& calibPath = {},
                               int64_t samples = 8, int64_t length = 128, uint64_t seed = 0,
                               const CancelToken* cancel = nullptr);

}  // namespace ranklab::teach
