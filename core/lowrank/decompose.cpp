#include "lowrank/decompose.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdlib>
#include <sstream>

#include "common/atomic_file.h"
#include "common/compat.h"
#include "common/error.h"
#include "common/hash.h"
#include "io/safetensors.h"
#include "models/low_rank_linear.h"
#include "select/ledger.h"

namespace fs = std::filesystem;

namespace ranklab::lowrank {

Method parseMethod(const std::string& name) {
  if (name == "svd") return Method::Svd;
  if (name == "fwsvd") return Method::Fwsvd;
  if (name == "iwsvd") return Method::Iwsvd;
  if (name == "asvd") return Method::Asvd;
  if (name == "whiten" || name == "svd-llm") return Method::Whiten;
  throw Error("unknown decomposition '" + name + "' (expected svd, fwsvd, iwsvd, asvd or whiten)");
}

std::string methodName(Method method) {
  switch (method) {
    case Method::Svd:
      return "svd";
    case Method::Fwsvd:
      return "fwsvd";
    case Method::Iwsvd:
      return "iwsvd";
    case Method::Asvd:
      return "asvd";
    case Method::Whiten:
      return "whiten";
  }
  return "svd";
}

CalibrationNeeds needsOf(Method method) {
  CalibrationNeeds n;
  n.fisher = method == Method::Fwsvd;
  n.importance = method == Method::Iwsvd;
  n.absMean = method == Method::Asvd;
  n.gram = method == Method::Whiten;
  return n;
}

double OpDecomposition::energyKept(int64_t k) const {
  if (totalEnergy <= 0.0) return 1.0;
  const int64_t kk = std::min<int64_t>(std::max<int64_t>(k, 0), s.size(0));
  return std::min(1.0, s.narrow(0, 0, kk).to(at::kDouble).square().sum().item<double>() / totalEnergy);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> randomizedSvd(const at::Tensor& a, int64_t k,
                                                             int64_t oversample, int64_t powerIterations,
                                                             uint64_t seed) {
  const int64_t l = std::min(std::min(a.size(0), a.size(1)), k + std::max<int64_t>(0, oversample));
  auto gen = at::detail::createCPUGenerator(seed);
  const at::Tensor g = at::randn({a.size(1), l}, gen, a.options().device(at::kCPU)).to(a.device());
  at::Tensor q = std::get<0>(at::linalg_qr(at::matmul(a, g)));
  for (int64_t i = 0; i < powerIterations; ++i) {
    // Subspace iteration with re-orthonormalisation sharpens the spectrum's decay (Halko et al. 4.5).
    const at::Tensor z = std::get<0>(at::linalg_qr(at::matmul(a.t(), q)));
    q = std::get<0>(at::linalg_qr(at::matmul(a, z)));
  }
  auto [ub, s, vh] = compat::svd(at::matmul(q.t(), a));
  return {at::matmul(q, ub).narrow(1, 0, k), s.narrow(0, 0, k), vh.narrow(0, 0, k)};
}

namespace {

std::string shapeOf(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

at::Tensor requireStat(const at::Tensor& t, const char* what, std::vector<int64_t> shape, Method method) {
  if (!t.defined())
    throw Error(methodName(method) + " needs " + what + " from a calibration pass (pass calibration data)");
  if (t.sizes() != at::IntArrayRef(shape))
    throw Error(methodName(method) + ": " + what + " has shape " + shapeOf(t) + ", the weight needs " +
                shapeOf(at::empty(shape, at::kFloat)));
  return t;
}

// Row scales clamped away from zero, so that dividing them back out is safe.
at::Tensor guarded(const at::Tensor& scale, double guard) {
  const double mean = scale.mean().item<double>();
  if (!(mean > 0.0)) return at::ones_like(scale);  // no signal at all: fall back to the plain SVD
  return scale.clamp_min(guard * mean);
}

// cholesky(C + delta I) in float64, delta growing from 0 until it succeeds; kept in `dtype` (W's).
Whitener whitenerOf(const at::Tensor& gram, at::ScalarType dtype) {
  const at::Tensor c64 = gram.to(at::kDouble);
  const int64_t m = c64.size(0);
  const double meanDiag = c64.diagonal().mean().item<double>();
  if (!(meanDiag > 0.0)) throw Error("whiten: the op saw no calibration tokens (X^T X is zero)");
  Whitener out;
  for (int attempt = 0;; ++attempt) {
    const at::Tensor shifted = out.delta > 0.0 ? c64 + out.delta * at::eye(m, c64.options()) : c64;
    auto [l, info] = at::linalg_cholesky_ex(shifted);
    if (info.item<int64_t>() == 0 && at::isfinite(l).all().item<bool>()) {
      out.lower = l.to(dtype);  // float64 only while factorising: the float64 copy is freed here
      return out;
    }
    if (attempt >= 12)
      throw Error("whiten: X^T X stays not positive definite after 12 retries (delta " +
                  std::to_string(out.delta) + ")");
    // Not positive definite (too few tokens for M, or dead inputs): shift the spectrum a little more.
    out.delta = out.delta == 0.0 ? 1e-9 * meanDiag : out.delta * 10.0;
    out.retries = attempt + 1;
  }
}

// Singular values of W, descending, for the views: the square roots of the eigenvalues of W's
// smaller Gram matrix in float64. About half the cost of svdvals for GPT-2's shapes; the values agree
// with the SVD's to ~1e-16 * s_max^2 / s_i, far below what float32 weights carry.
at::Tensor spectrumOfGram(const at::Tensor& gram64, at::ScalarType dtype) {
  return at::linalg_eigvalsh(gram64).clamp_min(0.0).sqrt().flip({0}).to(dtype).contiguous();
}

at::Tensor plainSpectrumOf(const at::Tensor& w) {
  const at::Tensor w64 = w.to(at::kDouble);
  return spectrumOfGram(w.size(0) <= w.size(1) ? at::matmul(w64, w64.t()) : at::matmul(w64.t(), w64),
                        w.scalar_type());
}

// Whitening of a W with N <= M (square or tall, e.g. an MLP's down projection) without a Cholesky
// factor: SVD(L^T W) = U S V^T has V, S^2 as the eigenpairs of (L^T W)^T L^T W = W^T C W, an N x N
// matrix, computed in float64. For a 3072 x 768 W this costs 0.9x its plain SVD where the Cholesky
// of the 3072 x 3072 C alone costs 1.3x. The eigenproblem is always shifted, W^T (C + delta I) W
// with delta = 1e-9 mean(diag C), far below what float32 activations carry: where calibration never
// reached part of W's input range (C singular there) those directions are then ordered by W's own
// energy instead of arbitrarily, in one decomposition. That case is reported (retries 1, delta) when
// the smallest eigenvalue is at the shift's level, delta ||W||_F^2.
struct EigenWhitening {
  at::Tensor v, s;    // [N, N] descending columns, [N]
  at::Tensor plainS;  // W's own singular values from the same W^T W (when asked for)
  double totalEnergy = 0.0, delta = 0.0;
  int retries = 0;
};

EigenWhitening whitenByEigen(const at::Tensor& w, const at::Tensor& gram, bool plainSpectrum) {
  const at::Tensor w64 = w.to(at::kDouble);
  const at::Tensor c64 = gram.to(at::kDouble);  // the shared statistics: read, never written
  const double meanDiag = c64.diagonal().mean().item<double>();
  if (!(meanDiag > 0.0)) throw Error("whiten: the op saw no calibration tokens (X^T X is zero)");
  EigenWhitening out;
  const double delta = 1e-9 * meanDiag;
  at::Tensor cw = at::matmul(c64, w64);
  out.totalEnergy = (w64 * cw).sum().item<double>();  // trace(W^T C W) = ||L^T W||_F^2, unshifted
  cw.add_(w64, delta);                                // (C + delta I) W
  at::Tensor wcw = at::matmul(w64.t(), cw);
  wcw = (wcw + wcw.t()) * 0.5;  // symmetric to the last bit, as eigh assumes
  auto [lambda, v] = at::linalg_eigh(wcw);
  if (!at::isfinite(lambda).all().item<bool>())
    throw Error("whiten: W^T X^T X W has non-finite eigenvalues (NaN or inf in the weights or statistics)");
  // The shift alone contributes delta v^T W^T W v <= delta ||W||_F^2: an eigenvalue at that level
  // means C is singular on part of W's range.
  if (lambda[0].item<double>() <= 2.0 * delta * w64.square().sum().item<double>()) {
    out.delta = delta;
    out.retries = 1;
  }
  out.s = lambda.clamp_min(0.0).sqrt().flip({0});
  out.v = v.flip({1});
  if (plainSpectrum) out.plainS = spectrumOfGram(at::matmul(w64.t(), w64), w.scalar_type());
  return out;
}

}  // namespace

OpDecomposition decomposeWeight(const at::Tensor& w, const at::Tensor& bias, Method method,
                                const OpStats* stats, const DecomposeOptions& options) {
  if (w.dim() != 2) throw Error("decomposition: weight must be a matrix, got " + shapeOf(w));
  if (method != Method::Svd && !stats) throw Error(methodName(method) + " needs a calibration pass");
  torch::NoGradGuard guard;
  const int64_t m = w.size(0), n = w.size(1);
  OpDecomposition d;
  if (bias.defined()) d.bias = bias.detach().clone();

  // The matrix to decompose, and how to fold its left factor back into W's basis.
  at::Tensor x;
  at::Tensor rowScale;    // diagonal weighting (fwsvd, iwsvd, asvd)
  bool whitened = false;  // x = L^T W
  switch (method) {
    case Method::Svd:
      x = w;
      break;
    case Method::Fwsvd:
    case Method::Iwsvd: {
      const auto& f = method == Method::Fwsvd
                          ? requireStat(stats->fisher, "Fisher row importances", {m}, method)
                          : requireStat(stats->importance, "importance scores", {m}, method);
      rowScale = guarded(f.to(at::kDouble), options.rowGuard).sqrt().to(w.dtype());
      x = w * rowScale.unsqueeze(1);
      break;
    }
    case Method::Asvd: {
      const auto& mean = requireStat(stats->absMean, "input activation means", {m}, method);
      rowScale = guarded(mean.to(at::kDouble), options.rowGuard).pow(options.asvdAlpha).to(w.dtype());
      x = w * rowScale.unsqueeze(1);
      break;
    }
    case Method::Whiten: {
      requireStat(stats->gram, "the input covariance X^T X", {m, m}, method);
      if (n <= m) {
        EigenWhitening e = whitenByEigen(w, stats->gram, options.plainSpectrum);
        const bool truncated = options.maxRank > 0 && options.maxRank + options.oversample < n / 2;
        const int64_t k = truncated ? options.maxRank : n;  // the layout the cache expects
        d.b = e.v.narrow(1, 0, k).t().to(w.dtype()).contiguous();
        d.a = at::matmul(w, d.b.t()).contiguous();  // W V, as below
        d.s = e.s.narrow(0, 0, k).to(w.dtype()).contiguous();
        d.totalEnergy = e.totalEnergy;
        d.whitenRetries = e.retries;
        d.whitenDelta = e.delta;
        d.plainS = e.plainS;
        return d;
      }
      Whitener local;
      Whitener& white = stats->whitener ? *stats->whitener : local;
      if (!white.lower.defined() || white.lower.scalar_type() != w.scalar_type())
        white = whitenerOf(stats->gram, w.scalar_type());
      d.whitenRetries = white.retries;
      d.whitenDelta = white.delta;
      whitened = true;
      x = at::matmul(white.lower.t(), w);
      break;
    }
  }

  const int64_t full = std::min(m, n);
  at::Tensor u, s, vh;
  if (options.maxRank > 0 && options.maxRank + options.oversample < full / 2) {
    std::tie(u, s, vh) =
        randomizedSvd(x, options.maxRank, options.oversample, options.powerIterations, options.seed);
    d.totalEnergy = x.to(at::kDouble).square().sum().item<double>();  // the truncated spectrum cannot say
  } else {
    std::tie(u, s, vh) = compat::svd(x);
    d.totalEnergy = s.to(at::kDouble).square().sum().item<double>();
  }
  at::Tensor us;
  if (whitened) {
    // L^T W = U S V^T gives W = L^-T U S V^T, so A = L^-T U S = W V: a product with W itself, no
    // triangular solve (and no loss of accuracy to L's conditioning).
    us = at::matmul(w, vh.t().to(w.dtype()));
  } else {
    us = u * s.unsqueeze(0);
    if (rowScale.defined()) us = us / rowScale.unsqueeze(1);
  }
  d.a = us.contiguous();
  d.b = vh.contiguous();
  d.s = s.contiguous();
  if (method == Method::Svd && s.size(0) == full) {
    d.plainS = d.s;
  } else if (options.plainSpectrum) {
    d.plainS = plainSpectrumOf(w);
  }
  return d;
}

std::vector<OpDecomposition> decomposeModel(const models::LanguageModel& model, Method method,
                                            const Calibration* calibration, const DecomposeOptions& options,
                                            ProgressSink* progress, const CancelToken* cancel) {
  const auto& entries = model.ops().entries();
  if (method != Method::Svd && (!calibration || calibration->ops.size() != entries.size()))
    throw Error(methodName(method) + " needs a calibration pass over the model's " +
                std::to_string(entries.size()) + " ops");
  torch::NoGradGuard guard;
  std::vector<OpDecomposition> out;
  out.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (cancel) cancel->check();
    const auto& impl = *entries[i].slot->impl();
    const at::Tensor w = impl.denseWeight().detach().to(at::kFloat).t();
    try {
      out.push_back(
          decomposeWeight(w, impl.bias(), method, calibration ? &calibration->ops[i] : nullptr, options));
    } catch (const Error& e) {
      throw Error("op '" + entries[i].info.name + "': " + e.what());
    }
    if (progress)
      progress->progress("decompose", static_cast<long long>(i + 1), static_cast<long long>(entries.size()));
  }
  return out;
}

std::string decompositionCacheKey(const std::string& modelHash, Method method,
                                  const std::string& calibrationHash, const DecomposeOptions& o) {
  std::ostringstream k;
  k.precision(17);
  k << "ranklab-decomposition-v2|" << modelHash << "|" << methodName(method) << "|"
    << (method == Method::Svd ? std::string() : calibrationHash) << "|" << o.asvdAlpha << "|" << o.rowGuard
    << "|" << o.plainSpectrum << "|" << o.maxRank;
  // The seed, oversampling and power iterations only shape the randomized SVD: a full decomposition is
  // the same for every seed, so a sweep over seeds shares it.
  if (o.maxRank > 0) k << "|" << o.oversample << "|" << o.powerIterations << "|" << o.seed;
  return sha256Hex(k.str());
}

fs::path defaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "ranklab" / "decompositions";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "ranklab" / "decompositions";
  return fs::temp_directory_path() / "ranklab-decompositions";
}

namespace {

constexpr const char* kCacheFormat = "ranklab-decompositions-v2";

std::string opSignature(const models::LanguageModel& model) {
  std::string sig;
  for (const auto& e : model.ops().entries())
    sig += e.info.name + ":" + std::to_string(e.info.inFeatures) + "x" + std::to_string(e.info.outFeatures) +
           ";";
  return sig;
}

// What one op's cache entries hold: K kept triplets, and whether the plain spectrum is stored.
struct OpLayout {
  int64_t m = 0, n = 0, k = 0;
  bool plain = false;
};

void appendLayout(std::vector<io::SafetensorsStreamWriter::Entry>& out, size_t i, const OpLayout& l) {
  const std::string p = std::to_string(i) + ".";
  out.push_back({p + "a", at::kFloat, {l.m, l.k}});
  out.push_back({p + "b", at::kFloat, {l.k, l.n}});
  out.push_back({p + "s", at::kFloat, {l.k}});
  if (l.plain) out.push_back({p + "plain_s", at::kFloat, {std::min(l.m, l.n)}});
  out.push_back({p + "stats", at::kDouble, {3}});
}

void writeEntries(io::SafetensorsStreamWriter& out, const OpDecomposition& d, bool plain) {
  out.write(d.a);
  out.write(d.b);
  out.write(d.s);
  if (plain) out.write(d.plainS);
  out.write(at::tensor({d.totalEnergy, static_cast<double>(d.whitenRetries), d.whitenDelta}, at::kDouble));
}

}  // namespace

struct DecompositionCacheWriter::Impl {
  std::vector<OpLayout> layouts;
  size_t next = 0;
  std::unique_ptr<io::SafetensorsStreamWriter> out;
};

DecompositionCacheWriter::DecompositionCacheWriter(const fs::path& dir, const std::string& key,
                                                   const models::LanguageModel& model, Method method,
                                                   const DecomposeOptions& options)
    : m_impl(std::make_unique<Impl>()) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the decomposition cache: " + ec.message());
  removeAbandonedTemporaries(dir);  // half-written cache files of jobs that were killed
  std::vector<io::SafetensorsStreamWriter::Entry> entries;
  for (const auto& e : model.ops().entries()) {
    // The shapes decomposeWeight produces for these options.
    OpLayout l{e.info.inFeatures, e.info.outFeatures, std::min(e.info.inFeatures, e.info.outFeatures), false};
    const bool randomized = options.maxRank > 0 && options.maxRank + options.oversample < l.k / 2;
    if (randomized) l.k = options.maxRank;
    l.plain = (method == Method::Svd && !randomized) || options.plainSpectrum;
    appendLayout(entries, m_impl->layouts.size(), l);
    m_impl->layouts.push_back(l);
  }
  m_impl->out = std::make_unique<io::SafetensorsStreamWriter>(
      dir / (key + ".safetensors"), std::move(entries),
      std::map<std::string, std::string>{{"ops", opSignature(model)}, {"format", kCacheFormat}});
}

