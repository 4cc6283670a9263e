#include "jobs/job_spec.h"

#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <type_traits>
#include <vector>

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

namespace {

// RFC 6901: '~' and '/' inside a key are escaped.
std::string pointerKey(const std::string& key) {
  std::string out;
  for (char c : key) out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
  return out;
}

std::string describe(const json& v) {
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(v.type_name()) + " " + text;
}

[[noreturn]] void wrongType(const std::string& context, const std::string& pointer, const char* expected,
                            const json& v) {
  throw Error(context + ": " + pointer + " must be " + expected + ", got " + describe(v));
}

// One value of type T at `pointer`, strictly: integers must be integers (1.5 is not a sample count)
// and fit their type, unsigned ones not negative.
template <class T>
T scalar(const json& v, const std::string& context, const std::string& pointer) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) wrongType(context, pointer, "a string", v);
    return v.get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) wrongType(context, pointer, "true or false", v);
    return v.get<bool>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) wrongType(context, pointer, "a number", v);
    return v.get<T>();
  } else {
    static_assert(std::is_integral_v<T>);
    bool fits = false;
    if (v.is_number_unsigned()) {
      fits = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    } else if (v.is_number_integer()) {
      const int64_t i = v.get<int64_t>();
      fits = std::is_signed_v<T>
                 ? i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                       i <= static_cast<int64_t>(std::numeric_limits<T>::max())
                 : i >= 0 && static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    }
    if (!fits) wrongType(context, pointer, std::is_signed_v<T> ? "an integer" : "an integer of 0 or more", v);
    return static_cast<T>(v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>())
                                                 : static_cast<T>(v.get<int64_t>()));
  }
}

template <class T>
struct Field {
  static T get(const json& v, const std::string& context, const std::string& pointer) {
    return scalar<T>(v, context, pointer);
  }
};

template <class T>
struct Field<std::vector<T>> {
  static std::vector<T> get(const json& v, const std::string& context, const std::string& pointer) {
    if (!v.is_array()) wrongType(context, pointer, "a list", v);
    std::vector<T> out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(scalar<T>(v[i], context, pointer + "/" + std::to_string(i)));
    return out;
  }
};

template <class T>
struct Field<std::map<std::string, T>> {
  static std::map<std::string, T> get(const json& v, const std::string& context, const std::string& pointer) {
    if (!v.is_object()) wrongType(context, pointer, "an object", v);
    std::map<std::string, T> out;
    for (const auto& item : v.items())
      out[item.key()] = scalar<T>(item.value(), context, pointer + "/" + pointerKey(item.key()));
    return out;
  }
};

// The spec's field `key`, its errors naming the file (`context`) and the JSON pointer ("/keep").
template <class T>
T field(const json& spec, const char* key, const std::string& context) {
  return Field<T>::get(spec.at(key), context, std::string("/") + key);
}

}  // namespace

api::JobSpec jobSpecFromJson(const json& j, const std::string& context) {
  if (!j.is_object()) throw Error(context + ": a job spec must be a JSON object");
  const json defaults = toJson(api::JobSpec{});
  for (const auto& item : j.items())
    if (!defaults.contains(item.key())) throw Error(context + ": unknown job spec key '" + item.key() + "'");
  json merged = defaults;
  for (const auto& item : j.items()) merged[item.key()] = item.value();
  api::JobSpec s;
  s.model = field<std::string>(merged, "model", context);
  s.tokenizer = field<std::string>(merged, "tokenizer", context);
  s.device = field<std::string>(merged, "device", context);
  s.threads = field<int>(merged, "threads", context);
  s.decomposition = field<std::string>(merged, "decomposition", context);
  s.selector = field<std::string>(merged, "selector", context);
  s.keep = field<double>(merged, "keep", context);
  s.rankRatio = field<double>(merged, "rank_ratio", context);
  s.energy = field<double>(merged, "energy", context);
  s.manualRanks = field<std::map<std::string, double>>(merged, "manual_ranks", context);
  s.sensitivityRatios = field<std::vector<double>>(merged, "sensitivity_ratios", context);
  s.randomizedSvd = field<bool>(merged, "randomized_svd", context);
  s.propagateCompressed = field<bool>(merged, "propagate_compressed", context);
  s.arsSteps = field<int64_t>(merged, "ars_steps", context);
  s.arsLambda = field<double>(merged, "ars_lambda", context);
  s.arsGamma = field<double>(merged, "ars_gamma", context);
  s.arsAlignNorm = field<std::string>(merged, "ars_align_norm", context);
  s.arsTau = field<double>(merged, "ars_tau", context);
  s.arsBias = field<double>(merged, "ars_bias", context);
  s.arsLearningRate = field<double>(merged, "ars_lr", context);
  s.arsEarlyStop = field<bool>(merged, "ars_early_stop", context);
  s.logEvery = field<int64_t>(merged, "log_every", context);
  s.warmupSteps = field<int64_t>(merged, "warmup_steps", context);
  s.finalSteps = field<int64_t>(merged, "final_steps", context);
  s.reallocEvery = field<int64_t>(merged, "realloc_every", context);
  s.beta1 = field<double>(merged, "beta1", context);
  s.beta2 = field<double>(merged, "beta2", context);
  s.orthReg = field<double>(merged, "orth_reg", context);
  s.calib = field<std::string>(merged, "calib", context);
  s.calibSamples = field<int64_t>(merged, "calib_samples", context);
  s.calibLength = field<int64_t>(merged, "calib_length", context);
  s.evalText = field<std::string>(merged, "eval", context);
  s.evalLabelled = field<std::string>(merged, "labelled", context);
  s.separator = field<std::string>(merged, "separator", context);
  s.truncate = field<bool>(merged, "truncate", context);
  s.evalContext = field<int64_t>(merged, "eval_context", context);
  s.evalStride = field<int64_t>(merged, "eval_stride", context);
  s.maxEvalDocuments = field<int64_t>(merged, "max_eval_documents", context);
  s.train = field<std::string>(merged, "train", context);
  s.finetuneSteps = field<int64_t>(merged, "finetune_steps", context);
  s.learningRate = field<double>(merged, "learning_rate", context);
  s.batchSize = field<int64_t>(merged, "batch_size", context);
  s.seed = field<uint64_t>(merged, "seed", context);
  s.db = field<std::string>(merged, "db", context);
  s.store = field<bool>(merged, "store", context);
  s.exportDir = field<std::string>(merged, "export", context);
  s.exportFormat = field<std::string>(merged, "format", context);
  s.cacheDir = field<std::string>(merged, "cache_dir", context);
  s.useCache = field<bool>(merged, "use_cache", context);
  s.name = field<std::string>(merged, "name", context);
  s.tags = field<std::vector<std::string>>(merged, "tags", context);
  s.sweepId = field<std::string>(merged, "sweep_id", context);
  return s;
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
