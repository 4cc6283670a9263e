#include "lowrank/calibration.h"

#include <torch/torch.h>

#include <algorithm>
#include <random>

#include "common/error.h"
#include "eval/classification.h"
#include "models/recompute.h"

namespace ranklab::lowrank {

namespace {

// A seeded permutation that is the same on every platform (std::shuffle's algorithm is not fixed).
std::vector<size_t> seededOrder(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[static_cast<size_t>(rng() % i)]);
  return order;
}

// What the capture ops write into; one per calibration pass.
struct Recorder {
  CalibrationNeeds needs;
  std::vector<OpStats>* stats = nullptr;
  std::vector<bool> ownsGram;  // false: this op's gram is another op's (same input)
  bool firstSample = true;
  std::vector<at::Tensor> firstInputs;  // inputs seen in the first sample, to find shared ones
  std::vector<int> layerOf;
};

// Wraps an op during calibration: records statistics of its input, then runs the op unchanged.
// With gradients wanted, the op's output gradient dY arrives in a hook and dL/dW = X^T dY is reduced
// to row sums at once; an input that carries no autograd history yet (the first ops of the stack) is
// made a leaf that requires grad, so the loss's graph reaches every op without any weight gradient.
class CaptureOp : public models::LinearOp {
 public:
  CaptureOp(std::shared_ptr<models::LinearOp> inner, size_t index, Recorder* recorder)
      : m_inner(std::move(inner)), m_index(index), m_recorder(recorder) {}

  at::Tensor forward(const at::Tensor& x) override {
    record(x);
    if (!m_recorder->needs.gradients() || !at::GradMode::is_enabled()) return m_inner->forward(x);
    const at::Tensor in = x.requires_grad() ? x : x.detach().requires_grad_(true);
    at::Tensor y = m_inner->forward(in);
    const at::Tensor flat = in.detach().reshape({-1, in.size(-1)});
    y.register_hook([this, flat](const at::Tensor& grad) { accumulateGradient(flat, grad); });
    return y;
  }
  int64_t inFeatures() const override { return m_inner->inFeatures(); }
  int64_t outFeatures() const override { return m_inner->outFeatures(); }
  int64_t parameterCount() const override { return m_inner->parameterCount(); }
  at::Tensor denseWeight() const override { return m_inner->denseWeight(); }
  at::Tensor bias() const override { return m_inner->bias(); }

 private:
  void record(const at::Tensor& x) {
    auto& r = *m_recorder;
    auto& s = (*r.stats)[m_index];
    torch::NoGradGuard guard;
    const at::Tensor all = x.detach().reshape({-1, x.size(-1)});
    s.tokens += all.size(0);
    // Rows in blocks of 512 tokens, so the float64 copy stays small (a batch of GPT-2's MLP inputs is
    // 50 MB in float64).
    auto blocks = [&](const std::function<void(const at::Tensor&)>& f) {
      for (int64_t r0 = 0; r0 < all.size(0); r0 += 512)
        f(all.narrow(0, r0, std::min<int64_t>(512, all.size(0) - r0)).to(at::kDouble));
    };
    if (r.needs.absMean) blocks([&](const at::Tensor& flat) { s.absMean.add_(flat.abs().sum(0)); });
    if (!r.needs.gram) return;
    if (r.firstSample && r.firstInputs[m_index].defined()) {
      // This op runs a second time: the first forward is over, and with it the sharing detection.
      r.firstSample = false;
      r.firstInputs.assign(r.firstInputs.size(), at::Tensor());
    }
    if (r.firstSample) {
      // Ops of one layer fed the very same tensor (q, k, v; gate, up) share one X^T X.
      // (Evaluation order is not op order: C++ may run up before gate in silu(gate(x)) * up(x).)
      for (size_t j = 0; j < r.firstInputs.size(); ++j) {
        if (j != m_index && r.layerOf[j] == r.layerOf[m_index] && r.ownsGram[j] &&
            r.firstInputs[j].defined() && r.firstInputs[j].unsafeGetTensorImpl() == x.unsafeGetTensorImpl()) {
          s.gram = (*r.stats)[j].gram;
          s.whitener = (*r.stats)[j].whitener;
          r.ownsGram[m_index] = false;
          break;
        }
      }
      r.firstInputs[m_index] = x;
    }
    if (r.ownsGram[m_index]) blocks([&](const at::Tensor& flat) { addGram(s.gram, flat); });
  }

