#include "ars/ars.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "common/error.h"
#include "common/hash.h"
#include "lowrank/task_gradients.h"
#include "models/low_rank_linear.h"
#include "select/ledger.h"
#include "select/selectors.h"

namespace ranklab::ars {

namespace {

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// While ARS trains: every op gated at full rank, every model parameter frozen. The destructor puts
// the model back as it was, whatever way the loop is left.
class GatedModel {
 public:
  GatedModel(models::LanguageModel& model, const std::vector<lowrank::OpDecomposition>& decs)
      : m_model(model) {
    for (auto& p : model.parameters()) {
      m_flags.push_back(p.requires_grad());
      p.requires_grad_(false);
    }
    const auto& entries = model.ops().entries();
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& d = decs[i];
      auto op = std::make_shared<models::LowRankLinear>(d.a.detach(), d.b.detach(),
                                                        d.bias.defined() ? d.bias.detach() : at::Tensor());
      for (auto& p : op->parameters()) p.requires_grad_(false);
      m_originals.push_back(entries[i].slot->impl());
      entries[i].slot->replace(op);
      m_gated.push_back(std::move(op));
    }
  }
  ~GatedModel() {
    const auto& entries = m_model.ops().entries();
    for (size_t i = 0; i < m_originals.size(); ++i) entries[i].slot->replace(m_originals[i]);
    auto params = m_model.parameters();
    for (size_t i = 0; i < params.size() && i < m_flags.size(); ++i) params[i].requires_grad_(m_flags[i]);
  }
  GatedModel(const GatedModel&) = delete;
  GatedModel& operator=(const GatedModel&) = delete;
  models::LowRankLinear& op(size_t i) { return *m_gated[i]; }

 private:
  models::LanguageModel& m_model;
  std::vector<bool> m_flags;
  std::vector<std::shared_ptr<models::LinearOp>> m_originals;
  std::vector<std::shared_ptr<models::LowRankLinear>> m_gated;
};

// Samples per step: `n` distinct indices from [0, size), a pure function of (seed, step).
std::vector<size_t> batchIndices(size_t size, size_t n, uint64_t seed, int64_t step) {
  std::vector<size_t> idx(size);
  for (size_t i = 0; i < size; ++i) idx[i] = i;
  if (n >= size) return idx;
  std::mt19937_64 rng(splitmix(seed ^ splitmix(0x617273ull + static_cast<uint64_t>(step))));
  for (size_t i = 0; i < n; ++i) {
    std::uniform_int_distribution<size_t> pick(i, size - 1);
    std::swap(idx[i], idx[pick(rng)]);
  }
  idx.resize(n);
  return idx;
}

double logistic(double x) { return 1.0 / (1.0 + std::exp(-std::clamp(x, -700.0, 700.0))); }

}  // namespace

void validate(const ArsOptions& o) {
  if (!(o.keep > 0.0 && o.keep <= 1.0))
    throw Error("ARS: the budget p must lie in (0, 1], got " + std::to_string(o.keep));
  if (o.steps <= 0) throw Error("ARS: --ars-steps must be positive");
  if (!(o.lambda >= 0.0) || !std::isfinite(o.lambda))
    throw Error("ARS: --lambda must be a finite number >= 0");
  if (!(o.gamma >= 0.0) || !std::isfinite(o.gamma)) throw Error("ARS: --gamma must be a finite number >= 0");
  if (!(o.tau > 0.0) || !std::isfinite(o.tau)) throw Error("ARS: --tau must be positive");
  if (o.alignNorm != "max" && o.alignNorm != "energy")
    throw Error("ARS: --align-norm '" + o.alignNorm + "': expected max or energy");
  if (!std::isfinite(o.bias)) throw Error("ARS: the logit bias b must be finite");
  if (!(o.learningRate > 0.0) || !std::isfinite(o.learningRate))
    throw Error("ARS: the learning rate must be positive");
  if (o.batchSize <= 0) throw Error("ARS: the batch size must be positive");
  if (o.logEvery <= 0) throw Error("ARS: --log-every must be positive");
  if (o.plateauWindow <= 0) throw Error("ARS: the plateau window must be positive");
  if (o.workers < 0) throw Error("ARS: --workers must be >= 0 (0: one per hardware thread)");
  if (!(o.timeBudgetSeconds >= 0.0) || !std::isfinite(o.timeBudgetSeconds))
    throw Error("ARS: the time budget must be a finite number of seconds >= 0 (0: none)");
  if (!(o.plateauTolerance >= 0.0)) throw Error("ARS: the plateau tolerance must be >= 0");
}

