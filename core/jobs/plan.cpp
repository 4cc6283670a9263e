#include "jobs/plan.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>
#include <utility>

#include "common/device.h"
#include "common/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "jobs/job_spec.h"
#include "jobs/selector.h"
#include "lowrank/decompose.h"
#include "lowrank/layerwise.h"
#include "models/loader.h"
#include "select/ledger.h"

namespace fs = std::filesystem;

namespace ranklab::jobs {

namespace {

constexpr double kOverhead =
    0.25e9;  // the loaded libraries (0.11 GB resident) and OpenBLAS GEMM buffers (0.13 GB)
constexpr double kAttentionBlocks = 64e6;  // two 32 MB score blocks (scores, softmax)
constexpr double kLogitChunks = 32e6;      // two 16 MB logit chunks

}  // namespace

double availableHostBytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("MemAvailable:", 0) == 0) return std::strtod(line.c_str() + 13, nullptr) * 1024.0;  // kB
  return 0.0;
}

namespace {

std::string gb(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
  return buf;
}

// Float32 activations a forward keeps per token of one layer (residual, norms, q/k/v/o, the MLP's
// intermediates), in floats.
double perTokenLayerFloats(const io::ModelConfig& c) {
  return 10.0 * static_cast<double>(c.hiddenSize) + 3.0 * static_cast<double>(c.intermediateSize);
}

// A float32 SVD of an M x N weight: W, the decomposed copy, U, Vh, A = W V and LAPACK's work space.
double svdWorkingSet(int64_t m, int64_t n) {
  const double M = static_cast<double>(m), N = static_cast<double>(n), K = std::min(M, N);
  return 4.0 * (2.0 * M * N + 2.0 * M * K + K * N + 4.0 * K * K);
}

struct Shapes {
  double largestSvd = 0.0;       // the largest op's SVD working set
  double fullRankFactors = 0.0;  // sum K (M + N) float32
  double layerGrams = 0.0;       // one layer's X^T X (float64) and Cholesky factors (float32)
};

Shapes shapesOf(const models::LanguageModel& model) {
  Shapes s;
  for (const auto& e : model.ops().entries()) {
    const double m = static_cast<double>(e.info.inFeatures), n = static_cast<double>(e.info.outFeatures);
    s.largestSvd = std::max(s.largestSvd, svdWorkingSet(e.info.inFeatures, e.info.outFeatures));
    s.fullRankFactors += 4.0 * std::min(m, n) * (m + n);
  }
  // Every architecture here feeds a layer's ops four distinct inputs: q/k/v share one, o one,
  // up (and gate) one, down the MLP's width.
  const auto& c = model.config();
  const double d = static_cast<double>(c.hiddenSize), ff = static_cast<double>(c.intermediateSize);
  s.layerGrams = 12.0 * (3.0 * d * d + ff * ff);
  return s;
}

// Bytes and dtype of the weights as loaded: the safetensors headers of a Hugging Face directory or a
// GGUF file's ("mixed" when they differ; GGUF's Q8_0 loads as float32); other formats load as float32.
std::pair<double, std::string> storedWeights(const std::string& modelPath, int64_t parameters) {
  double bytes = 0.0;
  std::map<std::string, int> dtypes;
  io::TensorMap headers;
  if (fs::is_directory(modelPath) && !fs::exists(fs::path(modelPath) / "ranklab.json"))
    headers = io::readSafetensorsModel(modelPath, io::kStoredDtype, /*headersOnly=*/true);
  else if (fs::path(modelPath).extension() == ".gguf")
    headers = io::readGguf(modelPath, io::kStoredDtype, /*headersOnly=*/true).tensors;
  if (!headers.empty()) {
    for (const auto& [name, t] : headers) {
      bytes += static_cast<double>(t.nbytes());
      const auto st = t.scalar_type();
      ++dtypes[st == at::kHalf       ? "float16"
               : st == at::kBFloat16 ? "bfloat16"
               : st == at::kFloat    ? "float32"
                                     : c10::toString(st)];
    }
  } else {
    bytes = 4.0 * static_cast<double>(parameters);
    ++dtypes["float32"];
  }
  return {bytes, dtypes.size() == 1 ? dtypes.begin()->first : "mixed"};
}

}  // namespace

