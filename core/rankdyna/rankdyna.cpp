#include "rankdyna/rankdyna.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "ars/ars.h"
#include "common/error.h"
#include "models/low_rank_linear.h"
#include "select/ledger.h"

namespace ranklab::rankdyna {

void BudgetSchedule::validate() const {
  if (warmupSteps < 0 || finalSteps < 0 || warmupSteps + finalSteps >= totalSteps)
    throw Error("RankDyna: warm-up (" + std::to_string(warmupSteps) + ") and final (" +
                std::to_string(finalSteps) + ") steps must leave steps to shrink the budget in (" +
                std::to_string(totalSteps) + " in all)");
  if (!(finalBudget >= 0.0 && finalBudget <= initialBudget))
    throw Error("RankDyna: the final budget must lie between 0 and the initial one");
}

double BudgetSchedule::at(int64_t step) const {
  if (step < warmupSteps) return initialBudget;
  const int64_t shrinking = totalSteps - warmupSteps - finalSteps;
  if (step >= warmupSteps + shrinking) return finalBudget;
  const double x = 1.0 - static_cast<double>(step - warmupSteps) / static_cast<double>(shrinking);
  return finalBudget + (initialBudget - finalBudget) * x * x * x;
}

SvdLinear::SvdLinear(const at::Tensor& u, const at::Tensor& s, const at::Tensor& v, const at::Tensor& bias) {
  if (u.dim() != 2 || s.dim() != 1 || v.dim() != 2 || u.size(1) != s.size(0) || v.size(1) != s.size(0))
    throw Error("SvdLinear: U " + models::shapeString(u) + ", s " + models::shapeString(s) + " and V " +
                models::shapeString(v) + " do not chain (expected [M, K], [K] and [N, K])");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != v.size(0)))
    throw Error("SvdLinear: bias " + models::shapeString(bias) + " does not match " +
                std::to_string(v.size(0)) + " outputs");
  m_u = register_parameter("u", u.detach().contiguous().clone());
  m_s = register_parameter("s", s.detach().contiguous().clone());
  m_v = register_parameter("v", v.detach().contiguous().clone());
  if (bias.defined()) m_bias = register_parameter("bias", bias.detach().contiguous().clone());
  m_mask = register_buffer("mask", torch::ones_like(m_s).detach());
}

at::Tensor SvdLinear::forward(const at::Tensor& x) {
  const at::Tensor flat = x.reshape({-1, x.size(-1)});
  m_effective = m_s * m_mask;
  if (m_effective.requires_grad()) m_effective.retain_grad();
  at::Tensor h = torch::mm(flat, m_u) * m_effective;
  h = m_bias.defined() ? torch::addmm(m_bias, h, m_v.t()) : torch::mm(h, m_v.t());
  auto out = x.sizes().vec();
  out.back() = m_v.size(0);
  return h.view(out);
}

int64_t SvdLinear::activeRank() const { return static_cast<int64_t>(m_mask.sum().item<double>()); }

int64_t SvdLinear::parameterCount() const {
  return activeRank() * (inFeatures() + outFeatures()) + (m_bias.defined() ? outFeatures() : 0);
}

at::Tensor SvdLinear::denseWeight() const {
  torch::NoGradGuard noGrad;
  return torch::mm(m_u * (m_s * m_mask), m_v.t()).t();
}

void SvdLinear::setMask(const at::Tensor& mask) {
  if (mask.dim() != 1 || mask.size(0) != rank())
    throw Error("SvdLinear: mask " + models::shapeString(mask) + " does not match rank " +
                std::to_string(rank()));
  torch::NoGradGuard noGrad;
  m_mask.copy_(mask.to(m_mask.options()));
}

at::Tensor SvdLinear::effectiveGrad() const {
  return m_effective.defined() ? m_effective.grad() : at::Tensor();
}

