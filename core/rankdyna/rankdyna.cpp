#include "rankdyna/rankdyna.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "common/error.h"

namespace ranklab::rankdyna {

namespace {
std::string shape(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}
}  // namespace

void BudgetSchedule::validate() const {
  if (warmupSteps < 0 || finalSteps < 0 || warmupSteps + finalSteps >= totalSteps)
    throw Error("RankDyna: warm-up (" + std::to_string(warmupSteps) + ") and final (" + std::to_string(finalSteps) +
                ") steps must leave steps to shrink the budget in (" + std::to_string(totalSteps) + " in all)");
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
    throw Error("SvdLinear: U " + shape(u) + ", s " + shape(s) + " and V " + shape(v) +
                " do not chain (expected [M, K], [K] and [N, K])");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != v.size(0)))
    throw Error("SvdLinear: bias " + shape(bias) + " does not match " + std::to_string(v.size(0)) + " outputs");
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
    throw Error("SvdLinear: mask " + shape(mask) + " does not match rank " + std::to_string(rank()));
  torch::NoGradGuard noGrad;
  m_mask.copy_(mask.to(m_mask.options()));
}

at::Tensor SvdLinear::effectiveGrad() const { return m_effective.defined() ? m_effective.grad() : at::Tensor(); }

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
    throw Error("RankDyna: " + shape(sensitivity) + " sensitivities for " + std::to_string(m_importance.size(0)) + " groups");
  const at::Tensor i = sensitivity.detach().to(at::kCPU, at::kDouble);
  m_importance = m_beta1 * m_importance + (1.0 - m_beta1) * i;
  m_uncertainty = m_beta2 * m_uncertainty + (1.0 - m_beta2) * (i - m_importance).abs();
}

at::Tensor GroupScores::score() const { return m_importance * m_uncertainty; }

std::vector<at::Tensor> reallocate(const std::vector<api::OpInfo>& ops, const std::vector<at::Tensor>& scores,
                                   double budget) {
  if (ops.size() != scores.size())
    throw Error("RankDyna: " + std::to_string(scores.size()) + " score vectors for " + std::to_string(ops.size()) + " ops");
  struct Group {
    double perParam;
    size_t op;
    int64_t index;
  };
  std::vector<Group> groups;
  std::vector<at::Tensor> masks;
  for (size_t l = 0; l < ops.size(); ++l) {
    const at::Tensor sc = scores[l].detach().to(at::kCPU, at::kDouble).contiguous();
    if (sc.dim() != 1) throw Error("RankDyna: scores of op " + ops[l].name + " are not a vector");
    const double cost = static_cast<double>(ops[l].inFeatures + ops[l].outFeatures);
    const double* v = sc.data_ptr<double>();
    for (int64_t i = 0; i < sc.size(0); ++i) groups.push_back({v[i] / cost, l, i});
    masks.push_back(torch::zeros({sc.size(0)}, torch::kFloat));
  }
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.perParam > b.perParam; });
  double used = 0.0;
  for (const auto& g : groups) {
    const double cost = static_cast<double>(ops[g.op].inFeatures + ops[g.op].outFeatures);
    if (used + cost > budget) break;  // everything below this group is masked
    used += cost;
    masks[g.op][g.index] = 1.0f;
  }
  return masks;
}

}  // namespace ranklab::rankdyna