double trainingActivationBytes(const io::ModelConfig& c, double tokens, bool checkpointed) {
  const double layer = tokens * perTokenLayerFloats(c) * 4.0 * 1.6;
  const double vocab = static_cast<double>(std::max<int64_t>(1, c.vocabSize));
  const double layers = static_cast<double>(c.numLayers);
  if (!checkpointed) return layers * layer + 3.0 * tokens * vocab * 4.0;
  // models::recomputedNextTokenLoss's chunks: 8 Mi logits.
  const double chunk =
      std::min(tokens, std::max(1.0, std::floor(static_cast<double>(int64_t{8} << 20) / vocab)));
  return layers * tokens * static_cast<double>(c.hiddenSize) * 4.0 * 2.0 + layer + 3.0 * chunk * vocab * 4.0;
}

void requireCheckpointingMode(const std::string& mode) {
  if (mode != "auto" && mode != "on" && mode != "off")
    throw Error("--activation-checkpointing must be auto, on or off, not '" + mode + "'");
}

TrainingActivations chooseTrainingActivations(const io::ModelConfig& c, double tokens, double extraBytes,
                                              const std::string& mode, double available) {
  requireCheckpointingMode(mode);
  const double kept = trainingActivationBytes(c, tokens, false);
  const double recomputed = trainingActivationBytes(c, tokens, true);
  TrainingActivations t;
  if (mode != "auto") {
    t.checkpointed = mode == "on";
    t.reason = "asked for (--activation-checkpointing " + mode + ")";
  } else if (available > 0.0 && kept + extraBytes > 0.9 * available && recomputed < kept) {
    t.checkpointed = true;
    t.reason = "auto: keeping every activation (" + gb(kept) + ") would not fit in the " + gb(available) +
               " available";
  } else {
    t.reason = available > 0.0
                   ? "auto: every activation (" + gb(kept) + ") fits in the " + gb(available) + " available"
                   : "auto: the memory available is unknown";
  }
  t.bytes = t.checkpointed ? recomputed : kept;
  return t;
}

