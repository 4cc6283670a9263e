#include "jobs/job.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <thread>

#include "ars/ars.h"
#include "common/allocator.h"
#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/compat.h"
#include "common/device.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/json_field.h"
#include "common/tensor_util.h"
#include "data/corpus.h"
#include "eval/classification.h"
#include "eval/multiple_choice.h"
#include "eval/perplexity.h"
#include "jobs/job_spec.h"
#include "jobs/plan.h"
#include "lowrank/layerwise.h"
#include "lowrank/sensitivity.h"
#include "rankdyna/rankdyna.h"
#include "select/selectors.h"
#include "store/run_store.h"
#include "train/finetune.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace ranklab::jobs {

namespace {

// An export replaces its folder as a whole, so the folder must be new, empty, or a model directory
// (a previous export): never a folder of other files, which would be lost.
void requireReplaceableExport(const std::string& exportDir) {
  if (exportDir.empty()) return;
  const fs::path dir(exportDir);
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (!fs::exists(status)) return;
  if (!fs::is_directory(status)) throw Error(exportDir + ": the export folder is a file");
  if (fs::is_empty(dir, ec) || fs::exists(dir / "config.json", ec)) return;
  throw Error(exportDir +
              ": holds files but no config.json, so it is not a model export; an export replaces its folder "
              "whole: choose a new or empty folder");
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string absolutePath(const std::string& p) {
  if (p.empty()) return p;
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

void requireFile(const std::string& file, const char* what) {
  if (!file.empty() && !fs::exists(file)) throw Error(file + ": no such file (" + what + ")");
}

// Everything that identifies a sample set: the file's bytes and how samples were cut from it.
std::string dataHash(const std::string& file, const std::string& how) {
  return file.empty() ? std::string() : sha256Hex(sha256OfPath(file) + "|" + how);
}

ars::ArsOptions arsOptionsOf(const api::JobSpec& s) {
  ars::ArsOptions o;
  o.keep = s.keep;
  o.steps = s.arsSteps;
  o.lambda = s.arsLambda;
  o.gamma = s.arsGamma;
  o.alignNorm = s.arsAlignNorm;
  o.tau = s.arsTau;
  o.bias = s.arsBias;
  o.learningRate = s.arsLearningRate;
  o.batchSize = s.batchSize;
  o.logEvery = s.logEvery;
  o.seed = s.seed;
  o.earlyStop = s.arsEarlyStop;
  o.timeBudgetSeconds = s.arsTimeBudget;
  o.workers = s.workers;
  return o;
}

rankdyna::RankDynaOptions rankDynaOptionsOf(const api::JobSpec& s) {
  rankdyna::RankDynaOptions o;
  o.keep = s.keep;
  o.warmupSteps = s.warmupSteps;
  o.finalSteps = s.finalSteps;
  o.reallocEvery = s.reallocEvery;
  o.beta1 = s.beta1;
  o.beta2 = s.beta2;
  o.orthReg = s.orthReg;
  o.finetune.steps = s.finetuneSteps;
  o.finetune.learningRate = s.learningRate;
  o.finetune.batchSize = s.batchSize;
  o.finetune.seed = s.seed;
  return o;
}

select::Spectrum spectrumOf(const lowrank::OpDecomposition& d) {
  select::Spectrum s;
  for (float v : toFloatVector(d.s)) s.values.push_back(v);
  s.totalEnergy = d.totalEnergy;
  return s;
}

}  // namespace

Job::Job(const api::JobSpec& spec, ProgressSink& progress, CancelToken& cancel, JobObserver* observer,
         BeforeCache* before)
    : m_spec(spec),
      m_progress(progress),
      m_cancel(cancel),
      m_observer(observer),
      m_before(before),
      m_started(std::chrono::steady_clock::now()),
      m_rec(m_out.data.run) {}

Job::~Job() = default;

double Job::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
}

namespace {

// Every number of a spec finite (a spec file or the GUI carries values the CLI's flag checks never
// saw), named by its key.
void requireFiniteNumbers(const api::JobSpec& spec) {
  const json all = toJson(spec);
  for (const auto& item : all.items()) {
    const json& v = item.value();
    auto bad = [](const json& x) { return x.is_number_float() && !std::isfinite(x.get<double>()); };
    bool any = bad(v);
    if (v.is_array() || v.is_object())
      for (const auto& e : v) any = any || bad(e);
    if (any)
      throw Error("job spec: '" + item.key() + "' holds a value that is not a finite number (nan or inf)");
  }
  const int most = 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (spec.threads < 0 || spec.threads > most)
    throw Error("threads must lie in 1 .. " + std::to_string(most) +
                " (4 x the hardware threads; 0: LibTorch's "
                "default), got " +
                std::to_string(spec.threads));
  if (spec.workers < 0 || spec.workers > most)
    throw Error("workers must lie in 1 .. " + std::to_string(most) +
                " (4 x the hardware threads; 0: one per hardware thread), got " +
                std::to_string(spec.workers));
}

}  // namespace

void validateSpec(const api::JobSpec& s) {
  if (s.model.empty()) throw Error("no model given");
  requireFiniteNumbers(s);
  const auto method = lowrank::parseMethod(s.decomposition);
  const auto selector = parseSelector(s.selector);
  if (selector == Selector::RankDyna) {
    if (method != lowrank::Method::Svd)
      throw Error("RankDyna re-parametrises every op by its plain SVD: use it with --decomp svd");
    if (s.finetuneSteps <= 0)
      throw Error("RankDyna compresses while fine-tuning: give it --finetune-steps N");
  }
  if (!(s.keep >= 0.0 && s.keep <= 1.0))
    throw Error("--keep must lie in [0, 1] (the kept fraction p), got " + std::to_string(s.keep));
  if (s.rankRatio > 1.0) throw Error("the uniform rank ratio must lie in [0, 1]");
  if (s.energy > 1.0) throw Error("the energy threshold must lie in [0, 1]");
  if (selector == Selector::Manual && s.manualRanks.empty())
    throw Error("the manual selector needs ranks (--ranks)");
  if (s.exportFormat != "factorized" && s.exportFormat != "dense")
    throw Error("unknown export format '" + s.exportFormat + "' (expected factorized or dense)");
  if (s.finetuneSteps < 0) throw Error("--finetune-steps must not be negative");
  if (s.finetuneSteps > 0 && !(s.learningRate > 0.0))
    throw Error("--lr (learning_rate) must be above 0, got " + std::to_string(s.learningRate));
  if (s.calibSamples < 0) throw Error("the calibration sample count must not be negative (0: the default)");
  if (s.calibLength < 0) throw Error("the calibration window length must not be negative (0: the default)");
  for (double r : s.sensitivityRatios)
    if (!(r > 0.0 && r < 1.0)) throw Error("sensitivity ratios must lie in (0, 1)");
  if (selector == Selector::Ars) ars::validate(arsOptionsOf(s));
  if (s.arsTimeBudget != 0.0 && selector != Selector::Ars)
    throw Error("--time-budget ends ARS training early: use it with --select ars");
  if (s.evalStride < 0) throw Error("--stride must not be negative");
  if (s.propagateCompressed && !ranksKnownUpFront(selector))
    throw Error(
        "--propagate compressed needs the ranks before decomposing: use it with the uniform or manual "
        "selector");
  requireFile(s.calib, "calibration data");
  requireFile(s.train, "training data");
  requireFile(s.evalText, "evaluation text");
  requireFile(s.evalLabelled, "labelled evaluation set");
  requireFile(s.evalChoices, "multiple-choice set");
  if (s.maxChoiceItems < 0) throw Error("--max-items must not be negative (0: every item)");
  requireCheckpointingMode(s.activationCheckpointing);
  if (s.randomizedSvd && !ranksKnownUpFront(selector))
    throw Error(
        "the randomized SVD needs the ranks before decomposing: use it with the uniform or manual selector");
  requireReplaceableExport(s.exportDir);
}

void Job::validate() {
  validateSpec(m_spec);
  m_method = lowrank::parseMethod(m_spec.decomposition);
  m_selector = parseSelector(m_spec.selector);
  // Cheap to read, so a malformed line fails the job before the weights load.
  if (!m_spec.evalChoices.empty())
    m_choices = data::readChoices(m_spec.evalChoices, m_spec.choicesFormat, {}, m_spec.maxChoiceItems);
}

void Job::load() {
  m_progress.progress("load", 0, 1);
  models::LoadOptions lo;
  lo.device = m_spec.device;
  lo.tokenizerPath = m_spec.tokenizer;
  m_loaded = models::loadModel(m_spec.model, lo);
  if (!m_loaded.model->isCausal() && !m_loaded.model->hasClassifier()) {
    // A general pretrained encoder: a seeded classification head for the labelled task, as fine-tuning
    // from a masked-LM checkpoint starts (train::withClassifier).
    const std::string labelled = !m_spec.evalLabelled.empty() ? m_spec.evalLabelled
                                 : !m_spec.train.empty()      ? m_spec.train
                                                              : m_spec.calib;
    if (labelled.empty())
      throw Error(
          m_spec.model +
          ": an encoder without a classification head needs a labelled set (--labelled, --train or --calib)");
    const auto names = data::labelNames({}, labelled);
    m_loaded.model = train::withClassifier(*m_loaded.model, names, m_spec.seed);
    m_details["classifier_attached"] = {{"labels", names}, {"seed", m_spec.seed}};
  }
  m_progress.progress("load", 1, 1);
  m_cancel.check();
  if (!m_loaded.tokenizer)
    throw Error(m_spec.model + ": no tokenizer found next to the model; pass --tokenizer PATH");
  const auto& model = *m_loaded.model;
  m_causal = model.isCausal();
  m_padId = std::max<int64_t>(0, m_loaded.tokenizer->padId());
  m_infos = model.ops().infos();
  const CalibrationWindows windows = calibrationWindows(m_spec, model.config().maxPositions, m_causal);
  m_calibLength = windows.length;
  m_calibCount = windows.count;
  releaseFreedMemory();  // the loader's temporaries (tokenizer tables, parsed headers)
}

void Job::describe() {
  const auto& spec = m_spec;
  const auto& model = *m_loaded.model;
  const std::string sampling = std::to_string(m_calibCount) + "|" + std::to_string(m_calibLength) + "|" +
                               std::to_string(spec.seed) + "|" + spec.separator;
  m_rec.name = spec.name.empty()
                   ? spec.decomposition + "+" + spec.selector + " p=" + std::to_string(spec.keep).substr(0, 4)
                   : spec.name;
  m_rec.modelPath = absolutePath(spec.model);
  m_progress.progress("hash", 0, 1);
  m_rec.modelHash = sha256OfPath(spec.model);
  m_rec.architecture = io::architectureName(model.config().arch);
  m_rec.decomposition = lowrank::methodName(m_method);
  m_rec.selector = selectorName(m_selector);
  m_rec.keepTarget = spec.keep;
  m_rec.calibPath = absolutePath(spec.calib);
  m_rec.calibHash = dataHash(spec.calib, sampling);
  m_evalFile = !spec.evalText.empty()       ? spec.evalText
               : !spec.evalLabelled.empty() ? spec.evalLabelled
                                            : spec.evalChoices;
  m_rec.evalPath = absolutePath(m_evalFile);
  for (const auto* file : {&spec.evalText, &spec.evalLabelled, &spec.evalChoices})
    if (!file->empty() && !m_evalHashes.count(*file)) m_evalHashes[*file] = sha256OfPath(*file);
  m_rec.evalHash = evalHash(m_evalFile);
  m_tokenizerHash = spec.tokenizer.empty() ? "" : sha256OfPath(spec.tokenizer);
  m_rec.seed = static_cast<int64_t>(spec.seed);
  m_rec.configJson = jsonText(toJson(spec));
  m_rec.versionsJson =
      json{
          {"ranklab", RANKLAB_VERSION}, {"torch", compat::torchVersion()}, {"sqlite", store::sqliteVersion()}}
          .dump();
  m_rec.device = deviceName(model.device());
  m_rec.sweepId = spec.sweepId;
  m_rec.specHash = specHash(spec);
  m_rec.tags = spec.tags;
  m_rec.compressibleBefore = model.ops().compressibleParams();
  m_rec.totalBefore = model.totalParams();
  m_rec.metric = m_causal && !spec.evalText.empty() ? "perplexity"
                 : !spec.evalLabelled.empty()       ? "accuracy"
                 : !spec.evalChoices.empty()        ? "acc"
                                                    : "";
  m_rec.metricBefore = m_rec.metricAfter = kNaN;
  m_progress.progress("hash", 1, 1);
  m_cancel.check();
}

void Job::begin() {
  if (m_spec.store) {
    m_out.databasePath = m_spec.db.empty() ? store::RunStore::defaultPath().string() : m_spec.db;
    m_db = std::make_unique<store::RunStore>(m_out.databasePath);
    m_rec.status = "running";
    m_runId = m_db->beginRun(m_rec);
    if (auto stored = m_db->findRun(m_runId)) {
      m_rec.uuid = stored->uuid;
      m_rec.createdAt = stored->createdAt;
    }
    m_rec.id = m_runId;
  } else {
    m_rec.createdAt = utcNow();
  }
  if (m_observer) m_observer->runStarted(m_rec);
}

namespace {

// The same evaluation runs before and after compression: its progress says which one it is
// ("perplexity (before)", "accuracy (after)").
class StageProgress : public ProgressSink {
 public:
  StageProgress(ProgressSink& inner, std::string stage)
      : m_inner(inner), m_suffix(" (" + std::move(stage) + ")") {}
  void progress(const std::string& phase, long long done, long long total) override {
    m_inner.progress(phase + m_suffix, done, total);
  }

