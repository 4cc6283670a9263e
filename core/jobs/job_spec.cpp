#include "jobs/job_spec.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <type_traits>
#include <vector>

#include "common/error.h"
#include "common/hash.h"
#include "common/json_field.h"

namespace ranklab::jobs {

using nlohmann::json;

json toJson(const api::JobSpec& s) {
  return {{"model", s.model},
          {"tokenizer", s.tokenizer},
          {"device", s.device},
          {"threads", s.threads},
          {"workers", s.workers},
          {"decomposition", s.decomposition},
          {"selector", s.selector},
          {"keep", s.keep},
          {"rank_ratio", s.rankRatio},
          {"energy", s.energy},
          {"manual_ranks", s.manualRanks},
          {"sensitivity_ratios", s.sensitivityRatios},
          {"randomized_svd", s.randomizedSvd},
          {"activation_checkpointing", s.activationCheckpointing},
          {"propagate_compressed", s.propagateCompressed},
          {"ars_steps", s.arsSteps},
          {"ars_lambda", s.arsLambda},
          {"ars_gamma", s.arsGamma},
          {"ars_align_norm", s.arsAlignNorm},
          {"ars_tau", s.arsTau},
          {"ars_bias", s.arsBias},
          {"ars_lr", s.arsLearningRate},
          {"ars_early_stop", s.arsEarlyStop},
          {"ars_time_budget", s.arsTimeBudget},
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
          {"choices", s.evalChoices},
          {"choices_format", s.choicesFormat},
          {"max_choice_items", s.maxChoiceItems},
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
  api::JobSpec s;
  s.model = jsonField<std::string>(merged, "model", context);
  s.tokenizer = jsonField<std::string>(merged, "tokenizer", context);
  s.device = jsonField<std::string>(merged, "device", context);
  s.threads = jsonField<int>(merged, "threads", context);
  s.workers = jsonField<int>(merged, "workers", context);
  s.decomposition = jsonField<std::string>(merged, "decomposition", context);
  s.selector = jsonField<std::string>(merged, "selector", context);
  s.keep = jsonField<double>(merged, "keep", context);
  s.rankRatio = jsonField<double>(merged, "rank_ratio", context);
  s.energy = jsonField<double>(merged, "energy", context);
  s.manualRanks = jsonField<std::map<std::string, double>>(merged, "manual_ranks", context);
  s.sensitivityRatios = jsonField<std::vector<double>>(merged, "sensitivity_ratios", context);
  s.randomizedSvd = jsonField<bool>(merged, "randomized_svd", context);
  s.activationCheckpointing = jsonField<std::string>(merged, "activation_checkpointing", context);
  s.propagateCompressed = jsonField<bool>(merged, "propagate_compressed", context);
  s.arsSteps = jsonField<int64_t>(merged, "ars_steps", context);
  s.arsLambda = jsonField<double>(merged, "ars_lambda", context);
  s.arsGamma = jsonField<double>(merged, "ars_gamma", context);
  s.arsAlignNorm = jsonField<std::string>(merged, "ars_align_norm", context);
  s.arsTau = jsonField<double>(merged, "ars_tau", context);
  s.arsBias = jsonField<double>(merged, "ars_bias", context);
  s.arsLearningRate = jsonField<double>(merged, "ars_lr", context);
  s.arsEarlyStop = jsonField<bool>(merged, "ars_early_stop", context);
  s.arsTimeBudget = jsonField<double>(merged, "ars_time_budget", context);
  s.logEvery = jsonField<int64_t>(merged, "log_every", context);
  s.warmupSteps = jsonField<int64_t>(merged, "warmup_steps", context);
  s.finalSteps = jsonField<int64_t>(merged, "final_steps", context);
  s.reallocEvery = jsonField<int64_t>(merged, "realloc_every", context);
  s.beta1 = jsonField<double>(merged, "beta1", context);
  s.beta2 = jsonField<double>(merged, "beta2", context);
  s.orthReg = jsonField<double>(merged, "orth_reg", context);
  s.calib = jsonField<std::string>(merged, "calib", context);
  s.calibSamples = jsonField<int64_t>(merged, "calib_samples", context);
  s.calibLength = jsonField<int64_t>(merged, "calib_length", context);
  s.evalText = jsonField<std::string>(merged, "eval", context);
  s.evalLabelled = jsonField<std::string>(merged, "labelled", context);
  s.evalChoices = jsonField<std::string>(merged, "choices", context);
  s.choicesFormat = jsonField<std::string>(merged, "choices_format", context);
  s.maxChoiceItems = jsonField<int64_t>(merged, "max_choice_items", context);
  s.separator = jsonField<std::string>(merged, "separator", context);
  s.truncate = jsonField<bool>(merged, "truncate", context);
  s.evalContext = jsonField<int64_t>(merged, "eval_context", context);
  s.evalStride = jsonField<int64_t>(merged, "eval_stride", context);
  s.maxEvalDocuments = jsonField<int64_t>(merged, "max_eval_documents", context);
  s.train = jsonField<std::string>(merged, "train", context);
  s.finetuneSteps = jsonField<int64_t>(merged, "finetune_steps", context);
  s.learningRate = jsonField<double>(merged, "learning_rate", context);
  s.batchSize = jsonField<int64_t>(merged, "batch_size", context);
  s.seed = jsonField<uint64_t>(merged, "seed", context);
  s.db = jsonField<std::string>(merged, "db", context);
  s.store = jsonField<bool>(merged, "store", context);
  s.exportDir = jsonField<std::string>(merged, "export", context);
  s.exportFormat = jsonField<std::string>(merged, "format", context);
  s.cacheDir = jsonField<std::string>(merged, "cache_dir", context);
  s.useCache = jsonField<bool>(merged, "use_cache", context);
  s.name = jsonField<std::string>(merged, "name", context);
  s.tags = jsonField<std::vector<std::string>>(merged, "tags", context);
  s.sweepId = jsonField<std::string>(merged, "sweep_id", context);
  return s;
}

std::string specHash(const api::JobSpec& spec) {
  json j = toJson(spec);
  // The same files named from another directory (a Slurm task's absolute paths) are the same job.
  for (const char* k : {"model", "tokenizer", "calib", "train", "eval", "labelled", "choices"}) {
    const std::string p = j[k].get<std::string>();
    std::error_code ec;
    if (!p.empty()) {
      const auto a = std::filesystem::absolute(p, ec);
      if (!ec) j[k] = a.lexically_normal().string();
    }
  }
  for (const char* k : {"device", "threads", "workers", "db", "store", "export", "format", "cache_dir",
                        "use_cache", "name", "tags", "sweep_id", "log_every", "activation_checkpointing"})
    j.erase(k);
  // Keys added after runs were stored hash only when set, so a finished sweep point keeps its hash.
  const json defaults = toJson(api::JobSpec{});
  for (const char* k :
       {"propagate_compressed", "eval_stride", "choices", "choices_format", "max_choice_items"})
    if (j[k] == defaults[k]) j.erase(k);
  return sha256Hex(jsonText(j));
}

CalibrationWindows calibrationWindows(const api::JobSpec& spec, int64_t maxPositions, bool causal) {
  CalibrationWindows w;
  const int64_t context = std::max<int64_t>(1, maxPositions);
  if (!causal) {
    w.length = context;
    w.count = spec.calibSamples > 0 ? spec.calibSamples : 32;
    return w;
  }
  const bool trains = spec.selector == "ars" || spec.selector == "rankdyna";
  w.length = std::min(spec.calibLength > 0 ? spec.calibLength : (trains ? 128 : 512), context);
  w.count =
      spec.calibSamples > 0 ? spec.calibSamples : std::max<int64_t>(1, kDefaultCalibrationTokens / w.length);
  return w;
}

}  // namespace ranklab::jobs