JobPlan planJob(const api::JobSpec& spec) {
  if (spec.model.empty()) throw Error("no model given");
  const auto method = lowrank::parseMethod(spec.decomposition);
  const auto selector = parseSelector(spec.selector);
  JobPlan plan;
  plan.model = spec.model;
  // A plan may be made for a GPU this machine does not have (a cluster job planned on a laptop).
  const bool gpu = spec.device.rfind("cuda", 0) == 0 || parseDevice(spec.device).is_cuda();
  plan.device = gpu ? (spec.device.rfind("cuda", 0) == 0 ? spec.device : "cuda:0") : "cpu";

  models::LoadOptions lo;
  lo.device = "cpu";
  lo.tokenizerPath = spec.tokenizer;
  lo.headersOnly = true;
  const auto loaded = models::loadModel(spec.model, lo);
  const auto& model = *loaded.model;
  const auto& c = model.config();
  plan.architecture = io::architectureName(c.arch);
  plan.parameters = model.totalParams();
  plan.compressibleParameters = model.ops().compressibleParams();

  std::tie(plan.weightBytes, plan.storedDtype) = storedWeights(spec.model, plan.parameters);
  const double storedBytesPerParam =
      plan.weightBytes / std::max<double>(1.0, static_cast<double>(plan.parameters));
  const Shapes shapes = shapesOf(model);
  const double layerFloats = perTokenLayerFloats(c);

  // Where the weights and the working sets live: the GPU holds both when the job runs there.
  auto stage = [&](const std::string& name, double hostExtra, double deviceExtra, const std::string& detail) {
    PlanStage s;
    s.stage = name;
    s.hostBytes = kOverhead + (gpu ? 0.0 : plan.weightBytes + deviceExtra) + hostExtra;
    s.deviceBytes = gpu ? plan.weightBytes + deviceExtra : 0.0;
    s.detail = detail;
    plan.stages.push_back(std::move(s));
  };
  stage("load", 0.0, 0.0,
        "weights " + gb(plan.weightBytes) + " (" + plan.storedDtype + "), memory-mapped, one copy");

  const int64_t window = std::min<int64_t>(c.maxPositions, spec.evalContext > 0 ? spec.evalContext : 2048);
  if (!spec.evalText.empty() || !spec.evalLabelled.empty() || !spec.evalChoices.empty()) {
    const double perWindow = static_cast<double>(window) * static_cast<double>(c.intermediateSize);
    const double windows = std::max(1.0, std::min(8.0, static_cast<double>(int64_t{1} << 22) / perWindow));
    const double act =
        windows * static_cast<double>(window) * layerFloats * 4.0 + kAttentionBlocks + kLogitChunks;
    stage("evaluate", 0.0, act,
          std::to_string(static_cast<int>(windows)) + " window(s) of " + std::to_string(window) +
              " tokens per forward: activations " + gb(act));
  }

  const CalibrationWindows calibration =
      calibrationWindows(spec, c.maxPositions, c.arch != io::Architecture::Bert);
  const int64_t calibLength = calibration.length;
  const double calibTokens = static_cast<double>(calibration.count) * static_cast<double>(calibLength);
  const bool activations = method == lowrank::Method::Asvd || method == lowrank::Method::Whiten;
  const bool gradients = method == lowrank::Method::Fwsvd || method == lowrank::Method::Iwsvd;
  double layerSet = shapes.largestSvd;
  std::string detail = "largest op's SVD " + gb(shapes.largestSvd);
  double hostHidden = 0.0;
  if (activations) {
    hostHidden = calibTokens * static_cast<double>(c.hiddenSize) * 4.0;
    const double windows = static_cast<double>(std::min<int64_t>(
        calibration.count, lowrank::calibrationBatch(c, calibLength, lowrank::LayerwiseOptions{}.batchSize)));
    const double batch = windows * static_cast<double>(calibLength) * layerFloats * 4.0;
    const double grams = method == lowrank::Method::Whiten ? shapes.layerGrams : 0.0;
    layerSet += grams + batch;
    detail = "hidden states of " + std::to_string(calibration.count) + " x " + std::to_string(calibLength) +
             " tokens " + gb(hostHidden) + (gpu ? " (host)" : "") + ", one layer's statistics " + gb(grams) +
             ", " + detail;
  } else if (gradients) {
    const double backward =
        static_cast<double>(calibLength) * static_cast<double>(c.numLayers) * layerFloats * 4.0 * 1.6;
    layerSet = std::max(layerSet, backward);
    detail = "one sample's backward through every layer " + gb(backward) + ", " + detail;
  }
  const double factors =
      std::min(1.0, spec.keep) * static_cast<double>(plan.compressibleParameters) * storedBytesPerParam;
  stage(activations || gradients ? "calibrate + decompose (by layer)" : "decompose (by op)",
        gpu ? hostHidden : 0.0, (gpu ? 0.0 : hostHidden) + layerSet, detail);

  const double trainTokens = static_cast<double>(spec.batchSize) * static_cast<double>(calibLength);
  // What a stage that trains through the model keeps, as the job will choose it on this machine (on a
  // GPU, auto stays off; an encoder's classification loss keeps its activations: Job::prepareTraining).
  auto training = [&](double extraBytes) {
    const std::string mode = c.arch == io::Architecture::Bert ? "off" : spec.activationCheckpointing;
    const auto t =
        chooseTrainingActivations(c, trainTokens, extraBytes, mode, gpu ? 0.0 : availableHostBytes());
    return std::make_pair(t.bytes, std::string(t.checkpointed ? ", recomputed per layer" : ""));
  };
  if (trainsThroughModel(selector) || selector == Selector::Sensitivity) {
    double extra = shapes.fullRankFactors;
    std::string what = "every op's full-rank factors " + gb(shapes.fullRankFactors);
    if (selector == Selector::RankDyna) {
      extra = 4.0 * shapes.fullRankFactors +
              16.0 * static_cast<double>(plan.parameters - plan.compressibleParameters);
      what = "full-rank factors trained with gradients and Adam " + gb(extra);
    }
    const auto [act, how] = training(extra);
    stage(selectorName(selector), 0.0, extra + (selector == Selector::Sensitivity ? 0.0 : act),
          what + (selector == Selector::Sensitivity
                      ? ""
                      : ", activations of a batch of " + std::to_string(spec.batchSize) + " x " +
                            std::to_string(calibLength) + " tokens " + gb(act) + how));
  }
  stage("apply", 0.0, 0.0,
        "factors at p = " + std::to_string(spec.keep).substr(0, 4) + " " + gb(factors) +
            " replace the dense matrices, which are released op by op");
  if (spec.finetuneSteps > 0 && selector != Selector::RankDyna) {
    const double trainable = 16.0 * static_cast<double>(plan.parameters - plan.compressibleParameters) +
                             16.0 * factors / storedBytesPerParam;
    const auto [act, how] = training(trainable);
    stage(
        "finetune", 0.0, trainable + act,
        "float32 weights, gradients and Adam's moments " + gb(trainable) + ", activations " + gb(act) + how);
  }
  for (const auto& s : plan.stages) {
    plan.peakHostBytes = std::max(plan.peakHostBytes, s.hostBytes);
    plan.peakDeviceBytes = std::max(plan.peakDeviceBytes, s.deviceBytes);
  }
  plan.availableHostBytes = availableHostBytes();
  return plan;
}