at::Tensor SvdLinear::groupSensitivity() const {
  torch::NoGradGuard noGrad;
  const at::Tensor gs = effectiveGrad();
  at::Tensor sum = gs.defined() ? (m_s * gs).abs() : torch::zeros_like(m_s);
  if (m_u.grad().defined()) sum = sum + (m_u * m_u.grad()).abs().sum(0);
  if (m_v.grad().defined()) sum = sum + (m_v * m_v.grad()).abs().sum(0);
  return (sum / static_cast<double>(1 + inFeatures() + outFeatures())).detach();
}

at::Tensor SvdLinear::orthogonalityPenalty() const {
  const at::Tensor um = m_u * m_mask, vm = m_v * m_mask;
  const at::Tensor eye = torch::diag(m_mask);
  return (torch::mm(um.t(), um) - eye).pow(2).sum() + (torch::mm(vm.t(), vm) - eye).pow(2).sum();
}

GroupScores::GroupScores(int64_t groups, double beta1, double beta2) : m_beta1(beta1), m_beta2(beta2) {
  if (groups <= 0) throw Error("RankDyna: an op has no singular groups");
  if (!(beta1 >= 0.0 && beta1 < 1.0) || !(beta2 >= 0.0 && beta2 < 1.0))
    throw Error("RankDyna: beta1 and beta2 must lie in [0, 1)");
  m_importance = torch::zeros({groups}, torch::kDouble);
  m_uncertainty = torch::zeros({groups}, torch::kDouble);
}

void GroupScores::update(const at::Tensor& sensitivity) {
  if (sensitivity.dim() != 1 || sensitivity.size(0) != m_importance.size(0))
    throw Error("RankDyna: " + models::shapeString(sensitivity) + " sensitivities for " +
                std::to_string(m_importance.size(0)) + " groups");
  // The smoothed scores live where the sensitivities are computed: on a GPU an update is then two
  // small kernels instead of a device-to-host copy (and a stall) per op per step.
  const at::Tensor i = sensitivity.detach().to(at::kDouble);
  if (m_importance.device() != i.device()) {
    m_importance = m_importance.to(i.device());
    m_uncertainty = m_uncertainty.to(i.device());
  }
  m_importance = m_beta1 * m_importance + (1.0 - m_beta1) * i;
  m_uncertainty = m_beta2 * m_uncertainty + (1.0 - m_beta2) * (i - m_importance).abs();
}

at::Tensor GroupScores::score() const { return m_importance * m_uncertainty; }

std::vector<at::Tensor> reallocate(const std::vector<api::OpInfo>& ops, const std::vector<at::Tensor>& scores,
                                   double budget) {
  if (ops.size() != scores.size())
    throw Error("RankDyna: " + std::to_string(scores.size()) + " score vectors for " +
                std::to_string(ops.size()) + " ops");
  struct Group {
    double score;
    size_t op;
    int64_t index;
  };
  std::vector<Group> groups;
  std::vector<at::Tensor> masks;
  for (size_t l = 0; l < ops.size(); ++l) {
    const at::Tensor sc = scores[l].detach().to(at::kCPU, at::kDouble).contiguous();
    if (sc.dim() != 1) throw Error("RankDyna: scores of op " + ops[l].name + " are not a vector");
    const double* v = sc.data_ptr<double>();
    for (int64_t i = 0; i < sc.size(0); ++i) groups.push_back({v[i], l, i});
    masks.push_back(torch::zeros({sc.size(0)}, torch::kFloat));
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const Group& a, const Group& b) { return a.score > b.score; });
  // T(k) of ALGORITHMS.md section 0: an op costs min(k (M + N), M N), so a group's price is what it
  // adds to that. A group that does not fit is skipped and cheaper ones further down still get in.
  std::vector<int64_t> kept(ops.size(), 0);
  auto opCost = [&](size_t l, int64_t k) {
    const double mn = static_cast<double>(ops[l].inFeatures) * static_cast<double>(ops[l].outFeatures);
    return std::min(static_cast<double>(k) * static_cast<double>(ops[l].inFeatures + ops[l].outFeatures), mn);
  };
  double used = 0.0;
  for (const auto& g : groups) {
    const double price = opCost(g.op, kept[g.op] + 1) - opCost(g.op, kept[g.op]);
    if (used + price > budget) continue;
    used += price;
    ++kept[g.op];
    masks[g.op][g.index] = 1.0f;
  }
  return masks;
}