  // grad: dL/dY [.., N]. dL/dW (in x out, [M, N]) = X^T dY over the sample's tokens.
  void accumulateGradient(const at::Tensor& flatInput, const at::Tensor& grad) {
    torch::NoGradGuard guard;
    auto& s = (*m_recorder->stats)[m_index];
    const at::Tensor g =
        at::mm(flatInput.t().to(at::kFloat), grad.reshape({-1, grad.size(-1)}).to(at::kFloat));
    if (m_recorder->needs.fisher) s.fisher.add_(g.square().sum(1).to(at::kDouble));
    if (m_recorder->needs.importance) {
      const at::Tensor w = m_inner->denseWeight().detach().t().to(at::kFloat);  // [M, N]
      s.importance.add_((g * w).square().sum(1).to(at::kDouble));
    }
  }

  std::shared_ptr<models::LinearOp> m_inner;
  size_t m_index;
  Recorder* m_recorder;
};

}  // namespace

std::vector<CalibrationSample> textSamples(const tokenize::Tokenizer& tokenizer, const std::string& text,
                                           const std::string& separator, int64_t count, int64_t length,
                                           uint64_t seed) {
  if (count <= 0 || length < 2) throw Error("calibration: need at least one sample of two tokens or more");
  std::vector<int64_t> stream;
  const int64_t bos = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
  for (const auto& doc : data::splitDocuments(text, separator)) {
    if (bos >= 0) stream.push_back(bos);
    const auto ids = tokenizer.encode(doc);
    stream.insert(stream.end(), ids.begin(), ids.end());
  }
  const size_t windows = stream.size() / static_cast<size_t>(length);
  if (windows == 0)
    throw Error("calibration: the text holds " + std::to_string(stream.size()) +
                " tokens, fewer than one window of " + std::to_string(length));
  auto order = seededOrder(windows, seed);
  order.resize(std::min(windows, static_cast<size_t>(count)));
  std::sort(order.begin(), order.end());
  std::vector<CalibrationSample> out;
  for (size_t w : order) {
    CalibrationSample s;
    s.ids.assign(stream.begin() + static_cast<std::ptrdiff_t>(w * length),
                 stream.begin() + static_cast<std::ptrdiff_t>((w + 1) * length));
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<CalibrationSample> labelledSamples(const tokenize::Tokenizer& tokenizer,
                                               const std::vector<data::LabelledExample>& examples,
                                               int64_t count, int64_t maxLength, int64_t vocab,
                                               uint64_t seed) {
  if (examples.empty() || count <= 0) throw Error("calibration: the labelled set is empty");
  auto order = seededOrder(examples.size(), seed);
  order.resize(std::min(examples.size(), static_cast<size_t>(count)));
  std::sort(order.begin(), order.end());
  std::vector<CalibrationSample> out;
  for (size_t i : order) {
    CalibrationSample s;
    try {
      s.ids = eval::encodeExample(tokenizer, examples[i], maxLength, vocab);
    } catch (const Error& e) {
      throw Error("calibration example " + std::to_string(i + 1) + ": " + e.what());
    }
    s.label = examples[i].label;
    out.push_back(std::move(s));
  }
  return out;
}

at::Tensor taskLoss(models::LanguageModel& model, const std::vector<const CalibrationSample*>& batch,
                    int64_t padId) {
  if (batch.empty()) throw Error("task loss of an empty batch");
  const bool classify = !model.isCausal();
  if (classify && !model.hasClassifier())
    throw Error("an encoder needs a classification head and labelled data");
  const auto device = model.device();
  const int64_t n = static_cast<int64_t>(batch.size());
  int64_t len = 0;
  for (const auto* s : batch) {
    if (static_cast<int64_t>(s->ids.size()) < (classify ? 1 : 2))
      throw Error("a sample is too short to score");
    len = std::max<int64_t>(len, static_cast<int64_t>(s->ids.size()));
  }
  if (classify) {
    auto ids = torch::full({n, len}, padId, torch::kLong);
    auto mask = torch::zeros({n, len}, torch::kLong);
    std::vector<int64_t> labels;
    for (int64_t b = 0; b < n; ++b) {
      const auto& s = *batch[static_cast<size_t>(b)];
      if (s.label < 0 || s.label >= model.config().numLabels)
        throw Error("label " + std::to_string(s.label) + " is outside the model's " +
                    std::to_string(model.config().numLabels) + " labels");
      const auto l = static_cast<int64_t>(s.ids.size());
      ids[b].narrow(0, 0, l).copy_(torch::tensor(s.ids, torch::kLong));
      mask[b].narrow(0, 0, l).fill_(1);
      labels.push_back(s.label);
    }
    auto logits = model.classify(ids.to(device), mask.to(device));
    return torch::nn::functional::cross_entropy(logits, torch::tensor(labels, torch::kLong).to(device));
  }
  auto input = torch::zeros({n, len - 1}, torch::kLong);
  auto target = torch::full({n, len - 1}, -100, torch::kLong);
  for (int64_t b = 0; b < n; ++b) {
    const auto& ids = batch[static_cast<size_t>(b)]->ids;
    const auto l = static_cast<int64_t>(ids.size()) - 1;
    const auto t = torch::tensor(ids, torch::kLong);
    input[b].narrow(0, 0, l).copy_(t.narrow(0, 0, l));
    target[b].narrow(0, 0, l).copy_(t.narrow(0, 1, l));
  }
  if (model.activationCheckpointing() && at::GradMode::is_enabled())
    return models::recomputedNextTokenLoss(model, input.to(device), target.to(device));
  auto logits = model.forward(input.to(device), nullptr);
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), target.to(device).reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
}

double taskPerplexity(models::LanguageModel& model, const std::vector<CalibrationSample>& samples,
                      int64_t batchSize, int64_t padId, const CancelToken* cancel) {
  if (samples.empty()) throw Error("task perplexity of no samples");
  torch::InferenceMode guard;
  double sum = 0.0, weight = 0.0;
  const size_t batch = static_cast<size_t>(std::max<int64_t>(1, batchSize));
  for (size_t i = 0; i < samples.size(); i += batch) {
    if (cancel) cancel->check();
    std::vector<const CalibrationSample*> b;
    double w = 0.0;
    for (size_t j = i; j < std::min(samples.size(), i + batch); ++j) {
      b.push_back(&samples[j]);
      w += model.isCausal() ? static_cast<double>(samples[j].ids.size() - 1) : 1.0;
    }
    // taskLoss averages over the batch's tokens (or examples); weight it back to a global mean.
    sum += taskLoss(model, b, padId).item<double>() * w;
    weight += w;
  }
  return std::exp(sum / weight);
}

namespace {

// Column blocks of about 512: wide enough for a fast product, narrow enough that the skipped lower
// triangle is most of what a full product would add.
int64_t gramBlocks(int64_t m) { return std::max<int64_t>(1, (m + 256) / 512); }

// Block i of the k blocks of `t` along `dim` (its m entries split as evenly as integers allow).
at::Tensor block(const at::Tensor& t, int64_t dim, int64_t k, int64_t i) {
  const int64_t m = t.size(dim), start = m * i / k;
  return t.narrow(dim, start, m * (i + 1) / k - start);
}

}  // namespace

void addGram(at::Tensor& gram, const at::Tensor& x) {
  const int64_t k = gramBlocks(x.size(1));
  for (int64_t i = 0; i < k; ++i) {
    const at::Tensor xi = block(x, 1, k, i).t(), rows = block(gram, 0, k, i);
    for (int64_t j = i; j < k; ++j) block(rows, 1, k, j).addmm_(xi, block(x, 1, k, j));
  }
}

void mirrorGram(at::Tensor& gram) {
  const int64_t k = gramBlocks(gram.size(0));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j)
      block(block(gram, 0, k, j), 1, k, i).copy_(block(block(gram, 0, k, i), 1, k, j).t());
}