void requireHostMemory(const std::string& stage, double needBytes, const std::string& what,
                       const std::string& flags) {
  const double available = availableHostBytes();
  if (available <= 0.0 || needBytes <= 0.9 * available) return;
  throw Error(stage + " needs about " + gb(needBytes) + " more memory (" + what + "); this machine has " +
              gb(available) + " available: " + flags);
}

std::string formatPlan(const JobPlan& p) {
  std::ostringstream out;
  out << "model     " << p.model << " (" << p.architecture << ", " << p.parameters << " parameters, "
      << p.compressibleParameters << " compressible; weights " << gb(p.weightBytes) << ", " << p.storedDtype
      << ")\n"
      << "device    " << p.device << "\n\n";
  const bool gpu = p.peakDeviceBytes > 0.0;
  char line[64];
  out << (gpu ? "stage                               host        GPU  what dominates\n"
              : "stage                               peak        what dominates\n");
  for (const auto& s : p.stages) {
    std::snprintf(line, sizeof line, "%-32s %8s", s.stage.c_str(), gb(s.hostBytes).c_str());
    out << line;
    if (gpu) {
      std::snprintf(line, sizeof line, " %10s", gb(s.deviceBytes).c_str());
      out << line;
    }
    out << "  " << s.detail << "\n";
  }
  out << "\npeak      " << gb(p.peakHostBytes) << " host"
      << (gpu ? ", " + gb(p.peakDeviceBytes) + " GPU" : "");
  if (p.availableHostBytes > 0.0)
    out << "; this machine has " << gb(p.availableHostBytes) << " available"
        << (p.peakHostBytes > p.availableHostBytes ? " (not enough)" : "");
  out << "\n(estimates from the headers; bench/scale.sh measures real peaks)\n";
  return out.str();
}

}  // namespace ranklab::jobs