DecompositionCacheWriter::~DecompositionCacheWriter() = default;

void DecompositionCacheWriter::write(const OpDecomposition& d) {
  auto& m = *m_impl;
  if (m.next >= m.layouts.size()) throw Error("decomposition cache: more ops written than the model has");
  writeEntries(*m.out, d, m.layouts[m.next].plain);
  ++m.next;
}

void DecompositionCacheWriter::commit() { m_impl->out->commit(); }

std::vector<OpDecomposition> loadCachedDecompositions(const fs::path& dir, const std::string& key,
                                                      const models::LanguageModel& model) {
  const fs::path file = dir / (key + ".safetensors");
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  try {
    const auto header = io::readSafetensorsHeader(file);
    auto meta = [&](const std::string& k) {
      auto it = header.metadata.find(k);
      return it == header.metadata.end() ? std::string() : it->second;
    };
    if (meta("format") != kCacheFormat || meta("ops") != opSignature(model)) return {};
    const auto tensors = io::readSafetensors(file, io::kStoredDtype);
    const auto device = model.device();
    std::vector<OpDecomposition> out;
    const auto& entries = model.ops().entries();
    for (size_t i = 0; i < entries.size(); ++i) {
      const std::string p = std::to_string(i) + ".";
      OpDecomposition d;
      d.a = tensors.at(p + "a").to(device);
      d.b = tensors.at(p + "b").to(device);
      d.s = tensors.at(p + "s").to(device);
      if (tensors.count(p + "plain_s")) d.plainS = tensors.at(p + "plain_s").to(device);
      const at::Tensor stats = tensors.at(p + "stats");
      d.totalEnergy = stats[0].item<double>();
      d.whitenRetries = static_cast<int>(stats[1].item<double>());
      d.whitenDelta = stats[2].item<double>();
      const auto& info = entries[i].info;
      if (d.a.size(0) != info.inFeatures || d.b.size(1) != info.outFeatures || d.a.size(1) != d.b.size(0))
        return {};
      const at::Tensor bias = entries[i].slot->impl()->bias();
      if (bias.defined()) d.bias = bias.detach().clone();
      out.push_back(std::move(d));
    }
    return out;
  } catch (const std::exception&) {
    return {};  // a damaged or foreign cache file is recomputed, not fatal
  }
}

