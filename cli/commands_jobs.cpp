// ranklab-cli compress / demo / run: one compression job through JobRunner, its report on stdout.
#include "cli/commands_jobs.h"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command_table.h"
#include "cli/reports.h"
#include "cli/terminal.h"
#include "cli/validators.h"
#include "common/error.h"
#include "common/progress.h"
#include "common/resources.h"
#include "jobs/job_runner.h"
#include "jobs/job_spec.h"
#include "jobs/plan.h"
#include "jobs/sweep.h"
#include "store/run_store.h"

namespace ranklab::cli {

using nlohmann::json;

namespace {

// "--ranks": a JSON file ({"op or glob": rank} or an exported ranklab.json with its rank_pattern),
// or inline "name=rank,glob=rank".
std::map<std::string, double> parseRanks(const std::string& arg) {
  std::map<std::string, double> out;
  std::ifstream in(arg);
  if (in) {
    json j;
    try {
      in >> j;
    } catch (const json::exception& e) {
      throw Error(arg + ": not valid JSON (" + e.what() + ")");
    }
    if (j.is_object() && j.contains("rank_pattern")) {
      // A previous export: every op at its stored rank (ops absent from rank_pattern stay full).
      j = j["rank_pattern"];
    }
    if (!j.is_object()) throw Error(arg + ": expected an object mapping op names (or globs) to ranks");
    for (const auto& item : j.items()) {
      if (!item.value().is_number()) throw Error(arg + ": rank of '" + item.key() + "' is not a number");
      out[item.key()] = item.value().get<double>();
    }
    return out;
  }
  std::stringstream ss(arg);
  std::string part;
  while (std::getline(ss, part, ',')) {
    const auto eq = part.find('=');
    if (eq == std::string::npos) throw Error("--ranks: '" + part + "' is neither a file nor name=rank");
    try {
      out[part.substr(0, eq)] = std::stod(part.substr(eq + 1));
    } catch (const std::exception&) {
      throw Error("--ranks: '" + part.substr(eq + 1) + "' is not a number");
    }
  }
  return out;
}

// Runs one job with Ctrl-C cancelling it and prints its report: the stored run's fields as JSON, or
// the per-op table and the before/after figures.
int printPlan(const jobs::JobPlan& plan, bool asJson) {
  if (!asJson) {
    std::cout << jobs::formatPlan(plan);
    return 0;
  }
  json stages = json::array();
  for (const auto& s : plan.stages)
    stages.push_back({{"stage", s.stage},
                      {"host_bytes", s.hostBytes},
                      {"device_bytes", s.deviceBytes},
                      {"detail", s.detail}});
  printJson({{"model", plan.model},
             {"architecture", plan.architecture},
             {"device", plan.device},
             {"parameters", plan.parameters},
             {"compressible_parameters", plan.compressibleParameters},
             {"weight_bytes", plan.weightBytes},
             {"stored_dtype", plan.storedDtype},
             {"stages", stages},
             {"peak_host_bytes", plan.peakHostBytes},
             {"peak_device_bytes", plan.peakDeviceBytes},
             {"available_host_bytes", plan.availableHostBytes}});
  return 0;
}

// A training phase's latest logged loss and budget, shown after its progress counts.
class TrainingFigures : public jobs::JobObserver {
 public:
  explicit TrainingFigures(StderrProgress& progress) : m_progress(progress) {}
  void seriesPoint(const api::SeriesPoint& p) override {
    if (p.name == "task_loss" || p.name == "finetune_loss")
      m_loss = p.value;
    else if (p.name == "budget")
      m_budget = p.value;
    else
      return;
    std::ostringstream text;
    text << std::fixed << std::setprecision(3);
    if (!std::isnan(m_loss)) text << "loss " << m_loss;
    if (!std::isnan(m_budget)) text << (std::isnan(m_loss) ? "" : "  ") << "budget " << m_budget;
    m_progress.setDetail(text.str());
  }

