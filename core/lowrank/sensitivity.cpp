#include "lowrank/sensitivity.h"

#include <torch/torch.h>

#include <cmath>

#include "common/error.h"
#include "models/low_rank_linear.h"
#include "select/ledger.h"

namespace ranklab::lowrank {

std::vector<double> defaultSensitivityRatios() { return {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}; }

select::SensitivityTable measureSensitivity(models::LanguageModel& model,
                                            const std::vector<OpDecomposition>& decompositions,
                                            const std::vector<CalibrationSample>& samples,
                                            const std::vector<double>& ratios, int64_t padId,
                                            ProgressSink* progress, const CancelToken* cancel) {
  const auto& entries = model.ops().entries();
  if (decompositions.size() != entries.size())
    throw Error("sensitivity: " + std::to_string(decompositions.size()) + " decompositions for " +
                std::to_string(entries.size()) + " ops");
  select::SensitivityTable table;
  table.ratios = ratios;
  const long long total = static_cast<long long>(entries.size() * ratios.size());
  long long done = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto original = entries[i].slot->impl();
    struct Restore {
      const models::OpEntry& entry;
      std::shared_ptr<models::LinearOp> op;
      ~Restore() { entry.slot->replace(op); }
    } restore{entries[i], original};
    const auto& d = decompositions[i];
    std::vector<double> row;
    for (double ratio : ratios) {
      if (cancel) cancel->check();
      const int64_t k = std::min<int64_t>(
          d.a.size(1),
          static_cast<int64_t>(std::floor(ratio * static_cast<double>(select::fullRank(entries[i].info)))));
      {
        torch::NoGradGuard guard;
        entries[i].slot->replace(std::make_shared<models::LowRankLinear>(
            d.a.narrow(1, 0, k).to(at::kFloat).contiguous(), d.b.narrow(0, 0, k).to(at::kFloat).contiguous(),
            d.bias.defined() ? d.bias : at::Tensor()));
      }
      double ppl = taskPerplexity(model, samples, 8, padId, cancel);
      if (!std::isfinite(ppl)) ppl = HUGE_VAL;
      row.push_back(ppl);
      if (progress) progress->progress("sensitivity", ++done, total);
    }
    table.perplexity.push_back(std::move(row));
  }
  return table;
}

}  // namespace ranklab::lowrank