void applyRank(models::LanguageModel& model, size_t op, const OpDecomposition& d, int64_t k) {
  const auto& entry = model.ops().entries().at(op);
  const auto& info = entry.info;
  if (k < 0 || k > select::fullRank(info))
    throw Error("applying ranks: rank " + std::to_string(k) + " for op '" + info.name + "' is outside [0, " +
                std::to_string(select::fullRank(info)) + "]");
  if (k == select::fullRank(info)) return;
  if (k > d.a.size(1))
    throw Error("applying ranks: op '" + info.name + "' asks for rank " + std::to_string(k) +
                " but its decomposition holds " + std::to_string(d.a.size(1)) + " triplets");
  torch::NoGradGuard guard;
  // The factors keep the precision the op's weight was stored in (an fp16 model stays fp16).
  const auto* factors = dynamic_cast<const models::LowRankLinear*>(entry.slot->impl().get());
  const auto dtype = factors ? factors->a().scalar_type() : entry.slot->impl()->denseWeight().scalar_type();
  const at::Tensor a = d.a.narrow(1, 0, k).to(at::kFloat);
  const at::Tensor b = d.b.narrow(0, 0, k).to(at::kFloat);
  if (select::isFactorized(info, k)) {
    entry.slot->replace(std::make_shared<models::LowRankLinear>(
        a.to(dtype).clone(), b.to(dtype).clone(), d.bias.defined() ? d.bias.clone() : at::Tensor()));
  } else {
    // Dense is cheaper at this rank: store the rank-k product as a dense weight.
    auto dense =
        std::make_shared<models::DenseLinear>(info.inFeatures, info.outFeatures, d.bias.defined(), false);
    dense->to(a.device());
    dense->weight().set_data(torch::matmul(a, b).t().to(dtype).contiguous());
    if (d.bias.defined()) dense->mutableBias().copy_(d.bias);
    entry.slot->replace(dense);
  }
}

void applyRanks(models::LanguageModel& model, const std::vector<OpDecomposition>& decompositions,
                const std::vector<int64_t>& ranks) {
  const auto& entries = model.ops().entries();
  if (decompositions.size() != entries.size() || ranks.size() != entries.size())
    throw Error("applying ranks: " + std::to_string(ranks.size()) + " ranks and " +
                std::to_string(decompositions.size()) + " decompositions for " +
                std::to_string(entries.size()) + " ops");
  for (size_t i = 0; i < entries.size(); ++i) applyRank(model, i, decompositions[i], ranks[i]);
}

}  // namespace ranklab::lowrank