std::vector<OpStats> captureActivationStats(models::LanguageModel& model, const std::vector<size_t>& ops,
                                            const CalibrationNeeds& needs, const std::function<void()>& run) {
  const auto& entries = model.ops().entries();
  std::vector<OpStats> stats(entries.size());
  Recorder recorder;
  recorder.needs.absMean = needs.absMean;
  recorder.needs.gram = needs.gram;
  recorder.stats = &stats;
  recorder.ownsGram.assign(entries.size(), true);
  recorder.firstInputs.resize(entries.size());
  for (const auto& e : entries) recorder.layerOf.push_back(e.info.layer);
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble).device(model.device());
  std::vector<std::pair<size_t, std::shared_ptr<models::LinearOp>>> originals;
  struct Restore {
    const std::vector<models::OpEntry>& entries;
    std::vector<std::pair<size_t, std::shared_ptr<models::LinearOp>>>& originals;
    ~Restore() {
      for (auto& [i, op] : originals) entries[i].slot->replace(op);
    }
  } restore{entries, originals};
  for (size_t i : ops) {
    const auto& info = entries.at(i).info;
    if (!std::dynamic_pointer_cast<models::DenseLinear>(entries[i].slot->impl()))
      throw Error("calibration: op '" + info.name + "' is already compressed; calibrate the original model");
    if (needs.absMean) stats[i].absMean = torch::zeros({info.inFeatures}, f64);
    if (needs.gram) {
      stats[i].gram = torch::zeros({info.inFeatures, info.inFeatures}, f64);
      stats[i].whitener = std::make_shared<Whitener>();
    }
    originals.emplace_back(i, entries[i].slot->impl());
    entries[i].slot->replace(std::make_shared<CaptureOp>(entries[i].slot->impl(), i, &recorder));
  }
  recorder.firstSample = true;
  run();
  torch::NoGradGuard guard;
  for (size_t i : ops) {
    if (stats[i].absMean.defined())
      stats[i].absMean.div_(static_cast<double>(std::max<int64_t>(1, stats[i].tokens)));
    if (stats[i].gram.defined() && recorder.ownsGram[i]) mirrorGram(stats[i].gram);
  }
  return stats;
}