 private:
  StderrProgress& m_progress;
  double m_loss = std::nan(""), m_budget = std::nan("");
};

int runJob(const api::JobSpec& spec, bool asJson) {
  CancelToken cancel;
  StderrProgress progress(!asJson);
  if (spec.selector == "ars" && spec.arsTimeBudget > 0.0) progress.setTimeBudget("ars", spec.arsTimeBudget);
  TrainingFigures figures(progress);
  jobs::JobRunner runner;
  const auto outcome = [&] {
    CancelOnInterrupt interrupts(cancel);
    return runner.run(spec, progress, cancel, &figures);
  }();
  progress.finish();
  for (const auto& w : outcome.warnings) std::cerr << "ranklab-cli: warning: " << w << "\n";
  if (outcome.status == "cancelled") {
    std::cerr << "ranklab-cli: cancelled; nothing was stored\n";
    return kInterrupted;
  }
  if (outcome.status == "failed") {
    std::cerr << "ranklab-cli: " << outcome.error << "\n";
    return kJobFailed;
  }
  const auto& r = outcome.data.run;
  if (asJson) {
    // The stored run's fields, plus what only the job knows.
    json j = runJson(r);
    j.erase("config");
    j["run_id"] = r.id;
    j["db"] = outcome.databasePath;
    j["before"] = evalJson(outcome.data.evals, "before");
    j["after"] = evalJson(outcome.data.evals, "after");
    if (spec.finetuneSteps > 0) j["compressed"] = evalJson(outcome.data.evals, "compressed");
    j["decomposition_from_cache"] = outcome.decompositionFromCache;
    j["sensitivity_from_cache"] = outcome.sensitivityFromCache;
    j["exported_to"] = outcome.exportedTo;
    j["warnings"] = outcome.warnings;
    j["phases"] = progress.phasesJson();
    j["peak_rss_mib"] = peakRssMiB();
    j["ops"] = opsJson(outcome.data.ops, false);
    if (!r.configJson.empty()) {
      auto config = json::parse(r.configJson, nullptr, false);
      if (config.is_object() && config.contains("_details")) j["details"] = config["_details"];
    }
    printJson(j);
    return 0;
  }
  printOps(outcome.data.ops);
  std::cout << "\nmodel     " << r.modelPath << " (" << r.architecture << ", " << r.device << ")\n"
            << "method    " << r.decomposition << " + " << r.selector
            << (outcome.decompositionFromCache ? " (decomposition from cache)" : "") << "\n"
            << std::fixed << std::setprecision(4) << "budget    target p = " << r.keepTarget
            << ", achieved p = " << r.keptFraction << " (compressible " << withThousands(r.compressibleBefore)
            << " -> " << withThousands(r.compressibleAfter) << "; whole model "
            << withThousands(r.totalBefore) << " -> " << withThousands(r.totalAfter) << ")\n";
  if (!r.configJson.empty()) {
    // Why ARS or RankDyna stopped where it did, in words (the figures are in --json's details).
    const auto config = json::parse(r.configJson, nullptr, false);
    if (config.is_object() && config.contains("_details") && config["_details"].contains("ars")) {
      const json& a = config["_details"]["ars"];
      const std::string why = a.value("stopped_because", "");
      std::cout << "ars       " << a.value("steps", 0) << " of " << spec.arsSteps << " steps in "
                << std::setprecision(1) << a.value("training_seconds", 0.0) << " s on "
                << a.value("workers", 1) << (a.value("workers", 1) == 1 ? " worker, " : " workers, ")
                << (why == "plateau" ? "stopped early: the budget was met and the loss had levelled off"
                    : why == "time"  ? "stopped at the time budget (--time-budget)"
                                     : "ran to the step limit (--ars-steps)")
                << "\n";
    }
    if (config.is_object() && config.contains("_details") && config["_details"].contains("rankdyna")) {
      const json& d = config["_details"]["rankdyna"];
      std::cout
          << "rankdyna  " << d.value("steps", int64_t(0)) << " steps, "
          << d.value("reallocations", int64_t(0))
          << " reallocations: ran its budget schedule to the end (--finetune-steps; it has no early stop)\n";
    }
  }
  for (const char* stage : {"before", "compressed", "after"})
    for (const auto& e : outcome.data.evals)
      if (e.stage == stage)
        std::cout << std::left << std::setw(11) << stage << e.metric << " " << metricText(e.metric, e.value)
                  << " (" << withThousands(e.count) << " " << api::countedUnit(e.metric) << ")\n";
  if (!outcome.exportedTo.empty())
    std::cout << "exported  " << outcome.exportedTo << " (" << spec.exportFormat << ")\n";
  if (r.id > 0) std::cout << "run       " << r.id << " stored in " << outcome.databasePath << "\n";
  std::cout << std::setprecision(1) << "finished in " << r.seconds << " s\n";
  return 0;
}

}  // namespace

// --- compress ------------------------------------------------------------------------------

CLI::App* addCompress(CLI::App& app, CompressOptions& o) {
  auto& s = o.spec;
  auto* cmp = app.add_subcommand("compress", commandDescription("compress"));
  cmp->add_option("MODEL", s.model, "Hugging Face directory, .gguf file, llama2.c .bin or a RankLab export")
      ->required();
  cmp->add_option("--decomp", s.decomposition, "svd | fwsvd | iwsvd | asvd | whiten")->capture_default_str();
  cmp->add_option("--select", s.selector, "uniform | energy | manual | sensitivity | ars | rankdyna")
      ->capture_default_str();
  auto* keep =
      cmp->add_option("--keep", s.keep, "Budget p: kept fraction of the compressible linear parameters")
          ->capture_default_str();
  cmp->add_option("--svdllm-ratio", o.svdLlmRatio,
                  "Budget in SVD-LLM's convention (fraction removed): p = 1 - r");
  cmp->add_option("--rank-ratio", s.rankRatio,
                  "uniform: k = floor(r min(M, N)) per op instead of the budget");
  cmp->add_option("--energy", s.energy,
                  "energy: keep this fraction of each op's energy (default: search the one meeting --keep)");
  cmp->add_option("--ranks", o.ranks,
                  "manual: JSON file (op or glob -> rank; or a ranklab.json) or name=rank,glob=rank");
  cmp->add_option("--sensitivity-ratios", s.sensitivityRatios,
                  "sensitivity: the ratio grid (default 0.1 .. 0.9)");
  cmp->add_flag("--randomized-svd", s.randomizedSvd, "Randomized top-k SVD (uniform and manual ranks only)");
  cmp->add_option(
         "--propagate", o.propagate,
         "asvd/whiten calibration, layer by layer: the next layer's inputs come from the dense layer "
         "(as a whole-model pass sees them) or from the compressed one (SVD-LLM's sequential mode; "
         "uniform and manual ranks only)")
      ->check(CLI::IsMember({"dense", "compressed"}))
      ->capture_default_str();
  cmp->add_option("--ars-steps", s.arsSteps, "ars: the most hypernetwork training steps")
      ->capture_default_str();
  cmp->add_option("--lambda", s.arsLambda, "ars: budget hinge weight")->capture_default_str();
  cmp->add_option("--gamma", s.arsGamma, "ars: alignment regulariser weight")->capture_default_str();
  cmp->add_option("--tau", s.arsTau, "ars: Gumbel-sigmoid temperature")->capture_default_str();
  cmp->add_option("--align-norm", s.arsAlignNorm,
                  "ars: scale of each op's spectrum in the alignment term: energy (2-norm, docs/METHODS.md) "
                  "or max (largest value)")
      ->check(CLI::IsMember({"max", "energy"}))
      ->capture_default_str();
  cmp->add_option("--ars-bias", s.arsBias, "ars: logit bias b (3: start near full rank)")
      ->capture_default_str();
  cmp->add_option("--ars-lr", s.arsLearningRate, "ars: Adam learning rate of the hypernetwork")
      ->capture_default_str();
  cmp->add_flag("!--no-early-stop", s.arsEarlyStop,
                "ars: run every --ars-steps even when the budget is met and the loss has plateaued");
  cmp->add_option("--time-budget", s.arsTimeBudget,
                  "ars: seconds of training after which ARS stops and reads off the masks learned so far "
                  "(0: no limit)")
      ->check(kNonNegative);
  cmp->add_option("--log-every", s.logEvery, "ars: record the losses and the mask every K steps")
      ->capture_default_str();
  cmp->add_option("--warmup-steps", s.warmupSteps,
                  "rankdyna: steps at full rank first (default 10% of --finetune-steps)");
  cmp->add_option("--final-steps", s.finalSteps,
                  "rankdyna: last steps at the final budget, masks frozen (default 20%)");
  cmp->add_option("--realloc-every", s.reallocEvery, "rankdyna: reallocate ranks every N steps")
      ->capture_default_str();
  cmp->add_option("--beta1", s.beta1, "rankdyna: smoothing of the importance scores")->capture_default_str();
  cmp->add_option("--beta2", s.beta2, "rankdyna: smoothing of their uncertainty")->capture_default_str();
  cmp->add_option("--orth-reg", s.orthReg, "rankdyna: orthogonality regulariser weight")
      ->capture_default_str();
  cmp->add_option("--calib", s.calib, "Calibration data: text (causal LMs) or a labelled set (classifiers)");
  cmp->add_option("--calib-samples", s.calibSamples,
                  "Calibration windows or examples (default: 16,384 tokens' worth of windows; 32 examples)");
  cmp->add_option("--calib-len", s.calibLength,
                  "Tokens per calibration window (default 128 for ars and rankdyna, else 512; at most the "
                  "context)");
  cmp->add_option("--train", s.train, "Fine-tuning data (default: the calibration file)");
  cmp->add_option("--eval", s.evalText, "Text file for perplexity before and after");
  cmp->add_option("--labelled", s.evalLabelled, "Labelled file for accuracy before and after");
  cmp->add_option("--choices", s.evalChoices,
                  "Multiple-choice set (JSONL) for zero-shot acc and acc_norm before and after (see eval)");
  cmp->add_option("--choices-format", s.choicesFormat,
                  "Format of --choices (default: detected from the keys)");
  cmp->add_option("--max-items", s.maxChoiceItems, "Score the first N items of --choices (0: all)")
      ->check(kNonNegative);
  cmp->add_option("--doc-sep", s.separator, "Document separator in text files")->capture_default_str();
  cmp->add_option("--ctx", s.evalContext, "Perplexity window length (default: the model context)");
  cmp->add_flag("--truncate", s.truncate,
                "Cut each evaluated document to the context instead of windowing it");
  cmp->add_option("--max-docs", s.maxEvalDocuments, "Evaluate at most this many documents");
  cmp->add_option("--stride", s.evalStride,
                  "Perplexity over sliding windows that start this many tokens apart, each scoring only "
                  "the tokens the previous one did not (0: windows that do not overlap)")
      ->check(kNonNegative);
  cmp->add_option("--finetune-steps", s.finetuneSteps, "Fine-tune the compressed model for N steps")
      ->capture_default_str();
  cmp->add_option("--lr", s.learningRate, "Fine-tuning peak learning rate")->capture_default_str();
  cmp->add_option("--batch", s.batchSize, "Fine-tuning and ARS batch size")->capture_default_str();
  cmp->add_option("--activation-checkpointing", s.activationCheckpointing,
                  "ARS, RankDyna, fine-tuning: recompute each layer in the backward pass instead of keeping "
                  "its activations (about one more forward of time for a fraction of the memory); auto: "
                  "when keeping them would not fit")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  cmp->add_option("--seed", s.seed, "Seed for calibration sampling and fine-tuning")->capture_default_str();
  cmp->add_option("--db", s.db, "Run database (default: $RANKLAB_DB or ~/.local/share/ranklab/runs.db)");
  cmp->add_flag("--no-store", o.noStore, "Do not record the run");
  cmp->add_option("--export", s.exportDir, "Write the compressed model to this directory");
  cmp->add_option("--format", s.exportFormat, "factorized (RankLab, reloadable) | dense (plain Hugging Face)")
      ->capture_default_str();
  cmp->add_option("--cache-dir", s.cacheDir, "Decomposition cache (default ~/.cache/ranklab/decompositions)");
  cmp->add_flag("--no-cache", o.noCache, "Neither read nor write the decomposition cache");
  cmp->add_flag("--plan", o.plan,
                "Print each stage's estimated peak memory from the model's headers (no weight is read) and "
                "stop");
  cmp->add_option("--name", s.name, "Run name");
  cmp->add_option("--tag", s.tags, "Tag the run (repeatable)");
  cmp->add_option("--tokenizer", s.tokenizer, "Tokenizer file or directory (overrides the model's own)");
  cmp->add_option("--device", s.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmp->add_option("--threads", s.threads, "CPU threads for LibTorch");
  cmp->add_option("--workers", s.workers,
                  "ars, fine-tuning: threads that each run a share of a training step's batch on the CPU (0: "
                  "one per hardware thread; the result depends on the number, not on timing)");
  cmp->add_flag("--json", o.asJson, "Print one JSON object on stdout");
  cmp->callback([&o, keep] { o.keepGiven = keep->count() > 0; });
  return cmp;
}

int runCompress(const CompressOptions& o) {
  auto spec = o.spec;
  if (o.svdLlmRatio >= 0.0) {
    if (o.keepGiven) throw Error("give either --keep or --svdllm-ratio, not both");
    if (o.svdLlmRatio > 1.0) throw Error("--svdllm-ratio must lie in [0, 1]");
    spec.keep = 1.0 - o.svdLlmRatio;
  }
  if (!o.ranks.empty()) spec.manualRanks = parseRanks(o.ranks);
  if (spec.selector == "manual" && spec.manualRanks.empty()) throw Error("--select manual needs --ranks");
  spec.store = !o.noStore;
  spec.useCache = !o.noCache;
  spec.propagateCompressed = o.propagate == "compressed";
  if (o.plan) return printPlan(jobs::planJob(spec), o.asJson);
  return runJob(spec, o.asJson);
}

// --- demo ----------------------------------------------------------------------------------

CLI::App* addDemo(CLI::App& app, DemoOptions& o) {
  auto* demo = app.add_subcommand("demo", commandDescription("demo"));
  demo->add_option("--model", o.model, "Model (default: the shipped gpt-mini)");
  demo->add_option("--text", o.text,
                   "Evaluation text (default: the shipped held-out test split, resources/data/lm/test.txt)");
  demo->add_option("--keep", o.keep, "Budget p: kept fraction of the compressible parameters")
      ->capture_default_str();
  demo->add_option("--max-docs", o.maxDocs, "Evaluate the first N documents (0: all)")->capture_default_str();
  demo->add_option("--db", o.db, "Run database (default: $RANKLAB_DB or ~/.local/share/ranklab/runs.db)");
  demo->add_flag("--no-store", o.noStore, "Do not record the run");
  demo->add_option("--device", o.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  demo->add_option("--threads", o.threads, "CPU threads for LibTorch");
  demo->add_flag("--json", o.asJson, "Print one JSON object on stdout");
  return demo;
}

int runDemo(const DemoOptions& o) {
  api::JobSpec spec;
  spec.model = o.model.empty() ? shippedModel("gpt-mini").string() : o.model;
  spec.evalText = o.text.empty() ? resourcePath("data/lm/test.txt").string() : o.text;
  spec.decomposition = "svd";
  spec.selector = "uniform";
  spec.keep = o.keep;
  spec.maxEvalDocuments = o.maxDocs;
  spec.device = o.device;
  spec.threads = o.threads;
  spec.db = o.db;
  spec.store = !o.noStore;
  spec.name = "demo";
  spec.tags = {"demo"};
  if (!o.asJson)
    std::cout << "RankLab demo job: " << spec.model << "\nplain SVD, uniform ranks, keeping p = " << spec.keep
              << " of the compressible parameters; perplexity on "
              << (spec.maxEvalDocuments > 0
                      ? "the first " + std::to_string(spec.maxEvalDocuments) + " documents of "
                      : std::string("all of "))
              << spec.evalText << "\n\n";
  return runJob(spec, o.asJson);
}

// --- run SPEC.json -------------------------------------------------------------------------

CLI::App* addRunSpec(CLI::App& app, RunSpecOptions& o) {
  auto* rs = app.add_subcommand("run", commandDescription("run"));
  rs->add_option("SPEC", o.specFile, "Job spec JSON file")->required()->check(CLI::ExistingFile);
  rs->add_option("--db", o.db, "Run database (overrides the spec's)");
  rs->add_flag(
      "--skip-finished", o.skipFinished,
      "Do nothing when the database already holds a succeeded run of this spec (same hash and sweep id); "
      "delete a run of it left running or failed first (Slurm array tasks, resubmitted)");
  rs->add_flag("--json", o.asJson, "Print one JSON object on stdout");
  return rs;
}

int runRunSpec(const RunSpecOptions& o) {
  std::ifstream in(o.specFile);
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw Error(o.specFile + ": not valid JSON (" + e.what() + ")");
  }
  if (j.is_object()) j.erase("_details");
  auto spec = jobs::jobSpecFromJson(j, o.specFile);
  if (!o.db.empty()) spec.db = o.db;
  if (!o.skipFinished) return runJob(spec, o.asJson);
  // One point of a sweep: skip it when finished, else clear its stale runs and run it under the lock.
  jobs::SweepGrid one;
  one.id = spec.sweepId;
  one.points = {spec};
  const std::string path = jobs::sweepDatabase(one);
  store::RunStore db(path);
  jobs::SweepLock lock(path, spec.sweepId);
  if (!jobs::resumeSweep(one, db).finished.empty()) {
    if (o.asJson)
      printJson({{"skipped", true}, {"db", path}, {"spec_hash", jobs::specHash(spec)}});
    else
      std::cout << o.specFile << ": already finished in " << path << "; nothing to do\n";
    return 0;
  }
  return runJob(spec, o.asJson);
}

}  // namespace ranklab::cli