RankDynaResult runRankDyna(models::LanguageModel& model, const std::vector<lowrank::OpDecomposition>& svds,
                           const std::vector<lowrank::CalibrationSample>& data, const RankDynaOptions& o,
                           ProgressSink* progress, const CancelToken* cancel,
                           const std::function<void(const api::SeriesPoint&)>& onPoint,
                           const std::function<void(const RankDynaLog&)>& onRealloc) {
  const auto infos = model.ops().infos();
  const int64_t steps = o.finetune.steps;
  if (steps <= 0)
    throw Error("RankDyna compresses while fine-tuning: give it fine-tuning steps (--finetune-steps N)");
  if (!(o.keep > 0.0 && o.keep <= 1.0)) throw Error("RankDyna: the budget p must lie in (0, 1]");
  if (o.reallocEvery <= 0) throw Error("RankDyna: --realloc-every must be positive");
  if (o.orthReg < 0.0) throw Error("RankDyna: --orth-reg must not be negative");
  if (!o.finetune.checkpointDir.empty()) throw Error("RankDyna runs do not support checkpoints");
  if (svds.size() != infos.size())
    throw Error("RankDyna: " + std::to_string(svds.size()) + " decompositions for " +
                std::to_string(infos.size()) + " ops");
  BudgetSchedule schedule;
  schedule.totalSteps = steps;
  schedule.warmupSteps = o.warmupSteps >= 0 ? o.warmupSteps : steps / 10;
  schedule.finalSteps = o.finalSteps >= 0 ? o.finalSteps : steps / 5;
  double tTotal = 0.0;
  for (const auto& info : infos)
    tTotal += static_cast<double>(info.inFeatures) * static_cast<double>(info.outFeatures);
  schedule.initialBudget = tTotal;  // full rank: every op dense, T_total
  schedule.finalBudget = o.keep * tTotal;
  schedule.validate();
  const int64_t freezeAt = steps - schedule.finalSteps;  // the last reallocation, at the final budget

  // Re-parametrise: U = a / s (a = U S), V = b^T.
  const auto& entries = model.ops().entries();
  std::vector<std::shared_ptr<models::LinearOp>> originals;
  std::vector<std::shared_ptr<SvdLinear>> ops;
  std::vector<GroupScores> scores;
  for (size_t i = 0; i < infos.size(); ++i) {
    const auto& d = svds[i];
    const int64_t full = select::fullRank(infos[i]);
    if (!d.s.defined() || d.s.size(0) != full || d.a.size(1) != full)
      throw Error("RankDyna: op " + infos[i].name + " needs its full plain SVD (" + std::to_string(full) +
                  " triplets)");
    const at::Tensor s = d.s.detach().to(d.a.options());
    const at::Tensor safe = torch::where(s > 0, s, torch::ones_like(s));
    const at::Tensor u = torch::where(s > 0, d.a.detach() / safe, torch::zeros_like(d.a));
    ops.push_back(std::make_shared<SvdLinear>(u, s, d.b.detach().t(),
                                              d.bias.defined() ? d.bias.detach() : at::Tensor()));
    scores.emplace_back(full, o.beta1, o.beta2);
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    originals.push_back(entries[i].slot->impl());
    entries[i].slot->replace(ops[i]);
  }
  struct Restore {
    const std::vector<models::OpEntry>& entries;
    std::vector<std::shared_ptr<models::LinearOp>>& originals;
    bool armed = true;
    ~Restore() {
      if (armed)
        for (size_t i = 0; i < originals.size(); ++i) entries[i].slot->replace(originals[i]);
    }
  } restore{entries, originals};

  RankDynaResult result;
  std::vector<at::Tensor> masks;
  for (const auto& op : ops) masks.push_back(op->mask().detach().cpu().clone());
  train::FinetuneHooks hooks;
  if (o.orthReg > 0.0)
    hooks.extraLoss = [&]() {
      at::Tensor sum = ops[0]->orthogonalityPenalty();
      for (size_t i = 1; i < ops.size(); ++i) sum = sum + ops[i]->orthogonalityPenalty();
      return o.orthReg * sum;
    };
  hooks.afterBackward = [&](int64_t) {
    for (size_t i = 0; i < ops.size(); ++i) scores[static_cast<size_t>(i)].update(ops[i]->groupSensitivity());
  };
  hooks.afterStep = [&](int64_t t) {
    const bool due = t > schedule.warmupSteps && t <= freezeAt &&
                     ((t - schedule.warmupSteps) % o.reallocEvery == 0 || t == freezeAt);
    if (!due) return;
    std::vector<at::Tensor> sc;
    double scoreSum = 0.0;
    int64_t groups = 0;
    for (const auto& s : scores) {
      sc.push_back(s.score());
      scoreSum += s.score().sum().item<double>();
      groups += s.score().size(0);
    }
    const double budget = schedule.at(t);
    auto next = reallocate(infos, sc, budget);
    RankDynaLog log;
    log.frame.step = t;
    int64_t revived = 0, masked = 0;
    double kept = 0.0;
    for (size_t i = 0; i < ops.size(); ++i) {
      revived += ((next[i] > 0.5) & (masks[i] < 0.5)).sum().item<int64_t>();
      const int64_t k = static_cast<int64_t>(next[i].sum().item<double>());
      masked += next[i].size(0) - k;
      kept +=
          std::min(static_cast<double>(k) * static_cast<double>(infos[i].inFeatures + infos[i].outFeatures),
                   static_cast<double>(infos[i].inFeatures) * static_cast<double>(infos[i].outFeatures));
      ops[i]->setMask(next[i]);
      log.frame.ranks.push_back(static_cast<int32_t>(k));
      log.frame.bits.push_back(ars::packBits(next[i]));
    }
    masks = std::move(next);
    result.revived += revived;
    ++result.reallocations;
    log.points = {{t, "budget", budget / tTotal},
                  {t, "kept", kept / tTotal},
                  {t, "score_mean", groups ? scoreSum / static_cast<double>(groups) : 0.0},
                  {t, "revived", static_cast<double>(revived)},
                  {t, "masked", static_cast<double>(masked)}};
    if (onRealloc) onRealloc(log);
  };
  result.finetune = train::finetune(model, data, o.finetune, progress, cancel, onPoint, &hooks);

  // The final model: each op's active groups as low-rank factors (dense when that is cheaper), every
  // other trained weight as it is.
  std::vector<lowrank::OpDecomposition> finals(ops.size());
  {
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < ops.size(); ++i) {
      const auto& op = *ops[i];
      const at::Tensor idx = op.mask().nonzero().flatten();
      auto dense = std::make_shared<models::DenseLinear>(op.inFeatures(), op.outFeatures(),
                                                         op.bias().defined(), false);
      dense->to(op.u().device());
      dense->weight().copy_(op.denseWeight());
      if (op.bias().defined()) dense->mutableBias().copy_(op.bias().detach());
      entries[i].slot->replace(dense);
      auto& f = finals[i];
      f.s = op.s().detach().index_select(0, idx);
      f.a = (op.u().detach().index_select(1, idx) * f.s).contiguous();
      f.b = op.v().detach().index_select(1, idx).t().contiguous();
      if (op.bias().defined()) f.bias = op.bias().detach().clone();
      result.ranks.push_back(idx.size(0));
      const at::Tensor idxCpu = idx.cpu().to(at::kLong).contiguous();
      result.kept.emplace_back(idxCpu.data_ptr<int64_t>(), idxCpu.data_ptr<int64_t>() + idxCpu.numel());
    }
  }
  restore.armed = false;
  lowrank::applyRanks(model, finals, result.ranks);
  return result;
}

}  // namespace ranklab::rankdyna