Calibration calibrate(models::LanguageModel& model, const std::vector<CalibrationSample>& samples,
                      const CalibrationNeeds& needs, ProgressSink* progress, const CancelToken* cancel) {
  if (samples.empty()) throw Error("calibration: no samples");
  const bool classify = !model.isCausal();
  if (classify && !model.hasClassifier())
    throw Error("calibration: an encoder needs a classification head and a labelled calibration set");
  const auto& entries = model.ops().entries();
  const auto device = model.device();

  std::vector<std::shared_ptr<models::DenseLinear>> dense;
  for (const auto& e : entries) {
    auto d = std::dynamic_pointer_cast<models::DenseLinear>(e.slot->impl());
    if (!d)
      throw Error("calibration: op '" + e.info.name +
                  "' is already compressed; calibrate the original model");
    dense.push_back(d);
  }

  Calibration result;
  result.ops.resize(entries.size());
  Recorder recorder;
  recorder.needs = needs;
  recorder.stats = &result.ops;
  recorder.ownsGram.assign(entries.size(), true);
  recorder.firstInputs.resize(entries.size());
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble).device(device);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& info = entries[i].info;
    recorder.layerOf.push_back(info.layer);
    auto& s = result.ops[i];
    if (needs.fisher) s.fisher = torch::zeros({info.inFeatures}, f64);
    if (needs.importance) s.importance = torch::zeros({info.inFeatures}, f64);
    if (needs.absMean) s.absMean = torch::zeros({info.inFeatures}, f64);
    if (needs.gram) {
      s.gram = torch::zeros({info.inFeatures, info.inFeatures}, f64);
      s.whitener = std::make_shared<Whitener>();
    }
  }

  // Swap in the capture ops and freeze every parameter (the hooks need no weight gradient); put the
  // originals and the flags back whatever happens.
  struct Restore {
    const std::vector<models::OpEntry>& entries;
    std::vector<std::shared_ptr<models::DenseLinear>>& dense;
    std::vector<std::pair<at::Tensor, bool>> flags;
    ~Restore() {
      for (size_t i = 0; i < entries.size(); ++i) entries[i].slot->replace(dense[i]);
      for (auto& [t, f] : flags) t.set_requires_grad(f);
    }
  } restore{entries, dense, {}};
  for (auto& p : model.parameters()) {
    restore.flags.emplace_back(p, p.requires_grad());
    p.set_requires_grad(false);
  }
  for (size_t i = 0; i < entries.size(); ++i)
    entries[i].slot->replace(std::make_shared<CaptureOp>(dense[i], i, &recorder));

  const bool wasTraining = model.is_training();
  model.eval();
  double lossSum = 0.0;
  for (size_t n = 0; n < samples.size(); ++n) {
    if (cancel) cancel->check();
    const auto& sample = samples[n];
    at::Tensor loss;
    {
      std::unique_ptr<torch::NoGradGuard> noGrad;
      if (!needs.gradients()) noGrad = std::make_unique<torch::NoGradGuard>();
      try {
        loss = taskLoss(model, {&sample});
      } catch (const Error& e) {
        throw Error("calibration sample " + std::to_string(n + 1) + ": " + e.what());
      }
    }
    recorder.firstSample = false;
    recorder.firstInputs.assign(entries.size(), at::Tensor());
    if (needs.gradients()) {
      loss.backward();
      lossSum += loss.item<double>();
    }
    result.tokens += static_cast<int64_t>(sample.ids.size());
    if (progress)
      progress->progress("calibrate", static_cast<long long>(n + 1), static_cast<long long>(samples.size()));
  }
  if (wasTraining) model.train();

  result.samples = static_cast<int64_t>(samples.size());
  result.meanLoss = needs.gradients() ? lossSum / static_cast<double>(samples.size()) : 0.0;
  torch::NoGradGuard guard;
  const double n = static_cast<double>(samples.size());
  for (size_t i = 0; i < result.ops.size(); ++i) {
    auto& s = result.ops[i];
    if (s.gram.defined() && recorder.ownsGram[i]) mirrorGram(s.gram);
    if (s.fisher.defined()) s.fisher.div_(n);
    if (s.importance.defined()) s.importance.div_(n);
    if (s.absMean.defined()) s.absMean.div_(static_cast<double>(std::max<int64_t>(1, s.tokens)));
  }
  return result;
}

}  // namespace ranklab::lowrank