HyperNetworkImpl::HyperNetworkImpl(const std::vector<int64_t>& maskSizes, uint64_t seed) {
  if (maskSizes.empty()) throw Error("ARS hypernetwork: the model has no compressible ops");
  const auto l = static_cast<int64_t>(maskSizes.size());
  m_gru = register_module(
      "gru", torch::nn::GRU(torch::nn::GRUOptions(kInput, kHidden).batch_first(true).bidirectional(true)));
  m_norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({2 * kHidden})));
  m_heads = register_module("heads", torch::nn::ModuleList());
  for (int64_t k : maskSizes) {
    if (k <= 0) throw Error("ARS hypernetwork: an op has no singular values");
    m_heads->push_back(torch::nn::Linear(2 * kHidden, k));
  }
  // Every parameter drawn again from a private generator (PyTorch's default ranges: GRU U(+-1/sqrt(hidden)),
  // Linear U(+-1/sqrt(fan_in)), LayerNorm 1 and 0), so the same seed gives the same network whatever
  // the global torch seed.
  auto gen = at::detail::createCPUGenerator(splitmix(seed ^ 0x68797065726e6574ull));
  torch::NoGradGuard noGrad;
  for (auto& item : named_parameters()) {
    auto& p = item.value();
    const std::string& name = item.key();
    if (name.rfind("norm.", 0) == 0) {
      p.fill_(name == "norm.weight" ? 1.0 : 0.0);
      continue;
    }
    const double bound = name.rfind("gru.", 0) == 0 ? 1.0 / std::sqrt(static_cast<double>(kHidden))
                                                    : 1.0 / std::sqrt(static_cast<double>(2 * kHidden));
    p.copy_(at::empty(p.sizes(), at::kFloat).uniform_(-bound, bound, gen));
  }
  m_z = register_buffer("z", at::empty({1, l, kInput}, at::kFloat).normal_(0.0, 1.0, gen));
}

std::vector<at::Tensor> HyperNetworkImpl::forward() {
  auto h = std::get<0>(m_gru->forward(m_z));  // [1, L, 128]
  h = torch::gelu(m_norm->forward(h)).squeeze(0);
  std::vector<at::Tensor> logits;
  logits.reserve(m_heads->size());
  for (size_t l = 0; l < m_heads->size(); ++l)
    logits.push_back(m_heads[l]->as<torch::nn::Linear>()->forward(h[static_cast<int64_t>(l)]));
  return logits;
}

at::Tensor gumbelNoise(at::IntArrayRef shape, uint64_t seed, const at::Device& device) {
  auto gen = at::detail::createCPUGenerator(seed);
  // u in (0, 1): exponential_ draws E ~ Exp(1) > 0, and -log(E) is Gumbel(0, 1).
  at::Tensor e = at::empty(shape, at::kFloat).exponential_(1.0, gen).clamp_min_(1e-20);
  return (-e.log()).to(device);
}

at::Tensor straightThroughMask(const at::Tensor& logits, const at::Tensor& noise, double tau, double bias) {
  at::Tensor z = noise.defined() ? logits + noise : logits;
  at::Tensor soft = torch::sigmoid((z + bias) / tau);
  // Forward: the rounded value; backward: d soft (the hard part is detached).
  return (soft.round() - soft).detach() + soft;
}

at::Tensor budgetHinge(const at::Tensor& t, double target) {
  if (!(target > 0.0)) throw Error("ARS: the budget target must be positive");
  return torch::log(torch::clamp_min(t, target) / target);
}

at::Tensor topKMask(int64_t n, int64_t k, const at::TensorOptions& options) {
  return (torch::arange(n, options.dtype(at::kLong)) < k).to(options.dtype());
}

