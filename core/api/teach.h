// Value types of the teaching mode's numerics (computed by core/teach/teach.h, shown by the teaching
// chapters): the SVD of a small matrix (an image) and the singular spectra of every op of a model,
// plain and weighted. Plain data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/types.h"

namespace ranklab::api {

// A = U diag(s) V^T of a rows x cols matrix, K = min(rows, cols), s descending. Row-major float32:
// u is rows x K, vt is K x cols.
struct MatrixSvd {
  int64_t rows = 0, cols = 0;
  std::vector<float> u;
  std::vector<float> s;
  std::vector<float> vt;
};

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

}  // namespace ranklab::api
