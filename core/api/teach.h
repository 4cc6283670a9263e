// Torch-free numerics for the teaching mode (app/teach_session.h): the SVD of a small matrix (an
// image) and the singular spectra of every op of a model, plain and weighted. Implemented in
// core/jobs/teach.cpp. Every function is synchronous, thread-safe and meant for a worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/types.h"
#include "common/progress.h"

namespace ranklab::api {

// A = U diag(s) V^T of a rows x cols matrix, K = min(rows, cols), s descending. Row-major float32:
// u is rows x K, vt is K x cols.
struct MatrixSvd {
  int64_t rows = 0, cols = 0;
  std::vector<float> u;
  std::vector<float> s;
  std::vector<float> vt;
};

// The SVD of `values` (rows x cols, row-major), computed in float64 and returned as float32.
// Throws ranklab::Error when values.size() != rows * cols or a dimension is not positive.
MatrixSvd matrixSvd(const std::vector<float>& values, int64_t rows, int64_t cols);

// The singular spectra of one op, W of shape M x N (in x out), each descending with min(M, N)
// values; a weighted spectrum is empty when it was not computed:
//  - plain:      SVD of W. Dropping s_i costs s_i^2 of ||W - W_k||_F^2.
//  - fisher:     FWSVD's SVD(D W), D = diag(sqrt(row sums of the mean squared gradient)).
//  - activation: ASVD's SVD(diag(mean |x_j|^0.5) W).
//  - whitened:   SVD(L^T W) with L L^T = X^T X on the calibration tokens: dropping s_i costs exactly
//                s_i^2 of the output error ||X W - X W_k||_F^2, and sum s_i^2 = ||X W||_F^2.
struct OpSpectra {
  OpInfo op;
  std::vector<float> plain;
  std::vector<float> fisher;
  std::vector<float> activation;
  std::vector<float> whitened;
};

struct ModelSpectra {
  ModelSummary summary;
  std::vector<OpSpectra> ops;  // summary.ops order
  // Calibration behind the weighted spectra (empty path and zeros when none was run).
  std::string calibPath;
  int64_t calibSamples = 0;
  int64_t calibTokens = 0;
};

// Loads the model at `modelPath` on the CPU and computes every op's plain spectrum; with a
// `calibPath` (a text file; causal language models only) it also runs a calibration pass over
// `samples` windows of `length` tokens (a seeded choice) and computes the weighted spectra.
// Seconds for the shipped gpt-mini. Throws ranklab::Error naming the file for a missing or
// unreadable model or text, or when calibration is asked of a model that is not a causal LM;
// ranklab::Cancelled when `cancel` is set.
ModelSpectra modelSpectra(const std::string& modelPath, const std::string& calibPath = {},
                          int64_t samples = 8, int64_t length = 128, uint64_t seed = 0,
                          const CancelToken* cancel = nullptr);

}  // namespace ranklab::api