at::Tensor alignmentLoss(const at::Tensor& mask, const at::Tensor& s) {
  // m' = top-k with k = sum(m) (an integer: m is 0/1 in the forward), compared without leaving the device.
  const at::Tensor k = mask.detach().sum();
  const at::Tensor top = (torch::arange(mask.size(0), mask.options().dtype(at::kLong)) < k).to(mask.dtype());
  return ((mask - top) * s).pow(2).sum();
}

std::vector<uint8_t> packBits(const at::Tensor& mask) {
  const at::Tensor m = mask.detach().to(at::kCPU, at::kFloat).contiguous();
  const float* v = m.data_ptr<float>();
  std::vector<uint8_t> bits(static_cast<size_t>((m.numel() + 7) / 8), 0);
  for (int64_t i = 0; i < m.numel(); ++i)
    if (v[i] > 0.5f) bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
  return bits;
}

ReadOff readOff(const std::vector<api::OpInfo>& ops, const std::vector<std::vector<float>>& scores,
                double keep, double tau) {
  if (scores.size() != ops.size())
    throw Error("ARS read-off: " + std::to_string(scores.size()) + " masks for " +
                std::to_string(ops.size()) + " ops");
  std::vector<std::vector<float>> sorted = scores;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (static_cast<int64_t>(sorted[i].size()) > select::fullRank(ops[i]))
      throw Error("ARS read-off: op " + ops[i].name + " has a mask longer than its rank");
    std::sort(sorted[i].begin(), sorted[i].end(), std::greater<float>());
  }
  auto countsAbove = [&](double t) {
    std::vector<int64_t> k(sorted.size());
    for (size_t i = 0; i < sorted.size(); ++i) {
      const auto& v = sorted[i];
      // v is descending: the number of entries > t.
      k[i] = std::lower_bound(v.begin(), v.end(), t, [](float a, double b) { return a > b; }) - v.begin();
    }
    return k;
  };
  ReadOff r;
  r.noiseFree = countsAbove(0.0);
  r.threshold = 0.0;
  std::vector<int64_t> ranks = r.noiseFree;
  if (select::ledger(ops, ranks).keptFraction > keep) {
    // Over budget: the smallest threshold among the positive scores whose ranks fit (ranks only
    // shrink as the threshold grows; at the largest score every op has rank 0).
    std::vector<float> candidates;
    for (const auto& v : sorted)
      for (float x : v)
        if (x > 0.0f) candidates.push_back(x);
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    size_t lo = 0, hi = candidates.size() - 1;  // candidates.back() always fits
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (select::ledger(ops, countsAbove(candidates[mid])).keptFraction <= keep)
        hi = mid;
      else
        lo = mid + 1;
    }
    r.threshold = candidates[lo];
    ranks = countsAbove(r.threshold);
  }
  // The leftover budget to the next-most-probable ranks.
  r.ranks = select::fillBudget(ops, ranks, keep, [&](size_t i, int64_t k) {
    const auto& v = sorted[i];
    return k < static_cast<int64_t>(v.size()) ? std::max(logistic(v[static_cast<size_t>(k)] / tau), 1e-300)
                                              : 0.0;
  });
  for (size_t i = 0; i < ranks.size(); ++i) r.filled += r.ranks[i] - ranks[i];
  return r;
}

