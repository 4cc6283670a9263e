#include "lowrank/svd.h"

#include <torch/torch.h>

#include "common/compat.h"
#include "common/error.h"
#include "lowrank/low_rank_linear.h"
#include "select/ledger.h"

namespace ranklab::lowrank {

OpDecomposition svdOf(const models::LinearOp& op) {
  torch::NoGradGuard guard;
  // denseWeight() is torch's [out, in]; ALGORITHMS.md's W is its transpose, [in, out] = M x N.
  const at::Tensor w = op.denseWeight().detach().to(at::kFloat).t();
  auto [u, s, vh] = compat::svd(w);
  OpDecomposition d;
  d.a = u * s.unsqueeze(0);
  d.b = vh;
  d.s = s;
  if (op.bias().defined()) d.bias = op.bias().detach().clone();
  return d;
}

void applyRanks(models::LanguageModel& model, const std::vector<OpDecomposition>& decompositions,
                const std::vector<int64_t>& ranks) {
  const auto& entries = model.ops().entries();
  if (decompositions.size() != entries.size() || ranks.size() != entries.size())
    throw Error("applying ranks: " + std::to_string(ranks.size()) + " ranks and " +
                std::to_string(decompositions.size()) + " decompositions for " + std::to_string(entries.size()) + " ops");
  torch::NoGradGuard guard;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& info = entries[i].info;
    const int64_t k = ranks[i];
    if (k < 0 || k > select::fullRank(info))
      throw Error("applying ranks: rank " + std::to_string(k) + " for op '" + info.name + "' is outside [0, " +
                  std::to_string(select::fullRank(info)) + "]");
    const auto& d = decompositions[i];
    if (select::isFactorised(info, k)) {
      entries[i].slot->replace(std::make_shared<LowRankLinear>(d.a.narrow(1, 0, k).clone(), d.b.narrow(0, 0, k).clone(),
                                                                d.bias.defined() ? d.bias.clone() : at::Tensor()));
    } else if (k < select::fullRank(info)) {
      // Cheaper dense: store the rank-k product as a dense weight.
      auto dense = std::make_shared<models::DenseLinear>(info.inFeatures, info.outFeatures, d.bias.defined(), false);
      dense->to(d.a.device());
      dense->weight().copy_(torch::matmul(d.a.narrow(1, 0, k), d.b.narrow(0, 0, k)).t());
      if (d.bias.defined()) dense->mutableBias().copy_(d.bias);
      entries[i].slot->replace(dense);
    }
  }
}

}  // namespace ranklab::lowrank
