// Rank selectors that work on spectra and tables (ALGORITHMS.md section 4). Torch-free.
//
// Every selector returns one rank per op (ops order) and never exceeds the budget it is given:
// the ledger (with the dense-if-cheaper rule) of the result is <= keep * T_total. Selectors that
// search to a budget land within one rank step per op of it (fillBudget).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "api/types.h"

namespace ranklab::select {

// Per-op spectrum: singular values (descending, possibly only the top ones) and the total energy
// ||X||_F^2 of the decomposed matrix (the sum of all s_i^2).
struct Spectrum {
  std::vector<double> values;
  double totalEnergy = 0.0;
};

// Smallest k per op with sum_{i<k} s_i^2 >= threshold * total (threshold in [0, 1]).
std::vector<int64_t> energyRanks(const std::vector<api::OpInfo>& ops, const std::vector<Spectrum>& spectra,
                                 double threshold);

// The energy threshold that meets the budget (the largest one whose ranks fit keep * T_total,
// found by bisection), then the leftover budget filled by energy gained per parameter.
// `thresholdOut` receives the threshold. Throws ranklab::Error on size mismatches or keep outside [0, 1].
std::vector<int64_t> energyRanksAtBudget(const std::vector<api::OpInfo>& ops,
                                         const std::vector<Spectrum>& spectra, double keep,
                                         double* thresholdOut = nullptr);

// Manual ranks: `spec` maps an exact op name or a pattern with '*' wildcards ("*.attn.q",
// "layers.0.*") to a rank (>= 1 as an integer count, or a value in (0, 1) as a fraction of the op's
// full rank, floored). An exact name wins over patterns; among patterns the longest wins. Ops no
// entry matches keep their full rank. Throws ranklab::Error for a rank above an op's full rank, a
// negative one, or an entry that matches no op (a typo should not silently do nothing).
std::vector<int64_t> manualRanks(const std::vector<api::OpInfo>& ops,
                                 const std::map<std::string, double>& spec);

// ASVD's sensitivity table: perplexity[op][r] = calibration perplexity with only that op truncated
// to ratios[r] of its full rank (rank floor(ratio * min(M, N))).
struct SensitivityTable {
  std::vector<double> ratios;                   // ascending, in (0, 1)
  std::vector<std::vector<double>> perplexity;  // [op][ratio]
};

// Sensitivity-based truncation rank search (ASVD's STRS): every op takes the smallest ratio whose
// perplexity stays <= a threshold (none: full rank); the threshold is the smallest table value that
// meets the budget (binary search over the sorted entries). The leftover budget then goes, a rank
// at a time, to the ops whose current truncation costs the most perplexity. Throws ranklab::Error
// on a malformed table.
std::vector<int64_t> sensitivityRanks(const std::vector<api::OpInfo>& ops, const SensitivityTable& table,
                                      double keep, double* thresholdOut = nullptr);

// A knapsack fill: it is not monotone in the budget. A larger budget (whose threshold ranks are
// never lower) may leave an op a rank step below what a smaller budget's fill had given it (more
// when that fill had pushed a small op into the dense regime, where further ranks cost nothing).
//
// Raises ranks one at a time while the budget allows, always taking the op whose next rank has
// the highest gain(op, currentRank) per added parameter (ledger cost, so crossing into the dense
// regime is charged correctly). Gains <= 0 are never taken.
std::vector<int64_t> fillBudget(const std::vector<api::OpInfo>& ops, std::vector<int64_t> ranks, double keep,
                                const std::function<double(size_t op, int64_t rank)>& gain);

}  // namespace ranklab::select
