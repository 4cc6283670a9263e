#include "jobs/job_spec.h"

#include <filesystem>
#include <set>

#include "common/error.h"
#include "common/hash.h"

namespace ranklab::jobs {

using nlohmann::json;

json toJson(const api::JobSpec& s) {
  return {{"model", s.model},
          {"tokenizer", s.tokenizer},
          {"device", s.device},
          {"threads", s.threads},
          {"decomposition", s.decomposition},
          {"selector", s.selector},
          {"keep", s.keep},
          {"rank_ratio", s.rankRatio},
          {"energy", s.energy},
          {"manual_ranks", s.manualRanks},
          {"sensitivity_ratios", s.sensitivityRatios},
          {"randomized_svd", s.randomizedSvd},
          {"propagate_compressed", s.propagateCompressed},
          {"ars_steps", s.arsSteps},
          {"ars_lambda", s.arsLambda},
          {"ars_gamma", s.arsGamma},
          {"ars_align_norm", s.arsAlignNorm},
          {"ars_tau", s.arsTau},
          {"ars_bias", s.arsBias},
          {"ars_lr", s.arsLearningRate},
          {"ars_early_stop", s.arsEarlyStop},
          {"log_every", s.logEvery},
          {"warmup_steps", s.warmupSteps},
          {"final_steps", s.finalSteps},
          {"realloc_every", s.reallocEvery},
          {"beta1", s.beta1},
          {"beta2", s.beta2},
          {"orth_reg", s.orthReg},
          {"calib", s.calib},
          {"calib_samples", s.calibSamples},
          {"calib_length", s.calibLength},
          {"eval", s.evalText},
          {"labelled", s.evalLabelled},
          {"separator", s.separator},
          {"truncate", s.truncate},
          {"eval_context", s.evalContext},
          {"eval_stride", s.evalStride},
          {"max_eval_documents", s.maxEvalDocuments},
          {"train", s.train},
          {"finetune_steps", s.finetuneSteps},
          {"learning_rate", s.learningRate},
          {"batch_size", s.batchSize},
          {"seed", s.seed},
          {"db", s.db},
          {"store", s.store},
          {"export", s.exportDir},
          {"format", s.exportFormat},
          {"cache_dir", s.cacheDir},
          {"use_cache", s.useCache},
          {"name", s.name},
          {"tags", s.tags},
          {"sweep_id", s.sweepId}};
}

api::JobSpec jobSpecFromJson(const json& j, const std::string& context) {
  if (!j.is_object()) throw Error(context + ": a job spec must be a JSON object");
  const json defaults = toJson(api::JobSpec{});
  for (const auto& item : j.items())
    if (!defaults.contains(item.key())) throw Error(context + ": unknown job spec key '" + item.key() + "'");
  json merged = defaults;
  for (const auto& item : j.items()) merged[item.key()] = item.value();
  try {
    api::JobSpec s;
    s.model = merged.at("model").get<std::string>();
    s.tokenizer = merged.at("tokenizer").get<std::string>();
    s.device = merged.at("device").get<std::string>();
    s.threads = merged.at("threads").get<int>();
    s.decomposition = merged.at("decomposition").get<std::string>();
    s.selector = merged.at("selector").get<std::string>();
    s.keep = merged.at("keep").get<double>();
    s.rankRatio = merged.at("rank_ratio").get<double>();
    s.energy = merged.at("energy").get<double>();
    s.manualRanks = merged.at("manual_ranks").get<std::map<std::string, double>>();
    s.sensitivityRatios = merged.at("sensitivity_ratios").get<std::vector<double>>();
    s.randomizedSvd = merged.at("randomized_svd").get<bool>();
    s.propagateCompressed = merged.at("propagate_compressed").get<bool>();
    s.arsSteps = merged.at("ars_steps").get<int64_t>();
    s.arsLambda = merged.at("ars_lambda").get<double>();
    s.arsGamma = merged.at("ars_gamma").get<double>();
    s.arsAlignNorm = merged.at("ars_align_norm").get<std::string>();
    s.arsTau = merged.at("ars_tau").get<double>();
    s.arsBias = merged.at("ars_bias").get<double>();
    s.arsLearningRate = merged.at("ars_lr").get<double>();
    s.arsEarlyStop = merged.at("ars_early_stop").get<bool>();
    s.logEvery = merged.at("log_every").get<int64_t>();
    s.warmupSteps = merged.at("warmup_steps").get<int64_t>();
    s.finalSteps = merged.at("final_steps").get<int64_t>();
    s.reallocEvery = merged.at("realloc_every").get<int64_t>();
    s.beta1 = merged.at("beta1").get<double>();
    s.beta2 = merged.at("beta2").get<double>();
    s.orthReg = merged.at("orth_reg").get<double>();
    s.calib = merged.at("calib").get<std::string>();
    s.calibSamples = merged.at("calib_samples").get<int64_t>();
    s.calibLength = merged.at("calib_length").get<int64_t>();
    s.evalText = merged.at("eval").get<std::string>();
    s.evalLabelled = merged.at("labelled").get<std::string>();
    s.separator = merged.at("separator").get<std::string>();
    s.truncate = merged.at("truncate").get<bool>();
    s.evalContext = merged.at("eval_context").get<int64_t>();
    s.evalStride = merged.at("eval_stride").get<int64_t>();
    s.maxEvalDocuments = merged.at("max_eval_documents").get<int64_t>();
    s.train = merged.at("train").get<std::string>();
    s.finetuneSteps = merged.at("finetune_steps").get<int64_t>();
    s.learningRate = merged.at("learning_rate").get<double>();
    s.batchSize = merged.at("batch_size").get<int64_t>();
    s.seed = merged.at("seed").get<uint64_t>();
    s.db = merged.at("db").get<std::string>();
    s.store = merged.at("store").get<bool>();
    s.exportDir = merged.at("export").get<std::string>();
    s.exportFormat = merged.at("format").get<std::string>();
    s.cacheDir = merged.at("cache_dir").get<std::string>();
    s.useCache = merged.at("use_cache").get<bool>();
    s.name = merged.at("name").get<std::string>();
    s.tags = merged.at("tags").get<std::vector<std::string>>();
    s.sweepId = merged.at("sweep_id").get<std::string>();
    return s;
  } catch (const json::exception& e) {
    throw Error(context + ": " + e.what());
  }
}

std::string specHash(const api::JobSpec& spec) {
  json j = toJson(spec);
  // The same files named from another directory (a Slurm task's absolute paths) are the same job.
  for (const char* k : {"model", "tokenizer", "calib", "train", "eval", "labelled"}) {
    const std::string p = j[k].get<std::string>();
    std::error_code ec;
    if (!p.empty()) {
      const auto a = std::filesystem::absolute(p, ec);
      if (!ec) j[k] = a.lexically_normal().string();
    }
  }
  for (const char* k : {"device", "threads", "db", "store", "export", "format", "cache_dir", "use_cache",
                        "name", "tags", "sweep_id", "log_every"})
    j.erase(k);
  // Keys added after runs were stored hash only when set, so a finished sweep point keeps its hash.
  const json defaults = toJson(api::JobSpec{});
  for (const char* k : {"propagate_compressed", "eval_stride"})
    if (j[k] == defaults[k]) j.erase(k);
  return sha256Hex(j.dump());
}

}  // namespace ranklab::jobs
