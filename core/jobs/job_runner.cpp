#include "jobs/job_runner.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <limits>

#include "ars/ars.h"
#include "common/compat.h"
#include "common/device.h"
#include "common/error.h"
#include "common/hash.h"
#include "data/corpus.h"
#include "eval/classification.h"
#include "eval/perplexity.h"
#include "jobs/job_spec.h"
#include "lowrank/calibration.h"
#include "lowrank/decompose.h"
#include "lowrank/sensitivity.h"
#include "rankdyna/rankdyna.h"
#include "models/loader.h"
#include "select/ledger.h"
#include "select/selectors.h"
#include "store/run_store.h"
#include "train/finetune.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace ranklab::jobs {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string utcNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string absolutePath(const std::string& p) {
  if (p.empty()) return p;
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

void requireFile(const std::string& file, const char* what) {
  if (!file.empty() && !fs::exists(file)) throw Error(file + ": no such file (" + what + ")");
}

ars::ArsOptions arsOptions(const api::JobSpec& s) {
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
  return o;
}

rankdyna::RankDynaOptions rankDynaOptions(const api::JobSpec& s) {
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

void validate(const api::JobSpec& s) {
  if (s.model.empty()) throw Error("no model given");
  lowrank::parseMethod(s.decomposition);
  if (s.selector != "uniform" && s.selector != "energy" && s.selector != "manual" && s.selector != "sensitivity" &&
      s.selector != "ars" && s.selector != "rankdyna")
    throw Error("unknown rank selector '" + s.selector +
                "' (expected uniform, energy, manual, sensitivity, ars or rankdyna)");
  if (s.selector == "rankdyna") {
    if (s.decomposition != "svd")
      throw Error("RankDyna re-parametrises every op by its plain SVD: use it with --decomp svd");
    if (s.finetuneSteps <= 0) throw Error("RankDyna compresses while fine-tuning: give it --finetune-steps N");
  }
  if (!(s.keep >= 0.0 && s.keep <= 1.0)) throw Error("--keep must lie in [0, 1] (the kept fraction p), got " + std::to_string(s.keep));
  if (s.rankRatio > 1.0) throw Error("the uniform rank ratio must lie in [0, 1]");
  if (s.energy > 1.0) throw Error("the energy threshold must lie in [0, 1]");
  if (s.selector == "manual" && s.manualRanks.empty()) throw Error("the manual selector needs ranks (--ranks)");
  if (s.exportFormat != "factorized" && s.exportFormat != "dense")
    throw Error("unknown export format '" + s.exportFormat + "' (expected factorized or dense)");
  if (s.finetuneSteps < 0) throw Error("--finetune-steps must not be negative");
  if (s.calibSamples <= 0) throw Error("the calibration sample count must be positive");
  for (double r : s.sensitivityRatios)
    if (!(r > 0.0 && r < 1.0)) throw Error("sensitivity ratios must lie in (0, 1)");
  if (s.selector == "ars") ars::validate(arsOptions(s));
  requireFile(s.calib, "calibration data");
  requireFile(s.train, "training data");
  requireFile(s.evalText, "evaluation text");
  requireFile(s.evalLabelled, "labelled evaluation set");
  if (s.randomizedSvd && s.selector != "uniform" && s.selector != "manual")
    throw Error("the randomized SVD needs the ranks before decomposing: use it with the uniform or manual selector");
}

// Everything that identifies a sample set: the file's bytes and how samples were cut from it.
std::string dataHash(const std::string& file, const std::string& how) {
  return file.empty() ? std::string() : sha256Hex(sha256OfPath(file) + "|" + how);
}

std::vector<float> toFloats(const at::Tensor& t) {
  if (!t.defined()) return {};
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

select::Spectrum spectrumOf(const lowrank::OpDecomposition& d) {
  select::Spectrum s;
  for (float v : toFloats(d.s)) s.values.push_back(v);
  s.totalEnergy = d.totalEnergy;
  return s;
}

class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : m_old(at::get_num_threads()) {
    if (n > 0) at::set_num_threads(n);
  }
  ~ScopedThreads() { at::set_num_threads(m_old); }

 private:
  int m_old;
};

}  // namespace