ArsResult trainArs(models::LanguageModel& model, const std::vector<lowrank::OpDecomposition>& decs,
                   const std::vector<lowrank::CalibrationSample>& samples, const ArsOptions& o,
                   ProgressSink* progress, const CancelToken* cancel,
                   const std::function<void(const ArsLog&)>& onLog) {
  validate(o);
  const auto infos = model.ops().infos();
  if (decs.size() != infos.size())
    throw Error("ARS: " + std::to_string(decs.size()) + " decompositions for " +
                std::to_string(infos.size()) + " ops");
  if (samples.empty()) throw Error("ARS: no calibration samples");
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < infos.size(); ++i) {
    const auto& d = decs[i];
    const int64_t full = select::fullRank(infos[i]);
    if (!d.s.defined() || d.s.dim() != 1 || d.s.size(0) != full || d.a.size(1) != full || d.b.size(0) != full)
      throw Error("ARS: op " + infos[i].name + " needs its full spectrum (" + std::to_string(full) +
                  " singular values); a truncated (randomized) decomposition cannot be masked");
    sizes.push_back(full);
  }
  const auto device = model.device();
  const auto l = static_cast<int64_t>(infos.size());
  const auto started = std::chrono::steady_clock::now();

  // Per mask position: the op's cost M + N, and the op's normalised spectrum (s / max(s), or s / |s|).
  std::vector<at::Tensor> sNorm, costs;
  double tTotal = 0.0;
  for (size_t i = 0; i < infos.size(); ++i) {
    const at::Tensor s = decs[i].s.detach().to(device, at::kFloat);
    const double scale = o.alignNorm == "energy" ? s.norm().item<double>() : s[0].item<double>();
    sNorm.push_back(scale > 0.0 ? s / scale : torch::zeros_like(s));
    costs.push_back(torch::full({sizes[i]}, static_cast<double>(infos[i].inFeatures + infos[i].outFeatures),
                                at::TensorOptions().dtype(at::kFloat).device(device)));
    tTotal += static_cast<double>(infos[i].inFeatures) * static_cast<double>(infos[i].outFeatures);
  }
  const at::Tensor costAll = torch::cat(costs);
  const double target = o.keep * tTotal;
  int64_t totalPositions = 0;
  for (int64_t k : sizes) totalPositions += k;

  HyperNetwork hn(sizes, o.seed);
  hn->to(device);
  torch::optim::Adam adam(hn->parameters(), torch::optim::AdamOptions(o.learningRate));
  torch::AutoGradMode gradients(true);  // also when the caller runs under a no-grad guard
  GatedModel gated(model, decs);
  model.eval();

  ArsResult result;
  const int64_t workers =
      lowrank::stepWorkers(model, std::min(samples.size(), static_cast<size_t>(o.batchSize)), o.workers);
  result.workers = workers;
  const lowrank::SplitStepScope splitSteps(workers);
  std::vector<double> losses;
  double intervalLoss = 0.0;
  int64_t intervalSteps = 0;
  auto noiseFreeBudget = [&](const at::Tensor& logitsAll) {
    return ((logitsAll.detach() + o.bias > 0).to(at::kFloat) * costAll).sum().item<double>() / tTotal;
  };
  auto windowMean = [&](size_t end) {
    double sum = 0.0;
    for (size_t i = end - static_cast<size_t>(o.plateauWindow); i < end; ++i) sum += losses[i];
    return sum / static_cast<double>(o.plateauWindow);
  };

  at::Tensor logitsAll;
  for (int64_t step = 0; step < o.steps; ++step) {
    if (cancel) cancel->check();
    const auto idx = batchIndices(samples.size(), static_cast<size_t>(o.batchSize), o.seed, step);
    std::vector<const lowrank::CalibrationSample*> batch;
    for (size_t i : idx) batch.push_back(&samples[i]);

    auto logits = hn->forward();
    logitsAll = torch::cat(logits);
    const at::Tensor noise =
        gumbelNoise({totalPositions}, splitmix(o.seed ^ splitmix(static_cast<uint64_t>(step) + 1)), device);
    const at::Tensor maskAll = straightThroughMask(logitsAll, noise, o.tau, o.bias);
    // Each op's gate is a leaf holding its mask's values. The task loss's forward and backward pass
    // (split over the step's workers) end at the gates; the gates' gradients then go on through the
    // masks to the hypernetwork with the regularisers, in one backward pass on this thread.
    at::Tensor align = torch::zeros({}, maskAll.options());
    std::vector<at::Tensor> masks, gates;
    int64_t offset = 0;
    for (int64_t i = 0; i < l; ++i) {
      const at::Tensor m = maskAll.narrow(0, offset, sizes[static_cast<size_t>(i)]);
      offset += sizes[static_cast<size_t>(i)];
      masks.push_back(m);
      gates.push_back(m.detach().requires_grad_(true));
      gated.op(static_cast<size_t>(i)).setGate(gates.back());
      align = align + alignmentLoss(m, sNorm[static_cast<size_t>(i)]);
    }
    align = align / static_cast<double>(l);
    const at::Tensor t = (maskAll * costAll).sum();
    const at::Tensor r = budgetHinge(t, target);
    const double taskValue = lowrank::taskLossBackward(model, batch, gates, o.padId, workers);
    for (int64_t i = 0; i < l; ++i) gated.op(static_cast<size_t>(i)).setGate(at::Tensor());
    at::Tensor loss = o.lambda * r + o.gamma * align;
    for (int64_t i = 0; i < l; ++i) {
      const at::Tensor& g = gates[static_cast<size_t>(i)].grad();
      if (g.defined()) loss = loss + (masks[static_cast<size_t>(i)] * g).sum();  // d/dm = the gate's gradient
    }
    adam.zero_grad();
    loss.backward();
    adam.step();

    if (!std::isfinite(taskValue))
      throw Error("ARS: the task loss became " + std::to_string(taskValue) + " at step " +
                  std::to_string(step + 1) +
                  " (the model or the calibration data produce non-finite values)");
    losses.push_back(taskValue);
    intervalLoss += taskValue;
    ++intervalSteps;
    result.steps = step + 1;
    if (progress) progress->progress("ars", step + 1, o.steps);

    bool stop = false;
    if (o.earlyStop && result.steps % o.plateauWindow == 0 && result.steps >= 2 * o.plateauWindow) {
      const double last = windowMean(losses.size());
      const double prev = windowMean(losses.size() - static_cast<size_t>(o.plateauWindow));
      if (noiseFreeBudget(logitsAll) <= o.keep &&
          std::abs(last - prev) <= o.plateauTolerance * std::abs(prev)) {
        stop = true;
        result.stoppedBecause = "plateau";
      }
    }
    if (!stop && o.timeBudgetSeconds > 0.0 && result.steps < o.steps &&
        seconds(started) >= o.timeBudgetSeconds) {
      stop = true;
      result.stoppedBecause = "time";
    }
    const bool last = stop || result.steps == o.steps;
    if (result.steps % o.logEvery == 0 || last) {
      torch::NoGradGuard noGrad;
      ArsLog log;
      const at::Tensor scores = logitsAll.detach() + o.bias;
      const at::Tensor hard = (scores > 0).to(at::kFloat);
      const double meanProb = torch::sigmoid(scores / o.tau).mean().item<double>();
      const at::Tensor hardCpu = hard.cpu();
      log.frame.step = result.steps;
      int64_t off = 0;
      for (int64_t k : sizes) {
        const at::Tensor m = hardCpu.narrow(0, off, k);
        off += k;
        log.frame.ranks.push_back(static_cast<int32_t>(m.sum().item<double>()));
        log.frame.bits.push_back(packBits(m));
      }
      const int64_t s = result.steps;
      log.points = {{s, "task_loss", intervalLoss / static_cast<double>(intervalSteps)},
                    {s, "R", r.item<double>()},
                    {s, "R_align", align.item<double>()},
                    {s, "budget", t.item<double>() / tTotal},
                    {s, "budget_readoff", (hard * costAll).sum().item<double>() / tTotal},
                    {s, "mean_prob", meanProb}};
      intervalLoss = 0.0;
      intervalSteps = 0;
      ++result.frames;
      if (onLog) {
        const auto logStarted = std::chrono::steady_clock::now();
        onLog(log);
        result.loggingSeconds += seconds(logStarted);
      }
    }
    if (stop) break;
  }
  if (result.stoppedBecause.empty()) result.stoppedBecause = "steps";
  const size_t window = std::min(losses.size(), static_cast<size_t>(o.plateauWindow));
  double tail = 0.0;
  for (size_t i = losses.size() - window; i < losses.size(); ++i) tail += losses[i];
  result.finalTaskLoss = tail / static_cast<double>(window);

  // Read-off from the trained hypernetwork, without noise.
  std::vector<std::vector<float>> scores;
  {
    torch::NoGradGuard noGrad;
    auto logits = hn->forward();
    const at::Tensor all = (torch::cat(logits) + o.bias).cpu().contiguous();
    result.finalBudget = noiseFreeBudget(torch::cat(logits));
    const float* v = all.data_ptr<float>();
    int64_t off = 0;
    for (int64_t k : sizes) {
      scores.emplace_back(v + off, v + off + k);
      off += k;
    }
  }
  result.readOff = readOff(infos, scores, o.keep, o.tau);
  result.trainingSeconds = seconds(started);
  return result;
}

}  // namespace ranklab::ars