 private:
  ProgressSink& m_inner;
  std::string m_suffix;
};

}  // namespace

std::vector<api::EvalPoint> Job::evaluate(const std::string& stage, double kept) {
  auto& model = *m_loaded.model;
  const auto& tokenizer = *m_loaded.tokenizer;
  StageProgress progress(m_progress, stage);
  std::vector<api::EvalPoint> points;
  auto protocolOf = [&](const std::string& metric, const std::string& file) {
    api::EvalProtocol p;
    p.known = true;
    p.metric = metric;
    p.file = fs::path(file).filename().string();
    p.fileHash = evalHash(file);
    p.tokenizerHash = m_tokenizerHash;
    return p;
  };
  if (!m_spec.evalText.empty()) {
    if (!m_causal)
      throw Error(m_spec.evalText + ": perplexity needs a causal language model; this one is an encoder");
    eval::PerplexityOptions po;
    po.documentSeparator = m_spec.separator;
    po.truncate = m_spec.truncate;
    po.context = m_spec.evalContext;
    po.maxDocuments = m_spec.maxEvalDocuments;
    po.stride = m_spec.evalStride;
    const auto r = eval::perplexityOfFile(model, tokenizer, m_spec.evalText, po, &progress, &m_cancel);
    auto protocol = protocolOf("perplexity", m_spec.evalText);
    protocol.separator = po.documentSeparator;
    protocol.context = po.context;
    protocol.stride = po.stride;
    protocol.truncate = po.truncate;
    protocol.maxDocuments = po.maxDocuments;
    protocol.counted = r.tokens;
    protocol.documents = r.documents;
    points.push_back({stage, absolutePath(m_spec.evalText), "perplexity", kept, r.perplexity, r.tokens,
                      std::move(protocol)});
  }
  if (!m_spec.evalLabelled.empty()) {
    const auto r = eval::accuracyOfFile(model, tokenizer, m_spec.evalLabelled, {}, &progress, &m_cancel);
    auto protocol = protocolOf("accuracy", m_spec.evalLabelled);
    protocol.counted = r.examples;
    points.push_back({stage, absolutePath(m_spec.evalLabelled), "accuracy", kept, r.accuracy, r.examples,
                      std::move(protocol)});
  }
  if (!m_spec.evalChoices.empty()) {
    if (!m_causal)
      throw Error(m_spec.evalChoices +
                  ": multiple-choice scoring needs a causal language model; this one is an encoder");
    eval::ChoiceResult r;
    try {
      r = eval::multipleChoice(model, tokenizer, m_choices.items, {}, &progress, &m_cancel);
    } catch (const Error& e) {
      throw Error(m_spec.evalChoices + " " + e.what());
    }
    for (const char* metric : {"acc", "acc_norm"}) {
      auto protocol = protocolOf(metric, m_spec.evalChoices);
      protocol.scoring = m_choices.format;
      protocol.maxDocuments = m_spec.maxChoiceItems;
      protocol.counted = r.all.items;
      const double value = std::string(metric) == "acc" ? r.all.acc : r.all.accNorm;
      points.push_back(
          {stage, absolutePath(m_spec.evalChoices), metric, kept, value, r.all.items, std::move(protocol)});
    }
    if (stage == "before" || !m_details.contains("multiple_choice")) {
      json& mc = m_details["multiple_choice"];
      mc["format"] = m_choices.format;
      mc["chance"] = r.all.chance;
      mc["truncated_requests"] = r.truncated;
    }
    json& st = m_details["multiple_choice"][stage];
    st = {{"acc", r.all.acc},
          {"acc_stderr", r.all.accStderr},
          {"acc_norm", r.all.accNorm},
          {"acc_norm_stderr", r.all.accNormStderr}};
    for (const auto& [task, score] : r.tasks)
      st["tasks"][task] = {{"items", score.items}, {"acc", score.acc}, {"acc_norm", score.accNorm}};
  }
  return points;
}

double Job::headline(const std::vector<api::EvalPoint>& points) {
  for (const auto& p : points)
    if (p.metric == m_rec.metric) {
      if (!m_rec.protocol.known) m_rec.protocol = p.protocol;
      return p.value;
    }
  return kNaN;
}

std::string Job::evalHash(const std::string& file) const {
  const auto it = m_evalHashes.find(file);
  return it == m_evalHashes.end() ? std::string() : it->second;
}

// The dense model's evaluation depends on the model, the data and how it is scored (and, for an
// encoder given a seeded head, the seed).
std::string Job::beforeKey() const {
  const auto& s = m_spec;
  return jsonText(json{{"model", m_rec.modelHash},
                       {"tokenizer", m_tokenizerHash},
                       {"eval", m_rec.evalHash},
                       {"text", !s.evalText.empty()},
                       {"labelled", evalHash(s.evalLabelled)},
                       {"choices", evalHash(s.evalChoices)},
                       {"choices_format", m_choices.format},
                       {"max_choice_items", s.maxChoiceItems},
                       {"separator", s.separator},
                       {"truncate", s.truncate},
                       {"context", s.evalContext},
                       {"max_documents", s.maxEvalDocuments},
                       {"stride", s.evalStride},
                       {"device", m_rec.device},
                       {"head_seed", m_details.contains("classifier_attached") ? json(s.seed) : json()}});
}

void Job::evaluateBefore() {
  const std::string key = m_before && !m_evalFile.empty() ? beforeKey() : std::string();
  const auto* earlier = key.empty() ? nullptr : [&]() -> const std::vector<api::EvalPoint>* {
    const auto it = m_before->find(key);
    return it == m_before->end() ? nullptr : &it->second;
  }();
  std::vector<api::EvalPoint> before;
  if (earlier) {
    before = *earlier;
    m_out.beforeFromEarlierJob = true;
  } else {
    before = evaluate("before", 1.0);
    if (!key.empty()) (*m_before)[key] = before;
  }
  m_rec.metricBefore = headline(before);
  m_out.data.evals = before;
  releaseFreedMemory();
}

void Job::recordTrainingWindows(size_t windows) {
  m_details["training_windows"] = {{"windows", windows},
                                   {"tokens_per_window", m_causal ? m_calibLength : int64_t{0}}};
}

std::vector<lowrank::CalibrationSample> Job::samplesOf(const std::string& file, int64_t count) const {
  const auto& tokenizer = *m_loaded.tokenizer;
  const auto& config = m_loaded.model->config();
  try {
    if (m_causal)
      return lowrank::textSamples(tokenizer, data::readTextFile(file), m_spec.separator, count, m_calibLength,
                                  m_spec.seed);
    return lowrank::labelledSamples(tokenizer, data::readLabelled(file, config.id2label), count,
                                    config.maxPositions, config.vocabSize, m_spec.seed);
  } catch (const Error& e) {
    const std::string m = e.what();
    throw Error(m.rfind(file, 0) == 0 ? m : file + ": " + m);
  }
}

void Job::sampleCalibration() {
  const bool needCalib = m_method != lowrank::Method::Svd || needsCalibration(m_selector);
  m_trainFile = !m_spec.train.empty() ? m_spec.train : m_spec.calib;
  if (needCalib && m_spec.calib.empty())
    throw Error(m_spec.decomposition +
                (m_selector == Selector::Sensitivity ? " with the sensitivity selector"
                 : m_selector == Selector::Ars       ? " with the ARS selector"
                                                     : "") +
                " needs calibration data: pass --calib FILE (" + (m_causal ? "text" : "a labelled set") +
                ")");
  if (m_spec.finetuneSteps > 0 && m_trainFile.empty())
    throw Error("fine-tuning needs training data: pass --train FILE (or --calib FILE)");
  if (!needCalib) return;
  // The windows' token ids, and for activation statistics their hidden states, are held for the
  // whole pass: a count that cannot fit is refused before sampling (--calib-samples 1e8 ran until
  // killed).
  const bool activations = m_method == lowrank::Method::Whiten || m_method == lowrank::Method::Asvd;
  const double tokens = static_cast<double>(m_calibCount) * static_cast<double>(m_calibLength);
  const double perToken =
      8.0 + (activations ? 4.0 * static_cast<double>(m_loaded.model->config().hiddenSize) : 0.0);
  requireHostMemory("calibration", tokens * perToken,
                    "token ids" + std::string(activations ? " and hidden states" : "") + " of " +
                        std::to_string(m_calibCount) + " x " + std::to_string(m_calibLength) + " tokens",
                    "lower --calib-samples or --calib-len");
  m_calibSamples = samplesOf(m_spec.calib, m_calibCount);
  // What the spec's defaults resolved to, so a stored run says what it sampled.
  m_details["calibration"] = {{"samples", m_calibCount},
                              {"tokens_per_window", m_causal ? m_calibLength : int64_t{0}},
                              {"sampled", m_calibSamples.size()}};
}

void Job::decompose() {
  if (ranksKnownUpFront(m_selector))
    m_ranks = m_selector == Selector::Uniform ? uniformRanks() : manualRanks();
  lowrank::DecomposeOptions dopt;
  dopt.seed = m_spec.seed;
  if (m_spec.randomizedSvd && !m_ranks.empty())
    dopt.maxRank = std::max<int64_t>(1, *std::max_element(m_ranks.begin(), m_ranks.end()));
  m_cacheDir = m_spec.cacheDir.empty() ? lowrank::defaultCacheDir() : fs::path(m_spec.cacheDir);
  m_cacheKey = lowrank::decompositionCacheKey(m_rec.modelHash, m_method, m_rec.calibHash, dopt);
  m_applied.assign(m_infos.size(), false);
  if (m_spec.useCache) m_decs = lowrank::loadCachedDecompositions(m_cacheDir, m_cacheKey, *m_loaded.model);
  m_out.decompositionFromCache = !m_decs.empty();
  if (m_decs.empty()) computeDecompositions(dopt);
  noteWhitenRetries();
  releaseFreedMemory();
  m_cancel.check();
}

// Layer by layer (lowrank/layerwise.h). Known ranks (uniform, manual) are applied as each op's
// decomposition arrives, and the energy selector's factors wait in the cache file: either way only
// the spectra stay in memory. The selectors that train through the model, or search it op by op,
// keep every op's factors.
void Job::computeDecompositions(const lowrank::DecomposeOptions& dopt) {
  auto& model = *m_loaded.model;
  const auto needs = lowrank::needsOf(m_method);
  lowrank::Calibration gradients;
  if (needs.gradients()) {
    lowrank::CalibrationNeeds g;
    g.fisher = needs.fisher;
    g.importance = needs.importance;
    gradients = lowrank::calibrate(model, m_calibSamples, g, &m_progress, &m_cancel);
  }
  std::unique_ptr<lowrank::DecompositionCacheWriter> writer;
  auto cacheFailed = [&](const Error& e) {
    m_out.warnings.push_back(std::string("decomposition cache not written: ") + e.what());
    writer.reset();
  };
  if (m_spec.useCache) {
    try {
      writer =
          std::make_unique<lowrank::DecompositionCacheWriter>(m_cacheDir, m_cacheKey, model, m_method, dopt);
    } catch (const Error& e) {
      cacheFailed(e);
    }
  }
  const bool applyNow = ranksKnownUpFront(m_selector);
  bool droppedFactors = false;
  m_decs.assign(m_infos.size(), {});
  lowrank::LayerwiseOptions lo;
  lo.decompose = dopt;
  lo.propagateCompressed = m_spec.propagateCompressed;
  lowrank::decomposeByLayer(
      model, m_method, m_calibSamples, needs.gradients() ? &gradients : nullptr, lo,
      [&](size_t i, lowrank::OpDecomposition&& d) {
        if (writer) {
          try {
            writer->write(d);
          } catch (const Error& e) {
            cacheFailed(e);
          }
        }
        if (applyNow) {
          lowrank::applyRank(model, i, d, m_ranks[i]);
          m_applied[i] = true;
        }
        if (applyNow || (writer && m_selector == Selector::Energy)) {
          droppedFactors = droppedFactors || !applyNow;
          d.a = d.b = at::Tensor();  // the spectra stay, for the ranks and the views
        }
        m_decs[i] = std::move(d);
      },
      &m_progress, &m_cancel);
  if (writer) {
    try {
      writer->commit();
    } catch (const Error& e) {
      cacheFailed(e);
    }
  }
  if (droppedFactors && !writer) {
    // The cache could not keep the factors that were set aside: compute them again, in memory.
    m_decs.clear();
    lowrank::decomposeByLayer(
        model, m_method, m_calibSamples, needs.gradients() ? &gradients : nullptr, lo,
        [&](size_t, lowrank::OpDecomposition&& d) { m_decs.push_back(std::move(d)); }, &m_progress,
        &m_cancel);
  }
}

void Job::noteWhitenRetries() {
  json retries = json::array();
  for (size_t i = 0; i < m_decs.size(); ++i)
    if (m_decs[i].whitenRetries > 0)
      retries.push_back(
          {{"op", m_infos[i].name}, {"retries", m_decs[i].whitenRetries}, {"delta", m_decs[i].whitenDelta}});
  if (retries.empty()) return;
  m_details["whiten_retries"] = retries;
  m_out.warnings.push_back("whitening: X^T X was not positive definite for " +
                           std::to_string(retries.size()) +
                           " op(s); a diagonal shift was added (see the run's details)");
}

void Job::selectRanks() {
  switch (m_selector) {
    case Selector::Uniform:
      m_ranks = uniformRanks();
      break;
    case Selector::Manual:
      m_ranks = manualRanks();
      break;
    case Selector::Energy:
      m_ranks = energyRanks();
      break;
    case Selector::Sensitivity:
      m_ranks = sensitivityRanks();
      break;
    case Selector::Ars:
      m_ranks = arsRanks();
      break;
    case Selector::RankDyna:
      m_ranks = rankDynaRanks();
      break;
  }
  m_cancel.check();
}

std::vector<int64_t> Job::uniformRanks() const {
  return m_spec.rankRatio >= 0.0 ? select::uniformRanksAtRatio(m_infos, m_spec.rankRatio)
                                 : select::uniformRanksAtBudget(m_infos, m_spec.keep);
}

std::vector<int64_t> Job::manualRanks() const { return select::manualRanks(m_infos, m_spec.manualRanks); }

std::vector<int64_t> Job::energyRanks() {
  std::vector<select::Spectrum> spectra;
  for (const auto& d : m_decs) spectra.push_back(spectrumOf(d));
  if (m_spec.energy >= 0.0) {
    m_details["energy_threshold"] = m_spec.energy;
    return select::energyRanks(m_infos, spectra, m_spec.energy);
  }
  double threshold = 0.0;
  auto ranks = select::energyRanksAtBudget(m_infos, spectra, m_spec.keep, &threshold);
  m_details["energy_threshold"] = threshold;
  return ranks;
}

std::vector<int64_t> Job::sensitivityRanks() {
  const auto ratios =
      m_spec.sensitivityRatios.empty() ? lowrank::defaultSensitivityRatios() : m_spec.sensitivityRatios;
  const std::string key = sha256Hex("strs-v1|" + m_rec.modelHash + "|" + m_rec.calibHash + "|" + m_cacheKey +
                                    "|" + json(ratios).dump());
  select::SensitivityTable table;
  table.ratios = ratios;
  std::optional<std::vector<api::SensitivityEntry>> cached;
  if (m_db) cached = m_db->sensitivity(key);
  if (cached && cached->size() == m_infos.size() * ratios.size()) {
    table.perplexity.assign(m_infos.size(), std::vector<double>(ratios.size(), kNaN));
    for (const auto& e : *cached)
      for (size_t r = 0; r < ratios.size(); ++r)
        if (std::abs(ratios[r] - e.ratio) < 1e-12 && e.opIndex >= 0 &&
            e.opIndex < static_cast<int64_t>(m_infos.size()))
          table.perplexity[static_cast<size_t>(e.opIndex)][r] = e.perplexity;
    m_out.sensitivityFromCache = true;
  } else {
    table = lowrank::measureSensitivity(*m_loaded.model, m_decs, m_calibSamples, ratios, m_padId, &m_progress,
                                        &m_cancel);
    if (m_db) {
      std::vector<api::SensitivityEntry> entries;
      for (size_t i = 0; i < m_infos.size(); ++i)
        for (size_t r = 0; r < ratios.size(); ++r)
          entries.push_back({static_cast<int64_t>(i), ratios[r], table.perplexity[i][r]});
      m_db->putSensitivity(key, entries);
    }
  }
  double threshold = 0.0;
  auto ranks = select::sensitivityRanks(m_infos, table, m_spec.keep, &threshold);
  m_details["sensitivity_key"] = key;
  m_details["sensitivity_threshold"] = threshold;
  return ranks;
}

// A logged ARS step or RankDyna reallocation: into the store as it happens, the outcome and the live
// views.
void Job::recordLog(const std::vector<api::SeriesPoint>& points, const api::MaskFrame& frame) {
  if (m_db) {
    m_db->appendSeries(m_runId, points);
    m_db->appendFrames(m_runId, {frame});
  }
  m_out.data.series.insert(m_out.data.series.end(), points.begin(), points.end());
  m_out.data.frames.push_back(frame);
  if (m_observer) {
    for (const auto& p : points) m_observer->seriesPoint(p);
    m_observer->maskFrame(frame);
  }
}

void Job::prepareTraining(const std::string& stage, double extraBytes, const std::string& extraWhat) {
  const int64_t tokens = m_causal ? m_calibLength : m_loaded.model->config().maxPositions;
  const double batchTokens = static_cast<double>(m_spec.batchSize) * static_cast<double>(tokens);
  const bool cuda = m_loaded.model->device().is_cuda();
  // On a GPU the host's memory is not the limit and the device's is not read here: auto stays off.
  // An encoder's classification loss keeps its activations (models/recompute.h is causal-only).
  auto t = chooseTrainingActivations(m_loaded.model->config(), batchTokens, extraBytes,
                                     m_causal ? m_spec.activationCheckpointing : "off",
                                     cuda ? 0.0 : availableHostBytes());
  if (!m_causal)
    t.reason = "an encoder's classification loss keeps its activations";
  else if (cuda && m_spec.activationCheckpointing == "auto")
    t.reason = "auto: off on a GPU (pass on to use it)";
  m_loaded.model->setActivationCheckpointing(t.checkpointed);
  m_details["activation_checkpointing"][stage] = {
      {"on", t.checkpointed}, {"reason", t.reason}, {"activation_bytes_estimate", t.bytes}};
  if (cuda) return;
  char what[200];
  std::snprintf(what, sizeof what, "activations of a batch of %lld x %lld tokens %.2f GB%s%s",
                static_cast<long long>(m_spec.batchSize), static_cast<long long>(tokens), t.bytes / 1e9,
                t.checkpointed ? " recomputed per layer" : "", extraWhat.c_str());
  requireHostMemory(stage, t.bytes + extraBytes, what,
                    std::string(t.checkpointed || !m_causal ? "" : "use --activation-checkpointing on, ") +
                        "lower --batch or --calib-len, or run on a GPU (--device cuda)");
}

std::vector<int64_t> Job::arsRanks() {
  prepareTraining("ARS", 0.0, "");
  auto ao = arsOptionsOf(m_spec);
  ao.padId = m_padId;
  const auto r = ars::trainArs(*m_loaded.model, m_decs, m_calibSamples, ao, &m_progress, &m_cancel,
                               [&](const ars::ArsLog& log) { recordLog(log.points, log.frame); });
  m_details["ars"] = {
      {"steps", r.steps},
      {"stopped_because", r.stoppedBecause},
      {"final_task_loss", r.finalTaskLoss},
      {"final_budget_noise_free", r.finalBudget},
      {"readoff_noise_free_ranks", r.readOff.noiseFree},
      {"readoff_threshold", r.readOff.threshold},
      {"readoff_filled_ranks", r.readOff.filled},
      {"frames", r.frames},
      {"workers", r.workers},
      {"training_seconds", r.trainingSeconds},
      {"logging_seconds", r.loggingSeconds},
      {"alignment_spectrum", m_spec.arsAlignNorm == "energy"
                                 ? "each op's singular values divided by their 2-norm"
                                 : "each op's singular values divided by its largest"},
      {"gumbel", "g ~ Gumbel(0, 1) per position, straight-through round(sigmoid((o + g + b) / tau))"}};
  return r.readOff.ranks;
}

std::vector<int64_t> Job::rankDynaRanks() {
  double factors = 0.0;
  for (const auto& d : m_decs) factors += static_cast<double>(d.a.numel() + d.b.numel()) * 4.0;
  prepareTraining("RankDyna", 3.0 * factors, ", gradients and Adam's moments of the full-rank factors");
  auto ro = rankDynaOptionsOf(m_spec);
  ro.finetune.padId = m_padId;
  const auto trainSamples = samplesOf(m_trainFile, std::numeric_limits<int32_t>::max());
  recordTrainingWindows(trainSamples.size());
  const auto r = rankdyna::runRankDyna(
      *m_loaded.model, m_decs, trainSamples, ro, &m_progress, &m_cancel,
      [&](const api::SeriesPoint& p) {
        m_out.data.series.push_back(p);
        if (m_observer) m_observer->seriesPoint(p);
      },
      [&](const rankdyna::RankDynaLog& log) { recordLog(log.points, log.frame); });
  if (m_db) m_db->appendSeries(m_runId, r.finetune.series);
  m_rankDynaKept = r.kept;
  m_details["rankdyna"] = {
      {"steps", ro.finetune.steps},
      {"stopped_because", "schedule"},  // RankDyna has no early stop: its budget schedule ends at T
      {"reallocations", r.reallocations},
      {"revived_groups", r.revived},
      {"final_loss", r.finetune.finalLoss},
      {"reading", "RankLab's reading of RankDyna (docs/METHODS.md; the paper's full text was not at hand)"}};
  return r.ranks;
}

std::vector<api::OpResult> Job::opResults() const {
  std::vector<api::OpResult> results;
  for (size_t i = 0; i < m_infos.size(); ++i) {
    const auto& info = m_infos[i];
    const auto& d = m_decs[i];
    api::OpResult r = api::fullRankResult(info, static_cast<int64_t>(i));
    r.rank = m_ranks[i];
    r.factorized = m_ranks[i] < r.fullRank && select::isFactorized(info, m_ranks[i]);
    r.energyKept = d.energyKept(m_ranks[i]);
    if (!m_rankDynaKept.empty()) {
      // The groups RankDyna kept need not be the top ones: their share of the starting spectrum.
      const at::Tensor s = d.s.detach().to(at::kCPU, at::kDouble);
      double kept = 0.0;
      for (int64_t j : m_rankDynaKept[i]) kept += std::pow(s[j].item<double>(), 2);
      r.energyKept = d.totalEnergy > 0.0 ? kept / d.totalEnergy : 1.0;
    }
    r.spectrum = toFloatVector(d.s);
    r.plainSpectrum = toFloatVector(d.plainS);
    results.push_back(std::move(r));
  }
  return results;
}

void Job::apply() {
  auto& model = *m_loaded.model;
  if (m_selector != Selector::RankDyna) {
    std::vector<lowrank::OpDecomposition> cached;  // factors set aside in the cache while decomposing
    for (size_t i = 0; i < m_infos.size(); ++i) {
      if (!m_applied.empty() && m_applied[i]) continue;
      const lowrank::OpDecomposition* d = &m_decs.at(i);
      if (!d->a.defined()) {
        if (cached.empty()) cached = lowrank::loadCachedDecompositions(m_cacheDir, m_cacheKey, model);
        if (cached.empty())
          throw Error(m_cacheDir.string() + ": the decomposition cache file " + m_cacheKey +
                      ".safetensors went missing while the job ran");
        d = &cached[i];
      }
      lowrank::applyRank(model, i, *d, m_ranks[i]);
    }
  }
  m_ledger = select::ledger(m_infos, m_ranks);
  m_rec.keptFraction = m_ledger.keptFraction;
  m_rec.compressibleAfter = m_ledger.compressibleAfter;
  m_rec.totalAfter = model.totalParams();
  auto results = opResults();
  m_decs.clear();  // the factors now live in the model
  if (m_db) m_db->putOps(m_runId, results);
  if (m_observer) m_observer->opsChosen(results);
  m_out.data.ops = std::move(results);
}

void Job::finetune() {
  if (m_spec.finetuneSteps <= 0 || m_selector == Selector::RankDyna) return;
  // The compressed model before fine-tuning, on the same data: what the ranks alone achieve.
  const auto compressed = evaluate("compressed", m_ledger.keptFraction);
  m_out.data.evals.insert(m_out.data.evals.end(), compressed.begin(), compressed.end());
  const auto trainSamples = samplesOf(m_trainFile, std::numeric_limits<int32_t>::max());
  recordTrainingWindows(trainSamples.size());
  double params = 0.0;
  for (const auto& p : m_loaded.model->parameters()) params += static_cast<double>(p.numel());
  prepareTraining("fine-tuning", 16.0 * params, ", float32 weights, gradients and Adam's moments");
  train::FinetuneOptions fo;
  fo.steps = m_spec.finetuneSteps;
  fo.learningRate = m_spec.learningRate;
  fo.batchSize = m_spec.batchSize;
  fo.seed = m_spec.seed;
  fo.padId = m_padId;
  fo.workers = m_spec.workers;
  auto result = train::finetune(*m_loaded.model, trainSamples, fo, &m_progress, &m_cancel,
                                [&](const api::SeriesPoint& p) {
                                  if (m_observer) m_observer->seriesPoint(p);
                                });
  if (m_db) m_db->appendSeries(m_runId, result.series);
  m_out.data.series.insert(m_out.data.series.end(), result.series.begin(), result.series.end());
}

void Job::evaluateAfter() {
  auto after = evaluate("after", m_ledger.keptFraction);
  m_rec.metricAfter = headline(after);
  m_out.data.evals.insert(m_out.data.evals.end(), after.begin(), after.end());
  if (m_db) m_db->addEvals(m_runId, m_out.data.evals);
  m_cancel.check();  // the last cancellation point: nothing below is interrupted half-way
}

// The export is written to a folder beside DIR and put in DIR's place in one step when complete
// (replaceDirectory), so DIR always holds one whole export: the previous one or this one, never the
// new config.json beside the old weights, whatever kills the job half-way.
void Job::exportModel() {
  if (m_spec.exportDir.empty()) return;
  m_progress.progress("export", 0, 1);
  const fs::path dir = fs::path(m_spec.exportDir).lexically_normal();
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error(parent.string() + ": cannot create the export's folder: " + ec.message());
  removeAbandonedTemporaries(parent);  // exports that a killed job left half-written
  requireReplaceableExport(m_spec.exportDir);
  const fs::path staged = temporaryPathFor(dir);
  try {
    writeExport(staged);
    replaceDirectory(staged, dir);
  } catch (...) {
    fs::remove_all(staged, ec);
    throw;
  }
  m_out.exportedTo = absolutePath(m_spec.exportDir);
  m_details["exported_to"] = m_out.exportedTo;
  m_progress.progress("export", 1, 1);
}

void Job::writeExport(const fs::path& dir) const {
  if (m_spec.exportFormat == "dense") {
    models::saveHfDirectory(m_loaded, dir);
  } else {
    json extra{{"decomposition", m_rec.decomposition},
               {"selector", m_rec.selector},
               {"keep_target", m_spec.keep},
               {"kept_fraction", m_ledger.keptFraction},
               {"compressible_params_before", m_ledger.compressibleBefore},
               {"compressible_params_after", m_ledger.compressibleAfter},
               {"source_model", m_rec.modelPath},
               {"source_sha256", m_rec.modelHash},
               {"run_uuid", m_rec.uuid},
               {"op_ranks", m_ranks}};
    models::saveFactorizedDirectory(m_loaded, dir, extra);
  }
}

api::JobOutcome Job::succeed() {
  if (!m_details.empty()) {
    json config = json::parse(m_rec.configJson);
    config["_details"] = m_details;
    m_rec.configJson = jsonText(config);
  }
  m_rec.status = "succeeded";
  m_rec.finishedAt = utcNow();
  m_rec.seconds = elapsed();
  if (m_db) m_db->updateRun(m_rec);
  m_out.status = "succeeded";
  return m_out;
}

api::JobOutcome Job::cancelled() {
  m_out.status = "cancelled";
  if (m_db && m_runId) {
    try {
      m_db->discardRun(m_runId);
    } catch (const std::exception& e) {
      m_out.warnings.push_back(std::string("the cancelled run could not be removed from the store: ") +
                               e.what());
    }
  }
  m_rec.id = 0;
  return m_out;
}

api::JobOutcome Job::fail(const std::string& message) {
  m_out.status = "failed";
  m_out.error = message;
  bool vanished = false;
  if (m_db && m_runId) {
    try {
      vanished = !m_db->findRun(m_runId);
    } catch (const std::exception&) {  // the database itself failed: the message says so already
    }
  }
  if (vanished) {
    // Someone deleted the running run (runs delete --force, or Delete in another window).
    m_out.error = "run " + std::to_string(m_runId) + " was deleted from " + m_db->file().string() +
                  " while this job was running (runs delete --force, or Delete in the GUI); the job stopped "
                  "and stored nothing more";
    return m_out;
  }
  if (m_db && m_runId) {
    m_rec.status = "failed";
    m_rec.error = message;
    m_rec.finishedAt = utcNow();
    m_rec.seconds = elapsed();
    try {
      m_db->updateRun(m_rec);
    } catch (const std::exception& e) {
      m_out.error += std::string(" (and the run database could not record the failure: ") + e.what() + ")";
    }
  }
  return m_out;
}

}  // namespace ranklab::jobs
