#include "select/selectors.h"

#include <algorithm>
#include <cmath>
#include <queue>

#include "common/error.h"
#include "select/ledger.h"

namespace ranklab::select {

namespace {

void checkKeep(double keep) {
  if (!(keep >= 0.0 && keep <= 1.0))
    throw Error("kept fraction p must lie in [0, 1], got " + std::to_string(keep));
}

int64_t budgetOf(const std::vector<api::OpInfo>& ops, double keep) {
  int64_t total = 0;
  for (const auto& op : ops) total += op.params();
  // The tiny slack absorbs floating-point noise in keep * T_total for budgets meant to be exact.
  return static_cast<int64_t>(std::floor(keep * static_cast<double>(total) + 1e-9));
}

int64_t costOf(const std::vector<api::OpInfo>& ops, const std::vector<int64_t>& ranks) {
  int64_t c = 0;
  for (size_t i = 0; i < ops.size(); ++i) c += opCost(ops[i], ranks[i]);
  return c;
}

bool globMatch(const char* pattern, const char* text) {
  if (*pattern == '\0') return *text == '\0';
  if (*pattern == '*') return globMatch(pattern + 1, text) || (*text != '\0' && globMatch(pattern, text + 1));
  return *text != '\0' && *pattern == *text && globMatch(pattern + 1, text + 1);
}

}  // namespace

std::vector<int64_t> energyRanks(const std::vector<api::OpInfo>& ops, const std::vector<Spectrum>& spectra,
                                 double threshold) {
  if (spectra.size() != ops.size())
    throw Error("energy selector: " + std::to_string(spectra.size()) + " spectra for " +
                std::to_string(ops.size()) + " ops");
  if (!(threshold >= 0.0 && threshold <= 1.0))
    throw Error("energy threshold must lie in [0, 1], got " + std::to_string(threshold));
  std::vector<int64_t> out;
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto& s = spectra[i];
    const int64_t full = fullRank(ops[i]);
    double total = s.totalEnergy;
    if (total <= 0.0)
      for (double v : s.values) total += v * v;
    const double target = threshold * total * (1.0 - 1e-12);
    double acc = 0.0;
    int64_t k = 0;
    while (acc < target && k < static_cast<int64_t>(s.values.size())) {
      acc += s.values[static_cast<size_t>(k)] * s.values[static_cast<size_t>(k)];
      ++k;
    }
    // A truncated spectrum that never reaches the threshold needs more than it holds: full rank.
    if (acc < target) k = full;
    out.push_back(std::min(k, full));
  }
  return out;
}

std::vector<int64_t> fillBudget(const std::vector<api::OpInfo>& ops, std::vector<int64_t> ranks, double keep,
                                const std::function<double(size_t, int64_t)>& gain) {
  checkKeep(keep);
  const int64_t budget = budgetOf(ops, keep);
  int64_t used = costOf(ops, ranks);
  using Item = std::pair<double, size_t>;  // gain per parameter, op
  std::priority_queue<Item> queue;
  auto push = [&](size_t i) {
    if (ranks[i] >= fullRank(ops[i])) return;
    const int64_t extra = opCost(ops[i], ranks[i] + 1) - opCost(ops[i], ranks[i]);
    const double g = gain(i, ranks[i]);
    if (g <= 0.0) return;
    queue.push({extra > 0 ? g / static_cast<double>(extra) : g * 1e30, i});
  };
  for (size_t i = 0; i < ops.size(); ++i) push(i);
  while (!queue.empty()) {
    const size_t i = queue.top().second;
    queue.pop();
    const int64_t extra = opCost(ops[i], ranks[i] + 1) - opCost(ops[i], ranks[i]);
    if (used + extra > budget) continue;  // this op no longer fits; others may
    used += extra;
    ++ranks[i];
    push(i);
  }
  return ranks;
}

std::vector<int64_t> energyRanksAtBudget(const std::vector<api::OpInfo>& ops,
                                         const std::vector<Spectrum>& spectra, double keep,
                                         double* thresholdOut) {
  checkKeep(keep);
  const int64_t budget = budgetOf(ops, keep);
  double lo = 0.0, hi = 1.0;
  if (costOf(ops, energyRanks(ops, spectra, 1.0)) <= budget) lo = 1.0;
  for (int it = 0; it < 60 && lo < hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (costOf(ops, energyRanks(ops, spectra, mid)) <= budget)
      lo = mid;
    else
      hi = mid;
  }
  if (thresholdOut) *thresholdOut = lo;
  auto ranks = energyRanks(ops, spectra, lo);
  return fillBudget(ops, std::move(ranks), keep, [&](size_t i, int64_t k) {
    const auto& s = spectra[i];
    if (k >= static_cast<int64_t>(s.values.size())) return 1e-300;  // beyond the known spectrum: last resort
    const double total = s.totalEnergy > 0.0 ? s.totalEnergy : 1.0;
    const double v = s.values[static_cast<size_t>(k)];
    return std::max(v * v / total, 1e-300);
  });
}