api::JobOutcome JobRunner::run(const api::JobSpec& spec, ProgressSink& progress, CancelToken& cancel,
                               JobObserver* observer) {
  api::JobOutcome out;
  auto& rec = out.data.run;
  std::unique_ptr<store::RunStore> db;
  int64_t runId = 0;
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  json details = json::object();
  try {
    validate(spec);
    ScopedThreads threads(spec.threads);
    const auto method = lowrank::parseMethod(spec.decomposition);

    // --- load and identify ---
    progress.progress("load", 0, 1);
    models::LoadOptions lo;
    lo.device = spec.device;
    lo.tokenizerPath = spec.tokenizer;
    auto loaded = models::loadModel(spec.model, lo);
    if (!loaded.model->isCausal() && !loaded.model->hasClassifier()) {
      // A general pretrained encoder: a seeded classification head for the labelled task, as fine-tuning
      // from a masked-LM checkpoint starts (train::withClassifier).
      const std::string labelled = !spec.evalLabelled.empty() ? spec.evalLabelled : !spec.train.empty() ? spec.train : spec.calib;
      if (labelled.empty())
        throw Error(spec.model + ": an encoder without a classification head needs a labelled set (--labelled, --train or --calib)");
      const auto names = data::labelNames({}, labelled);
      loaded.model = train::withClassifier(*loaded.model, names, spec.seed);
      details["classifier_attached"] = {{"labels", names}, {"seed", spec.seed}};
    }
    auto& model = *loaded.model;
    progress.progress("load", 1, 1);
    cancel.check();
    const bool causal = model.isCausal();
    if (!loaded.tokenizer) throw Error(spec.model + ": no tokenizer found next to the model; pass --tokenizer PATH");
    const auto& tokenizer = *loaded.tokenizer;
    const int64_t padId = std::max<int64_t>(0, tokenizer.padId());
    const auto infos = model.ops().infos();

    const int64_t calibLength =
        spec.calibLength > 0 ? std::min(spec.calibLength, model.config().maxPositions)
                             : std::min<int64_t>(512, model.config().maxPositions);
    const std::string sampling = std::to_string(spec.calibSamples) + "|" + std::to_string(calibLength) + "|" +
                                 std::to_string(spec.seed) + "|" + spec.separator;
    rec.name = spec.name.empty() ? spec.decomposition + "+" + spec.selector + " p=" + std::to_string(spec.keep).substr(0, 4)
                                 : spec.name;
    rec.modelPath = absolutePath(spec.model);
    progress.progress("hash", 0, 1);
    rec.modelHash = sha256OfPath(spec.model);
    rec.architecture = io::architectureName(model.config().arch);
    rec.decomposition = lowrank::methodName(method);
    rec.selector = spec.selector;
    rec.keepTarget = spec.keep;
    rec.calibPath = absolutePath(spec.calib);
    rec.calibHash = dataHash(spec.calib, sampling);
    const std::string evalFile = !spec.evalText.empty() ? spec.evalText : spec.evalLabelled;
    rec.evalPath = absolutePath(evalFile);
    rec.evalHash = evalFile.empty() ? "" : sha256OfPath(evalFile);
    rec.seed = static_cast<int64_t>(spec.seed);
    rec.configJson = toJson(spec).dump();
    rec.versionsJson = json{{"ranklab", RANKLAB_VERSION}, {"torch", compat::torchVersion()},
                            {"sqlite", store::sqliteVersion()}}
                           .dump();
    rec.device = deviceName(model.device());
    rec.sweepId = spec.sweepId;
    rec.specHash = specHash(spec);
    rec.tags = spec.tags;
    rec.compressibleBefore = model.ops().compressibleParams();
    rec.totalBefore = model.totalParams();
    rec.metric = causal && !spec.evalText.empty() ? "perplexity" : (!spec.evalLabelled.empty() ? "accuracy" : "");
    rec.metricBefore = rec.metricAfter = kNaN;
    progress.progress("hash", 1, 1);
    cancel.check();

    if (spec.store) {
      out.databasePath = spec.db.empty() ? store::RunStore::defaultPath().string() : spec.db;
      db = std::make_unique<store::RunStore>(out.databasePath);
      rec.status = "running";
      runId = db->beginRun(rec);
      if (auto stored = db->findRun(runId)) {
        rec.uuid = stored->uuid;
        rec.createdAt = stored->createdAt;
      }
      rec.id = runId;
    } else {
      rec.createdAt = utcNow();
    }
    if (observer) observer->runStarted(rec);

    // --- evaluate before ---
    auto evaluate = [&](const std::string& stage, double kept) {
      std::vector<api::EvalPoint> points;
      if (!spec.evalText.empty()) {
        if (!causal) throw Error(spec.evalText + ": perplexity needs a causal language model; this one is an encoder");
        eval::PerplexityOptions po;
        po.documentSeparator = spec.separator;
        po.truncate = spec.truncate;
        po.context = spec.evalContext;
        po.maxDocuments = spec.maxEvalDocuments;
        const auto r = eval::perplexityOfFile(model, tokenizer, spec.evalText, po, &progress, &cancel);
        points.push_back({stage, absolutePath(spec.evalText), "perplexity", kept, r.perplexity, r.tokens});
      }
      if (!spec.evalLabelled.empty()) {
        const auto r = eval::accuracyOfFile(model, tokenizer, spec.evalLabelled, {}, &progress, &cancel);
        points.push_back({stage, absolutePath(spec.evalLabelled), "accuracy", kept, r.accuracy, r.examples});
      }
      return points;
    };
    auto headline = [&](const std::vector<api::EvalPoint>& points) {
      for (const auto& p : points)
        if (p.metric == rec.metric) return p.value;
      return kNaN;
    };
    // The dense model's evaluation depends on the model, the data and how it is scored (and, for an
    // encoder given a seeded head, the seed): an earlier job of this runner with the same key did it.
    const std::string beforeKey = json{{"model", rec.modelHash}, {"tokenizer", spec.tokenizer.empty() ? "" : sha256OfPath(spec.tokenizer)},
                                       {"eval", rec.evalHash}, {"text", !spec.evalText.empty()},
                                       {"labelled", spec.evalLabelled.empty() ? "" : sha256OfPath(spec.evalLabelled)},
                                       {"separator", spec.separator}, {"truncate", spec.truncate}, {"context", spec.evalContext},
                                       {"max_documents", spec.maxEvalDocuments}, {"device", rec.device},
                                       {"head_seed", details.contains("classifier_attached") ? json(spec.seed) : json()}}
                                      .dump();
    std::vector<api::EvalPoint> before;
    if (const auto it = m_before.find(beforeKey); it != m_before.end() && !evalFile.empty()) {
      before = it->second;
      out.beforeFromEarlierJob = true;
    } else {
      before = evaluate("before", 1.0);
      if (!evalFile.empty()) m_before[beforeKey] = before;
    }
    rec.metricBefore = headline(before);
    out.data.evals = before;

    // --- calibration data ---
    const bool needCalib = method != lowrank::Method::Svd || spec.selector == "sensitivity" || spec.selector == "ars";
    const std::string trainFile = !spec.train.empty() ? spec.train : spec.calib;
    if (needCalib && spec.calib.empty())
      throw Error(spec.decomposition +
                  (spec.selector == "sensitivity" ? " with the sensitivity selector"
                                                  : spec.selector == "ars" ? " with the ARS selector" : "") +
                  " needs calibration data: pass --calib FILE (" + (causal ? "text" : "a labelled set") + ")");
    if (spec.finetuneSteps > 0 && trainFile.empty())
      throw Error("fine-tuning needs training data: pass --train FILE (or --calib FILE)");
    auto samplesOf = [&](const std::string& file, int64_t count) {
      try {
        if (causal)
          return lowrank::textSamples(tokenizer, data::readTextFile(file), spec.separator, count, calibLength, spec.seed);
        return lowrank::labelledSamples(tokenizer, data::readLabelled(file, model.config().id2label), count,
                                        model.config().maxPositions, model.config().vocabSize, spec.seed);
      } catch (const Error& e) {
        const std::string m = e.what();
        throw Error(m.rfind(file, 0) == 0 ? m : file + ": " + m);
      }
    };
    std::vector<lowrank::CalibrationSample> calibSamples;
    if (needCalib) calibSamples = samplesOf(spec.calib, spec.calibSamples);

    // --- ranks known up front (randomized SVD) ---
    std::vector<int64_t> ranks;
    std::vector<std::vector<int64_t>> rankDynaKept;
    auto upFrontRanks = [&]() -> std::vector<int64_t> {
      if (spec.selector == "uniform")
        return spec.rankRatio >= 0.0 ? select::uniformRanksAtRatio(infos, spec.rankRatio)
                                     : select::uniformRanksAtBudget(infos, spec.keep);
      if (spec.selector == "manual") return select::manualRanks(infos, spec.manualRanks);
      return {};
    };
    ranks = upFrontRanks();
    lowrank::DecomposeOptions dopt;
    dopt.seed = spec.seed;
    if (spec.randomizedSvd && !ranks.empty()) dopt.maxRank = std::max<int64_t>(1, *std::max_element(ranks.begin(), ranks.end()));

    // --- calibrate and decompose (cached) ---
    const fs::path cacheDir = spec.cacheDir.empty() ? lowrank::defaultCacheDir() : fs::path(spec.cacheDir);
    const std::string cacheKey = lowrank::decompositionCacheKey(rec.modelHash, method, rec.calibHash, dopt);
    std::vector<lowrank::OpDecomposition> decs;
    if (spec.useCache) decs = lowrank::loadCachedDecompositions(cacheDir, cacheKey, model);
    out.decompositionFromCache = !decs.empty();
    if (decs.empty()) {
      lowrank::Calibration calibration;
      const auto needs = lowrank::needsOf(method);
      if (needs.any()) calibration = lowrank::calibrate(model, calibSamples, needs, &progress, &cancel);
      decs = lowrank::decomposeModel(model, method, needs.any() ? &calibration : nullptr, dopt, &progress, &cancel);
      if (spec.useCache) {
        try {
          lowrank::storeCachedDecompositions(cacheDir, cacheKey, model, decs);
        } catch (const Error& e) {
          out.warnings.push_back(std::string("decomposition cache not written: ") + e.what());
        }
      }
    }
    json retries = json::array();
    for (size_t i = 0; i < decs.size(); ++i)
      if (decs[i].whitenRetries > 0)
        retries.push_back({{"op", infos[i].name}, {"retries", decs[i].whitenRetries}, {"delta", decs[i].whitenDelta}});
    if (!retries.empty()) {
      details["whiten_retries"] = retries;
      out.warnings.push_back("whitening: X^T X was not positive definite for " + std::to_string(retries.size()) +
                             " op(s); a diagonal shift was added (see the run's details)");
    }
    cancel.check();

    // --- select ---
    // A logged ARS step or RankDyna reallocation: into the store as it happens, the outcome and the
    // live views.
    auto recordLog = [&](const std::vector<api::SeriesPoint>& points, const api::MaskFrame& frame) {
      if (db) {
        db->appendSeries(runId, points);
        db->appendFrames(runId, {frame});
      }
      out.data.series.insert(out.data.series.end(), points.begin(), points.end());
      out.data.frames.push_back(frame);
      if (observer) {
        for (const auto& p : points) observer->seriesPoint(p);
        observer->maskFrame(frame);
      }
    };
    if (spec.selector == "energy") {
      std::vector<select::Spectrum> spectra;
      for (const auto& d : decs) spectra.push_back(spectrumOf(d));
      if (spec.energy >= 0.0) {
        ranks = select::energyRanks(infos, spectra, spec.energy);
        details["energy_threshold"] = spec.energy;
      } else {
        double threshold = 0.0;
        ranks = select::energyRanksAtBudget(infos, spectra, spec.keep, &threshold);
        details["energy_threshold"] = threshold;
      }
    } else if (spec.selector == "sensitivity") {
      const auto ratios = spec.sensitivityRatios.empty() ? lowrank::defaultSensitivityRatios() : spec.sensitivityRatios;
      const std::string key = sha256Hex("strs-v1|" + rec.modelHash + "|" + rec.calibHash + "|" + cacheKey + "|" +
                                        json(ratios).dump());
      select::SensitivityTable table;
      table.ratios = ratios;
      std::optional<std::vector<api::SensitivityEntry>> cached;
      if (db) cached = db->sensitivity(key);
      if (cached && cached->size() == infos.size() * ratios.size()) {
        table.perplexity.assign(infos.size(), std::vector<double>(ratios.size(), kNaN));
        for (const auto& e : *cached)
          for (size_t r = 0; r < ratios.size(); ++r)
            if (std::abs(ratios[r] - e.ratio) < 1e-12 && e.opIndex >= 0 && e.opIndex < static_cast<int64_t>(infos.size()))
              table.perplexity[static_cast<size_t>(e.opIndex)][r] = e.perplexity;
        out.sensitivityFromCache = true;
      } else {
        table = lowrank::measureSensitivity(model, decs, calibSamples, ratios, padId, &progress, &cancel);
        if (db) {
          std::vector<api::SensitivityEntry> entries;
          for (size_t i = 0; i < infos.size(); ++i)
            for (size_t r = 0; r < ratios.size(); ++r)
              entries.push_back({static_cast<int64_t>(i), ratios[r], table.perplexity[i][r]});
          db->putSensitivity(key, entries);
        }
      }
      double threshold = 0.0;
      ranks = select::sensitivityRanks(infos, table, spec.keep, &threshold);
      details["sensitivity_key"] = key;
      details["sensitivity_threshold"] = threshold;
    } else if (spec.selector == "rankdyna") {
      auto ro = rankDynaOptions(spec);
      ro.finetune.padId = padId;
      const auto trainSamples = samplesOf(trainFile, std::numeric_limits<int32_t>::max());
      const auto r = rankdyna::runRankDyna(
          model, decs, trainSamples, ro, &progress, &cancel,
          [&](const api::SeriesPoint& p) {
            out.data.series.push_back(p);
            if (observer) observer->seriesPoint(p);
          },
          [&](const rankdyna::RankDynaLog& log) { recordLog(log.points, log.frame); });
      if (db) db->appendSeries(runId, r.finetune.series);
      ranks = r.ranks;
      rankDynaKept = r.kept;
      details["rankdyna"] = {{"reallocations", r.reallocations},
                             {"revived_groups", r.revived},
                             {"final_loss", r.finetune.finalLoss},
                             {"reading", "RankLab's reading of RankDyna (ALGORITHMS.md section 3; the paper's full text was not at hand)"}};
    } else if (spec.selector == "ars") {
      auto ao = arsOptions(spec);
      ao.padId = padId;
      const auto r = ars::trainArs(model, decs, calibSamples, ao, &progress, &cancel,
                                   [&](const ars::ArsLog& log) { recordLog(log.points, log.frame); });
      ranks = r.readOff.ranks;
      details["ars"] = {{"steps", r.steps},
                        {"stopped_because", r.stoppedBecause},
                        {"final_task_loss", r.finalTaskLoss},
                        {"final_budget_noise_free", r.finalBudget},
                        {"readoff_noise_free_ranks", r.readOff.noiseFree},
                        {"readoff_threshold", r.readOff.threshold},
                        {"readoff_filled_ranks", r.readOff.filled},
                        {"frames", r.frames},
                        {"training_seconds", r.trainingSeconds},
                        {"logging_seconds", r.loggingSeconds},
                        {"alignment_spectrum", spec.arsAlignNorm == "energy" ? "each op's singular values divided by their 2-norm"
                                                                             : "each op's singular values divided by its largest"},
                        {"gumbel", "g ~ Gumbel(0, 1) per position, straight-through round(sigmoid((o + g + b) / tau))"}};
    }
    cancel.check();

    // --- apply (RankDyna has applied its ranks while training) ---
    if (spec.selector != "rankdyna") lowrank::applyRanks(model, decs, ranks);
    const auto ledger = select::ledger(infos, ranks);
    rec.keptFraction = ledger.keptFraction;
    rec.compressibleAfter = ledger.compressibleAfter;
    rec.totalAfter = model.totalParams();
    std::vector<api::OpResult> opResults;
    for (size_t i = 0; i < infos.size(); ++i) {
      api::OpResult r;
      r.index = static_cast<int64_t>(i);
      r.name = infos[i].name;
      r.layer = infos[i].layer;
      r.kind = infos[i].kind;
      r.inFeatures = infos[i].inFeatures;
      r.outFeatures = infos[i].outFeatures;
      r.rank = ranks[i];
      r.fullRank = select::fullRank(infos[i]);
      r.factorised = ranks[i] < r.fullRank && select::isFactorised(infos[i], ranks[i]);
      r.energyKept = decs[i].energyKept(ranks[i]);
      if (!rankDynaKept.empty()) {
        // The groups RankDyna kept need not be the top ones: their share of the starting spectrum.
        const at::Tensor s = decs[i].s.detach().to(at::kCPU, at::kDouble);
        double kept = 0.0;
        for (int64_t j : rankDynaKept[i]) kept += std::pow(s[j].item<double>(), 2);
        r.energyKept = decs[i].totalEnergy > 0.0 ? kept / decs[i].totalEnergy : 1.0;
      }
      r.spectrum = toFloats(decs[i].s);
      r.plainSpectrum = toFloats(decs[i].plainS);
      opResults.push_back(std::move(r));
    }
    decs.clear();  // the factors now live in the model
    if (db) db->putOps(runId, opResults);
    if (observer) observer->opsChosen(opResults);
    out.data.ops = opResults;

    // --- fine-tune (RankDyna's fine-tuning was its compression) ---
    if (spec.finetuneSteps > 0 && spec.selector != "rankdyna") {
      // The compressed model before fine-tuning, on the same data: what the ranks alone achieve.
      const auto compressed = evaluate("compressed", ledger.keptFraction);
      out.data.evals.insert(out.data.evals.end(), compressed.begin(), compressed.end());
      const auto trainSamples = samplesOf(trainFile, std::numeric_limits<int32_t>::max());
      train::FinetuneOptions fo;
      fo.steps = spec.finetuneSteps;
      fo.learningRate = spec.learningRate;
      fo.batchSize = spec.batchSize;
      fo.seed = spec.seed;
      fo.padId = padId;
      auto result = train::finetune(model, trainSamples, fo, &progress, &cancel, [&](const api::SeriesPoint& p) {
        if (observer) observer->seriesPoint(p);
      });
      if (db) db->appendSeries(runId, result.series);
      out.data.series.insert(out.data.series.end(), result.series.begin(), result.series.end());
    }

    // --- evaluate after ---
    auto after = evaluate("after", ledger.keptFraction);
    rec.metricAfter = headline(after);
    out.data.evals.insert(out.data.evals.end(), after.begin(), after.end());
    if (db) db->addEvals(runId, out.data.evals);
    cancel.check();  // the last cancellation point: nothing below is interrupted half-way

    // --- export ---
    if (!spec.exportDir.empty()) {
      progress.progress("export", 0, 1);
      if (spec.exportFormat == "dense") {
        models::saveHfDirectory(loaded, spec.exportDir);
      } else {
        json extra{{"decomposition", rec.decomposition},
                   {"selector", rec.selector},
                   {"keep_target", spec.keep},
                   {"kept_fraction", ledger.keptFraction},
                   {"compressible_params_before", ledger.compressibleBefore},
                   {"compressible_params_after", ledger.compressibleAfter},
                   {"source_model", rec.modelPath},
                   {"source_sha256", rec.modelHash},
                   {"run_uuid", rec.uuid},
                   {"op_ranks", ranks}};
        models::saveFactorizedDirectory(loaded, spec.exportDir, extra);
      }
      out.exportedTo = absolutePath(spec.exportDir);
      details["exported_to"] = out.exportedTo;
      progress.progress("export", 1, 1);
    }

    // --- store ---
    if (!details.empty()) {
      json config = json::parse(rec.configJson);
      config["_details"] = details;
      rec.configJson = config.dump();
    }
    rec.status = "succeeded";
    rec.finishedAt = utcNow();
    rec.seconds = elapsed();
    if (db) db->updateRun(rec);
    out.status = "succeeded";
    return out;
  } catch (const Cancelled&) {
    out.status = "cancelled";
    if (db && runId) {
      try {
        db->discardRun(runId);
      } catch (const std::exception& e) {
        out.warnings.push_back(std::string("the cancelled run could not be removed from the store: ") + e.what());
      }
    }
    rec.id = 0;
    return out;
  } catch (const c10::Error& e) {
    out.error = e.what_without_backtrace();
  } catch (const json::exception& e) {
    out.error = e.what();
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  out.status = "failed";
  if (db && runId) {
    rec.status = "failed";
    rec.error = out.error;
    rec.finishedAt = utcNow();
    rec.seconds = elapsed();
    try {
      db->updateRun(rec);
    } catch (const std::exception& e) {
      out.error += std::string(" (and the run database could not record the failure: ") + e.what() + ")";
    }
  }
  return out;
}

}  // namespace ranklab::jobs
