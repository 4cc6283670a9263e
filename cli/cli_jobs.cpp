#include "cli/cli_jobs.h"

#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_util.h"
#include "common/error.h"
#include "common/progress.h"
#include "common/resources.h"
#include "jobs/job_runner.h"
#include "jobs/job_spec.h"
#include "jobs/sweep.h"
#include "store/run_store.h"

using nlohmann::json;

namespace ranklab::cli::detail {

namespace {

constexpr int kJobFailed = 2;
constexpr int kInterrupted = 130;

json numberOrNull(double v) { return std::isfinite(v) ? json(v) : json(); }

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

json evalJson(const std::vector<api::EvalPoint>& evals, const std::string& stage) {
  json j = json::object();
  for (const auto& e : evals)
    if (e.stage == stage) {
      j[e.metric] = numberOrNull(e.value);
      j[e.metric == "perplexity" ? "tokens" : "examples"] = e.count;
    }
  return j;
}

json runJson(const api::RunRecord& r) {
  return {{"id", r.id},
          {"uuid", r.uuid},
          {"status", r.status},
          {"name", r.name},
          {"created_at", r.createdAt},
          {"finished_at", r.finishedAt},
          {"seconds", r.seconds},
          {"model", r.modelPath},
          {"model_sha256", r.modelHash},
          {"architecture", r.architecture},
          {"decomposition", r.decomposition},
          {"selector", r.selector},
          {"keep_target", r.keepTarget},
          {"kept_fraction", r.keptFraction},
          {"compressible_params_before", r.compressibleBefore},
          {"compressible_params_after", r.compressibleAfter},
          {"total_params_before", r.totalBefore},
          {"total_params_after", r.totalAfter},
          {"calib", r.calibPath},
          {"calib_sha256", r.calibHash},
          {"eval", r.evalPath},
          {"eval_sha256", r.evalHash},
          {"seed", r.seed},
          {"device", r.device},
          {"metric", r.metric},
          {"metric_before", numberOrNull(r.metricBefore)},
          {"metric_after", numberOrNull(r.metricAfter)},
          {"error", r.error},
          {"sweep_id", r.sweepId},
          {"tags", r.tags},
          {"notes", r.notes},
          {"config", r.configJson.empty() ? json() : json::parse(r.configJson, nullptr, false)},
          {"versions", r.versionsJson.empty() ? json() : json::parse(r.versionsJson, nullptr, false)}};
}

json opsJson(const std::vector<api::OpResult>& ops, bool spectra) {
  json a = json::array();
  for (const auto& o : ops) {
    json j{{"name", o.name}, {"in", o.inFeatures}, {"out", o.outFeatures}, {"rank", o.rank}, {"full_rank", o.fullRank},
           {"factorized", o.factorised}, {"energy_kept", o.energyKept}};
    if (spectra) {
      j["spectrum"] = o.spectrum;
      j["plain_spectrum"] = o.plainSpectrum;
    }
    a.push_back(j);
  }
  return a;
}

void printOps(const std::vector<api::OpResult>& ops) {
  std::cout << std::left << std::setw(22) << "op" << std::right << std::setw(6) << "M" << std::setw(6) << "N"
            << std::setw(7) << "rank" << std::setw(6) << "full" << std::setw(10) << "stored" << std::setw(10) << "energy"
            << "\n";
  for (const auto& o : ops)
    std::cout << std::left << std::setw(22) << o.name << std::right << std::setw(6) << o.inFeatures << std::setw(6)
              << o.outFeatures << std::setw(7) << o.rank << std::setw(6) << o.fullRank << std::setw(10)
              << (o.factorised ? "low-rank" : (o.rank < o.fullRank ? "dense*" : "dense")) << std::setw(9)
              << std::fixed << std::setprecision(1) << 100.0 * o.energyKept << "%\n";
  std::cout << "(dense* = kept dense at rank k because k (M + N) >= M N)\n";
}

std::string metricText(const std::string& metric, double v) {
  if (!std::isfinite(v)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(metric == "accuracy" ? 4 : 3) << v;
  return s.str();
}

}  // namespace

struct JobCommands {
  CLI::App* compress = nullptr;
  CLI::App* runSpec = nullptr;
  CLI::App* demo = nullptr;
  CLI::App* runs = nullptr;
  CLI::App* sweep = nullptr;
  CLI::App* mergeTop = nullptr;
  CLI::App *list = nullptr, *show = nullptr, *del = nullptr, *merge = nullptr, *tag = nullptr, *note = nullptr;
  api::JobSpec spec;
  std::string ranks, specFile, db, other, text, filterStatus, filterSweep, filterTag;
  double svdLlmRatio = -1.0;
  bool noStore = false, noCache = false, asJson = false, quiet = false, spectra = false, yes = false;
  int64_t id = 0;
  std::vector<std::string> tags;
  bool skipFinished = false;
  // sweep and merge
  std::string gridFile, emitSlurmDir;
  jobs::SlurmOptions slurm;
  bool dryRun = false;
  std::vector<std::string> shards;
  // demo
  std::string demoModel, demoText, demoDevice = "auto";
  double demoKeep = 0.5;
  int64_t demoDocs = 6;
  int demoThreads = 0;
};

std::shared_ptr<JobCommands> addJobCommands(CLI::App& app) {
  auto c = std::make_shared<JobCommands>();
  auto& s = c->spec;
  auto* cmp = app.add_subcommand("compress", "Compress a model: calibrate, decompose, select ranks, apply, evaluate, store");
  c->compress = cmp;
  cmp->add_option("MODEL", s.model, "Hugging Face directory, .gguf file, llama2.c .bin or a RankLab export")->required();
  cmp->add_option("--decomp", s.decomposition, "svd | fwsvd | iwsvd | asvd | whiten")->capture_default_str();
  cmp->add_option("--select", s.selector, "uniform | energy | manual | sensitivity | ars | rankdyna")->capture_default_str();
  cmp->add_option("--keep", s.keep, "Budget p: kept fraction of the compressible linear parameters")->capture_default_str();
  cmp->add_option("--svdllm-ratio", c->svdLlmRatio, "Budget in SVD-LLM's convention (fraction removed): p = 1 - r");
  cmp->add_option("--rank-ratio", s.rankRatio, "uniform: k = floor(r min(M, N)) per op instead of the budget");
  cmp->add_option("--energy", s.energy, "energy: keep this fraction of each op's energy (default: search the one meeting --keep)");
  cmp->add_option("--ranks", c->ranks, "manual: JSON file (op or glob -> rank; or a ranklab.json) or name=rank,glob=rank");
  cmp->add_option("--sensitivity-ratios", s.sensitivityRatios, "sensitivity: the ratio grid (default 0.1 .. 0.9)");
  cmp->add_flag("--randomized-svd", s.randomizedSvd, "Randomized top-k SVD (uniform and manual ranks only)");
  cmp->add_option("--ars-steps", s.arsSteps, "ars: the most hypernetwork training steps")->capture_default_str();
  cmp->add_option("--lambda", s.arsLambda, "ars: budget hinge weight")->capture_default_str();
  cmp->add_option("--gamma", s.arsGamma, "ars: alignment regulariser weight")->capture_default_str();
  cmp->add_option("--tau", s.arsTau, "ars: Gumbel-sigmoid temperature")->capture_default_str();
  cmp->add_option("--align-norm", s.arsAlignNorm, "ars: scale of each op's spectrum in the alignment term: energy (2-norm) or max (largest value, as ALGORITHMS.md)")
      ->check(CLI::IsMember({"max", "energy"}))
      ->capture_default_str();
  cmp->add_option("--ars-bias", s.arsBias, "ars: logit bias b (3: start near full rank)")->capture_default_str();
  cmp->add_option("--ars-lr", s.arsLearningRate, "ars: Adam learning rate of the hypernetwork")->capture_default_str();
  cmp->add_flag("!--no-early-stop", s.arsEarlyStop, "ars: run every --ars-steps even when the budget is met and the loss has plateaued");
  cmp->add_option("--log-every", s.logEvery, "ars: record the losses and the mask every K steps")->capture_default_str();
  cmp->add_option("--warmup-steps", s.warmupSteps, "rankdyna: steps at full rank first (default 10% of --finetune-steps)");
  cmp->add_option("--final-steps", s.finalSteps, "rankdyna: last steps at the final budget, masks frozen (default 20%)");
  cmp->add_option("--realloc-every", s.reallocEvery, "rankdyna: reallocate ranks every N steps")->capture_default_str();
  cmp->add_option("--beta1", s.beta1, "rankdyna: smoothing of the importance scores")->capture_default_str();
  cmp->add_option("--beta2", s.beta2, "rankdyna: smoothing of their uncertainty")->capture_default_str();
  cmp->add_option("--orth-reg", s.orthReg, "rankdyna: orthogonality regulariser weight")->capture_default_str();
  cmp->add_option("--calib", s.calib, "Calibration data: text (causal LMs) or a labelled set (classifiers)");
  cmp->add_option("--calib-samples", s.calibSamples, "Calibration windows or examples")->capture_default_str();
  cmp->add_option("--calib-len", s.calibLength, "Tokens per calibration window (default min(context, 512))");
  cmp->add_option("--train", s.train, "Fine-tuning data (default: the calibration file)");
  cmp->add_option("--eval", s.evalText, "Text file for perplexity before and after");
  cmp->add_option("--labelled", s.evalLabelled, "Labelled file for accuracy before and after");
  cmp->add_option("--doc-sep", s.separator, "Document separator in text files")->capture_default_str();
  cmp->add_option("--ctx", s.evalContext, "Perplexity window length (default: the model context)");
  cmp->add_flag("--truncate", s.truncate, "Cut each evaluated document to the context instead of windowing it");
  cmp->add_option("--max-docs", s.maxEvalDocuments, "Evaluate at most this many documents");
  cmp->add_option("--finetune-steps", s.finetuneSteps, "Fine-tune the compressed model for N steps")->capture_default_str();
  cmp->add_option("--lr", s.learningRate, "Fine-tuning peak learning rate")->capture_default_str();
  cmp->add_option("--batch", s.batchSize, "Fine-tuning and ARS batch size")->capture_default_str();
  cmp->add_option("--seed", s.seed, "Seed for calibration sampling and fine-tuning")->capture_default_str();
  cmp->add_option("--db", s.db, "Run database (default: $RANKLAB_DB or ~/.local/share/ranklab/runs.db)");
  cmp->add_flag("--no-store", c->noStore, "Do not record the run");
  cmp->add_option("--export", s.exportDir, "Write the compressed model to this directory");
  cmp->add_option("--format", s.exportFormat, "factorized (RankLab, reloadable) | dense (plain Hugging Face)")->capture_default_str();
  cmp->add_option("--cache-dir", s.cacheDir, "Decomposition cache (default ~/.cache/ranklab/decompositions)");
  cmp->add_flag("--no-cache", c->noCache, "Neither read nor write the decomposition cache");
  cmp->add_option("--name", s.name, "Run name");
  cmp->add_option("--tag", s.tags, "Tag the run (repeatable)");
  cmp->add_option("--tokenizer", s.tokenizer, "Tokenizer file or directory (overrides the model's own)");
  cmp->add_option("--device", s.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmp->add_option("--threads", s.threads, "CPU threads for LibTorch");
  cmp->add_flag("--json", c->asJson, "Print one JSON object on stdout");

  auto* demo = app.add_subcommand(
      "demo", "The demo job: compress the shipped gpt-mini with plain SVD and uniform ranks, evaluate before and after");
  c->demo = demo;
  demo->add_option("--model", c->demoModel, "Model (default: the shipped gpt-mini)");
  demo->add_option("--text", c->demoText, "Evaluation text (default: the shipped held-out test split, resources/data/lm/test.txt)");
  demo->add_option("--keep", c->demoKeep, "Budget p: kept fraction of the compressible parameters")->capture_default_str();
  demo->add_option("--max-docs", c->demoDocs, "Evaluate the first N documents (0: all)")->capture_default_str();
  demo->add_option("--db", c->db, "Run database (default: $RANKLAB_DB or ~/.local/share/ranklab/runs.db)");
  demo->add_flag("--no-store", c->noStore, "Do not record the run");
  demo->add_option("--device", c->demoDevice, "auto | cpu | cuda | cuda:N")->capture_default_str();
  demo->add_option("--threads", c->demoThreads, "CPU threads for LibTorch");
  demo->add_flag("--json", c->asJson, "Print one JSON object on stdout");

  auto* rs = app.add_subcommand("run", "Run a job described by a JSON spec (the keys of a run's config)");
  c->runSpec = rs;
  rs->add_option("SPEC", c->specFile, "Job spec JSON file")->required()->check(CLI::ExistingFile);
  rs->add_option("--db", c->db, "Run database (overrides the spec's)");
  rs->add_flag("--skip-finished", c->skipFinished,
               "Do nothing when the database already holds a succeeded run of this spec (same hash and sweep id); "
               "delete a run of it left running or failed first (Slurm array tasks, resubmitted)");
  rs->add_flag("--json", c->asJson, "Print one JSON object on stdout");

  auto* sw = app.add_subcommand("sweep", "Run a grid of jobs (a job spec with lists in place of values), resumably, into one database");
  c->sweep = sw;
  sw->add_option("GRID", c->gridFile, "Sweep grid JSON: job spec keys, any of them a list")->required()->check(CLI::ExistingFile);
  sw->add_option("--db", c->db, "Run database (overrides the grid's; default: $RANKLAB_DB or ~/.local/share/ranklab/runs.db)");
  sw->add_flag("--dry-run", c->dryRun, "List the points and which are finished; run nothing");
  sw->add_option("--emit-slurm", c->emitSlurmDir, "Write one task spec per point and an sbatch array script into DIR instead of running");
  sw->add_option("--partition", c->slurm.partition, "Slurm partition (with --emit-slurm)");
  sw->add_option("--gpus-per-task", c->slurm.gpusPerTask, "GPUs per array task (with --emit-slurm)");
  sw->add_option("--cpus-per-task", c->slurm.cpusPerTask, "CPUs per array task (with --emit-slurm)");
  sw->add_option("--time", c->slurm.time, "Time limit per array task, e.g. 02:00:00 (with --emit-slurm)");
  sw->add_flag("--json", c->asJson, "One JSON object per point on stdout as it finishes, then the sweep's report");

  auto* mg = app.add_subcommand("merge", "Fold run databases (e.g. a Slurm sweep's shards) into one (idempotent)");
  c->mergeTop = mg;
  mg->add_option("SHARDS", c->shards, "Databases to merge from")->required()->check(CLI::ExistingFile);
  mg->add_option("--db", c->db, "Database to merge into (created when missing)")->required();
  mg->add_flag("--json", c->asJson, "Print one JSON object on stdout");

  auto* runs = app.add_subcommand("runs", "List, show, delete, tag, annotate and merge stored runs");
  c->runs = runs;
  runs->require_subcommand(1);
  runs->add_option("--db", c->db, "Run database (default: $RANKLAB_DB or ~/.local/share/ranklab/runs.db)");
  runs->add_flag("--json", c->asJson, "Print one JSON object on stdout");
  c->list = runs->add_subcommand("list", "Stored runs, newest first");
  c->list->add_option("--filter", c->text, "Substring of name, model, method, tags or notes");
  c->list->add_option("--status", c->filterStatus, "running | succeeded | failed");
  c->list->add_option("--sweep", c->filterSweep, "Sweep id");
  c->list->add_option("--tag", c->filterTag, "Tag");
  c->show = runs->add_subcommand("show", "One run: capsule, metrics, per-op ranks");
  c->show->add_option("ID", c->id, "Run id")->required();
  c->show->add_flag("--spectra", c->spectra, "Include the singular spectra (JSON)");
  c->del = runs->add_subcommand("delete", "Delete a run and everything recorded with it");
  c->del->add_option("ID", c->id, "Run id")->required();
  c->merge = runs->add_subcommand("merge", "Fold the runs of another database into this one (idempotent)");
  c->merge->add_option("OTHER", c->other, "Database to merge from")->required()->check(CLI::ExistingFile);
  c->tag = runs->add_subcommand("tag", "Set a run's tags");
  c->tag->add_option("ID", c->id, "Run id")->required();
  c->tag->add_option("TAGS", c->tags, "Tags (none: clear)");
  c->note = runs->add_subcommand("note", "Set a run's notes");
  c->note->add_option("ID", c->id, "Run id")->required();
  c->note->add_option("TEXT", c->text, "Notes")->required();
  for (auto* sub : {c->list, c->show, c->del, c->merge, c->tag, c->note}) {
    sub->add_option("--db", c->db, "Run database");
    sub->add_flag("--json", c->asJson, "Print one JSON object on stdout");
  }
  return c;
}

namespace {

int runJob(JobCommands& c, api::JobSpec spec) {
  CancelToken cancel;
  StderrProgress progress(!c.asJson);
  jobs::JobRunner runner;
  const auto outcome = [&] {
    CancelOnInterrupt interrupts(cancel);
    return runner.run(spec, progress, cancel);
  }();
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
  if (c.asJson) {
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
            << "method    " << r.decomposition << " + " << r.selector << (outcome.decompositionFromCache ? " (decomposition from cache)" : "")
            << "\n"
            << std::fixed << std::setprecision(4) << "budget    target p = " << r.keepTarget << ", achieved p = " << r.keptFraction
            << " (compressible " << withThousands(r.compressibleBefore) << " -> " << withThousands(r.compressibleAfter)
            << "; whole model " << withThousands(r.totalBefore) << " -> " << withThousands(r.totalAfter) << ")\n";
  for (const char* stage : {"before", "compressed", "after"})
    for (const auto& e : outcome.data.evals)
      if (e.stage == stage)
        std::cout << std::left << std::setw(11) << stage << e.metric << " " << metricText(e.metric, e.value) << " ("
                  << withThousands(e.count) << (e.metric == "perplexity" ? " tokens" : " examples") << ")\n";
  if (!outcome.exportedTo.empty()) std::cout << "exported  " << outcome.exportedTo << " (" << spec.exportFormat << ")\n";
  if (r.id > 0) std::cout << "run       " << r.id << " stored in " << outcome.databasePath << "\n";
  std::cout << std::setprecision(1) << "finished in " << r.seconds << " s\n";
  return 0;
}

std::string dbPath(const JobCommands& c) { return c.db.empty() ? store::RunStore::defaultPath().string() : c.db; }

int runRuns(JobCommands& c) {
  store::RunStore db(dbPath(c));
  if (c.list->parsed()) {
    store::RunFilter f;
    f.text = c.text;
    f.status = c.filterStatus;
    f.sweepId = c.filterSweep;
    f.tag = c.filterTag;
    const auto runs = db.listRuns(f);
    if (c.asJson) {
      json a = json::array();
      for (const auto& r : runs) a.push_back(runJson(r));
      printJson(json{{"db", db.file().string()}, {"runs", a}});
      return 0;
    }
    std::cout << std::left << std::setw(6) << "id" << std::setw(11) << "status" << std::setw(21) << "created"
              << std::setw(8) << "decomp" << std::setw(12) << "selector" << std::right << std::setw(8) << "p" << std::setw(12)
              << "before" << std::setw(12) << "after" << "  model\n";
    for (const auto& r : runs)
      std::cout << std::left << std::setw(6) << r.id << std::setw(11) << r.status << std::setw(21) << r.createdAt
                << std::setw(8) << r.decomposition << std::setw(12) << r.selector << std::right << std::fixed
                << std::setprecision(4) << std::setw(8) << r.keptFraction << std::setw(12)
                << metricText(r.metric, r.metricBefore) << std::setw(12) << metricText(r.metric, r.metricAfter) << "  "
                << r.modelPath << "\n";
    if (runs.empty()) std::cout << "(no runs in " << db.file().string() << ")\n";
    return 0;
  }
  if (c.show->parsed()) {
    const auto data = db.loadRun(c.id);
    if (c.asJson) {
      json ev = json::array();
      for (const auto& e : data.evals)
        ev.push_back({{"stage", e.stage}, {"dataset", e.dataset}, {"metric", e.metric}, {"kept_fraction", e.keptFraction},
                      {"value", numberOrNull(e.value)}, {"count", e.count}});
      json series = json::array();
      for (const auto& p : data.series) series.push_back({{"step", p.step}, {"name", p.name}, {"value", p.value}});
      printJson(json{{"run", runJson(data.run)}, {"ops", opsJson(data.ops, c.spectra)}, {"evals", ev},
                             {"series", series}, {"mask_frames", data.frames.size()}});
      return 0;
    }
    const auto& r = data.run;
    std::cout << "run       " << r.id << " (" << r.uuid << "), " << r.status << "\n"
              << "name      " << r.name << "\n"
              << "created   " << r.createdAt << ", finished " << r.finishedAt << " (" << std::fixed << std::setprecision(1)
              << r.seconds << " s)\n"
              << "model     " << r.modelPath << " (" << r.architecture << ", sha256 " << r.modelHash.substr(0, 16) << "...)\n"
              << "method    " << r.decomposition << " + " << r.selector << std::setprecision(4) << ", target p " << r.keepTarget
              << ", achieved p " << r.keptFraction << "\n"
              << "calib     " << (r.calibPath.empty() ? "-" : r.calibPath) << "\n"
              << "eval      " << (r.evalPath.empty() ? "-" : r.evalPath) << "\n"
              << "device    " << r.device << ", seed " << r.seed << "\n";
    for (const auto& e : data.evals)
      std::cout << std::left << std::setw(10) << e.stage << e.metric << " " << metricText(e.metric, e.value) << "\n";
    if (!r.error.empty()) std::cout << "error     " << r.error << "\n";
    if (!r.tags.empty()) {
      std::cout << "tags     ";
      for (const auto& t : r.tags) std::cout << " " << t;
      std::cout << "\n";
    }
    if (!r.notes.empty()) std::cout << "notes     " << r.notes << "\n";
    std::cout << "\n";
    if (!data.ops.empty()) printOps(data.ops);
    return 0;
  }
  if (c.del->parsed()) {
    db.deleteRun(c.id);
    if (c.asJson) printJson(json{{"deleted", c.id}});
    else std::cout << "deleted run " << c.id << " from " << db.file().string() << "\n";
    return 0;
  }
  if (c.merge->parsed()) {
    const auto report = db.merge(c.other);
    if (c.asJson)
      printJson(json{{"runs_added", report.runsAdded}, {"runs_skipped", report.runsSkipped},
                             {"sensitivity_added", report.sensitivityAdded}, {"db", db.file().string()}});
    else
      std::cout << "merged " << c.other << " into " << db.file().string() << ": " << report.runsAdded << " runs added, "
                << report.runsSkipped << " already present, " << report.sensitivityAdded << " sensitivity tables added\n";
    return 0;
  }
  if (c.tag->parsed()) {
    if (!db.findRun(c.id)) throw Error(db.file().string() + ": no run with id " + std::to_string(c.id));
    db.setTags(c.id, c.tags);
    if (c.asJson) printJson(json{{"id", c.id}, {"tags", c.tags}});
    return 0;
  }
  if (c.note->parsed()) {
    if (!db.findRun(c.id)) throw Error(db.file().string() + ": no run with id " + std::to_string(c.id));
    db.setNotes(c.id, c.text);
    if (c.asJson) printJson(json{{"id", c.id}, {"notes", c.text}});
    return 0;
  }
  return -1;
}

json pointJson(const jobs::SweepPointResult& r, size_t total) {
  return {{"point", r.index},        {"points", total},          {"status", r.status},
          {"run_id", r.runId},       {"name", r.name},           {"seconds", r.seconds},
          {"kept_fraction", r.keptFraction}, {"metric", r.metric}, {"metric_after", numberOrNull(r.metricAfter)},
          {"decomposition_from_cache", r.decompositionFromCache}, {"before_shared", r.beforeFromEarlierJob},
          {"error", r.error}};
}

int runSweepCommand(JobCommands& c) {
  const auto grid = jobs::loadSweep(c.gridFile);
  if (!c.emitSlurmDir.empty()) {
    jobs::SlurmOptions o = c.slurm;
    std::error_code ec;
    o.cli = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) throw Error("cannot find this ranklab-cli's own path (/proc/self/exe): " + ec.message());
    const size_t n = jobs::emitSlurm(grid, c.emitSlurmDir, o);
    const auto dir = std::filesystem::absolute(c.emitSlurmDir).lexically_normal().string();
    if (c.asJson) {
      printJson(json{{"sweep_id", grid.id}, {"tasks", n}, {"dir", dir}, {"script", dir + "/sweep.sbatch"}});
    } else {
      std::cout << "sweep " << grid.id << ": " << n << " tasks written to " << dir << "\n"
                << "submit:  sbatch " << dir << "/sweep.sbatch\n"
                << "merge:   " << o.cli << " merge " << dir << "/shard-*.db --db RUNS.db\n";
    }
    return 0;
  }
  const std::string path = jobs::sweepDatabase(grid, c.db);
  if (c.dryRun) {
    store::RunStore db(path);
    const auto plan = jobs::planSweep(grid, db);
    std::vector<bool> finished(grid.points.size(), false);
    for (size_t i : plan.finished) finished[i] = true;
    if (c.asJson) {
      json points = json::array();
      for (size_t i = 0; i < grid.points.size(); ++i) {
        json p = jobs::toJson(grid.points[i]);
        p["_finished"] = static_cast<bool>(finished[i]);
        points.push_back(p);
      }
      printJson(json{{"sweep_id", grid.id}, {"db", path}, {"axes", grid.axes}, {"points", points},
                             {"finished", plan.finished.size()}, {"stale_runs", plan.staleRuns.size()}});
      return 0;
    }
    std::cout << "sweep " << grid.id << " in " << path << ": " << grid.points.size() << " points, " << plan.finished.size()
              << " finished\n";
    for (size_t i = 0; i < grid.points.size(); ++i) {
      const auto& p = grid.points[i];
      std::cout << std::setw(4) << i << "  " << (finished[i] ? "finished" : "pending ") << "  " << p.decomposition << "+"
                << p.selector << " p=" << p.keep << " seed=" << p.seed << "  " << p.model << "\n";
    }
    return 0;
  }
  CancelToken cancel;
  StderrProgress progress(!c.asJson);
  jobs::SweepOptions options;
  options.db = path;
  options.onPoint = [&](const jobs::SweepPointResult& r, const jobs::SweepReport& report) {
    if (c.asJson) {
      printJson(pointJson(r, report.points));
      return;
    }
    std::cout << "[" << r.index + 1 << "/" << report.points << "] " << std::left << std::setw(26) << r.name << std::setw(10)
              << r.status << std::right << std::fixed << std::setprecision(4) << " p=" << r.keptFraction << "  " << r.metric << " "
              << metricText(r.metric, r.metricAfter) << std::setprecision(1) << "  " << r.seconds << " s"
              << (r.status == "succeeded" && !r.decompositionFromCache ? "  (decomposed)" : "")
              << (r.error.empty() ? "" : "  " + r.error) << std::endl;
  };
  const auto report = [&] {
    CancelOnInterrupt interrupts(cancel);
    return jobs::runSweep(grid, options, progress, cancel);
  }();
  if (c.asJson) {
    printJson(json{{"sweep_id", report.id}, {"db", report.db}, {"points", report.points}, {"skipped", report.skipped},
                           {"succeeded", report.succeeded}, {"failed", report.failed}, {"cancelled", report.cancelled},
                           {"stale_runs_removed", report.staleRunsRemoved},
                           {"decompositions_computed", report.decompositionsComputed},
                           {"evaluations_shared", report.evaluationsShared}, {"seconds", report.seconds}});
  } else {
    std::cout << "sweep " << report.id << ": " << report.succeeded << " succeeded, " << report.failed << " failed, "
              << report.skipped << " finished earlier" << (report.staleRunsRemoved ? ", " + std::to_string(report.staleRunsRemoved) + " half-done runs re-run" : "")
              << "; " << report.decompositionsComputed << " decomposition(s) computed, " << report.evaluationsShared
              << " dense evaluation(s) reused; " << std::fixed << std::setprecision(1)
              << report.seconds << " s\nruns in " << report.db << " (ranklab-cli runs list --sweep " << report.id << ")\n";
  }
  if (report.cancelled) {
    std::cerr << "ranklab-cli: sweep cancelled; run it again to resume\n";
    return kInterrupted;
  }
  return report.failed > 0 ? kJobFailed : 0;
}

}  // namespace

int runJobCommands(JobCommands& c) {
  if (c.compress->parsed()) {
    auto spec = c.spec;
    if (c.svdLlmRatio >= 0.0) {
      if (c.compress->count("--keep") > 0) throw Error("give either --keep or --svdllm-ratio, not both");
      if (c.svdLlmRatio > 1.0) throw Error("--svdllm-ratio must lie in [0, 1]");
      spec.keep = 1.0 - c.svdLlmRatio;
    }
    if (!c.ranks.empty()) spec.manualRanks = parseRanks(c.ranks);
    if (spec.selector == "manual" && spec.manualRanks.empty()) throw Error("--select manual needs --ranks");
    spec.store = !c.noStore;
    spec.useCache = !c.noCache;
    return runJob(c, spec);
  }
  if (c.runSpec->parsed()) {
    std::ifstream in(c.specFile);
    json j;
    try {
      in >> j;
    } catch (const json::exception& e) {
      throw Error(c.specFile + ": not valid JSON (" + e.what() + ")");
    }
    if (j.is_object()) j.erase("_details");
    auto spec = jobs::jobSpecFromJson(j, c.specFile);
    if (!c.db.empty()) spec.db = c.db;
    if (!c.skipFinished) return runJob(c, spec);
    // One point of a sweep: skip it when finished, else clear its stale runs and run it under the lock.
    jobs::SweepGrid one;
    one.id = spec.sweepId;
    one.points = {spec};
    const std::string path = jobs::sweepDatabase(one);
    store::RunStore db(path);
    jobs::SweepLock lock(path, spec.sweepId);
    if (!jobs::resumeSweep(one, db).finished.empty()) {
      if (c.asJson)
        printJson(json{{"skipped", true}, {"db", path}, {"spec_hash", jobs::specHash(spec)}});
      else
        std::cout << c.specFile << ": already finished in " << path << "; nothing to do\n";
      return 0;
    }
    return runJob(c, spec);
  }
  if (c.demo->parsed()) {
    api::JobSpec spec;
    spec.model = c.demoModel.empty() ? shippedModel("gpt-mini").string() : c.demoModel;
    spec.evalText = c.demoText.empty() ? (resourcesDir() / "data" / "lm" / "test.txt").string() : c.demoText;
    spec.decomposition = "svd";
    spec.selector = "uniform";
    spec.keep = c.demoKeep;
    spec.maxEvalDocuments = c.demoDocs;
    spec.device = c.demoDevice;
    spec.threads = c.demoThreads;
    spec.db = c.db;
    spec.store = !c.noStore;
    spec.name = "demo";
    spec.tags = {"demo"};
    if (!c.asJson)
      std::cout << "RankLab demo job: " << spec.model << "\nplain SVD, uniform ranks, keeping p = " << spec.keep
                << " of the compressible parameters; perplexity on "
                << (spec.maxEvalDocuments > 0 ? "the first " + std::to_string(spec.maxEvalDocuments) + " documents of "
                                              : std::string("all of "))
                << spec.evalText << "\n\n";
    return runJob(c, spec);
  }
  if (c.runs->parsed()) return runRuns(c);
  if (c.sweep->parsed()) return runSweepCommand(c);
  if (c.mergeTop->parsed()) {
    store::RunStore db(c.db);
    json shards = json::array();
    int64_t added = 0, skipped = 0;
    for (const auto& shard : c.shards) {
      const auto r = db.merge(shard);
      added += r.runsAdded;
      skipped += r.runsSkipped;
      shards.push_back({{"shard", shard}, {"runs_added", r.runsAdded}, {"runs_skipped", r.runsSkipped},
                        {"sensitivity_added", r.sensitivityAdded}});
      if (!c.asJson)
        std::cout << shard << ": " << r.runsAdded << " runs added, " << r.runsSkipped << " already present\n";
    }
    if (c.asJson)
      printJson(json{{"db", db.file().string()}, {"runs_added", added}, {"runs_skipped", skipped}, {"shards", shards}});
    else
      std::cout << "merged " << c.shards.size() << " database(s) into " << db.file().string() << ": " << added
                << " runs added, " << skipped << " already present\n";
    return 0;
  }
  return -1;
}

}  // namespace ranklab::cli::detail