std::vector<int64_t> manualRanks(const std::vector<api::OpInfo>& ops,
                                 const std::map<std::string, double>& spec) {
  std::vector<int64_t> out;
  std::map<std::string, bool> used;
  for (const auto& [key, value] : spec) used[key] = false;
  for (const auto& op : ops) {
    const int64_t full = fullRank(op);
    const std::string* best = nullptr;
    if (spec.count(op.name)) {
      best = &spec.find(op.name)->first;
    } else {
      for (const auto& [pattern, value] : spec)
        if (pattern.find('*') != std::string::npos && globMatch(pattern.c_str(), op.name.c_str()) &&
            (!best || pattern.size() > best->size()))
          best = &pattern;
    }
    if (!best) {
      out.push_back(full);
      continue;
    }
    used[*best] = true;
    const double v = spec.at(*best);
    if (!(v >= 0.0)) throw Error("manual ranks: '" + *best + "' has a negative or invalid rank");
    const int64_t k = v > 0.0 && v < 1.0 ? static_cast<int64_t>(std::floor(v * static_cast<double>(full)))
                                         : static_cast<int64_t>(std::llround(v));
    if (k > full)
      throw Error("manual ranks: rank " + std::to_string(k) + " for op '" + op.name +
                  "' exceeds its full rank " + std::to_string(full));
    out.push_back(k);
  }
  for (const auto& [key, wasUsed] : used)
    if (!wasUsed)
      throw Error("manual ranks: '" + key +
                  "' sets no op's rank (it matches no op of the model, or only ops that a more " +
                  "specific entry sets)");
  return out;
}

std::vector<int64_t> sensitivityRanks(const std::vector<api::OpInfo>& ops, const SensitivityTable& table,
                                      double keep, double* thresholdOut) {
  checkKeep(keep);
  if (table.perplexity.size() != ops.size())
    throw Error("sensitivity table: " + std::to_string(table.perplexity.size()) + " rows for " +
                std::to_string(ops.size()) + " ops");
  for (size_t r = 0; r < table.ratios.size(); ++r)
    if (!(table.ratios[r] > 0.0 && table.ratios[r] < 1.0) ||
        (r > 0 && table.ratios[r] <= table.ratios[r - 1]))
      throw Error("sensitivity table: ratios must ascend inside (0, 1)");
  for (const auto& row : table.perplexity)
    if (row.size() != table.ratios.size()) throw Error("sensitivity table: a row does not match the ratios");
  auto rankAt = [&](size_t i, size_t r) {
    return static_cast<int64_t>(std::floor(table.ratios[r] * static_cast<double>(fullRank(ops[i]))));
  };
  auto ranksAt = [&](double threshold) {
    std::vector<int64_t> ranks;
    for (size_t i = 0; i < ops.size(); ++i) {
      int64_t k = fullRank(ops[i]);
      for (size_t r = 0; r < table.ratios.size(); ++r)
        if (table.perplexity[i][r] <= threshold) {
          k = rankAt(i, r);
          break;
        }
      ranks.push_back(k);
    }
    return ranks;
  };
  std::vector<double> values;
  for (const auto& row : table.perplexity)
    for (double v : row)
      if (std::isfinite(v)) values.push_back(v);
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  const int64_t budget = budgetOf(ops, keep);
  // Cost falls as the threshold rises (more ops may take smaller ratios): find the first that fits.
  size_t lo = 0, hi = values.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (costOf(ops, ranksAt(values[mid])) <= budget)
      hi = mid;
    else
      lo = mid + 1;
  }
  std::vector<int64_t> ranks;
  double threshold = lo < values.size() ? values[lo] : HUGE_VAL;
  if (lo < values.size()) {
    ranks = ranksAt(threshold);
  } else {
    // Even every op at its smallest ratio is over budget: start from nothing and let the fill decide.
    ranks.assign(ops.size(), 0);
  }
  if (thresholdOut) *thresholdOut = threshold;
  return fillBudget(ops, std::move(ranks), keep, [&](size_t i, int64_t k) {
    // The perplexity of the nearest measured ratio at or above the current rank: how much this op's
    // truncation still hurts.
    const double ratio = static_cast<double>(k) / static_cast<double>(fullRank(ops[i]));
    for (size_t r = 0; r < table.ratios.size(); ++r)
      if (table.ratios[r] >= ratio) return std::max(table.perplexity[i][r], 1e-12);
    return 1e-12;  // above the last measured ratio: nearly harmless, filled last
  });
}

}  // namespace ranklab::select
