#include "cli/reports.h"

#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "api/protocol.h"
#include "store/run_store.h"

namespace ranklab::cli {

using nlohmann::json;

json numberOrNull(double v) { return std::isfinite(v) ? json(v) : json(); }

json perplexityJson(const api::PerplexityResult& r) {
  return {{"documents", r.documents}, {"tokens", r.tokens},         {"bytes", r.bytes},
          {"mean_nll", r.meanNll},    {"perplexity", r.perplexity}, {"bits_per_byte", r.bitsPerByte}};
}

json protocolJson(const api::EvalProtocol& p) {
  if (!p.known) return json();
  json j = json::parse(store::protocolToJson(p));
  j["label"] = api::protocolLabel(p);
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
          {"protocol", protocolJson(r.protocol)},
          {"comparison_group", r.metric.empty() ? json() : json(api::groupLabel(r))},
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
    json j{{"name", o.name},
           {"in", o.inFeatures},
           {"out", o.outFeatures},
           {"rank", o.rank},
           {"full_rank", o.fullRank},
           {"factorized", o.factorized},
           {"energy_kept", o.energyKept}};
    if (spectra) {
      j["spectrum"] = o.spectrum;
      j["plain_spectrum"] = o.plainSpectrum;
    }
    a.push_back(j);
  }
  return a;
}

json evalJson(const std::vector<api::EvalPoint>& evals, const std::string& stage) {
  json j = json::object();
  for (const auto& e : evals)
    if (e.stage == stage) {
      j[e.metric] = numberOrNull(e.value);
      j[api::countedUnit(e.metric)] = e.count;
    }
  return j;
}

void printOps(const std::vector<api::OpResult>& ops) {
  std::cout << std::left << std::setw(22) << "op" << std::right << std::setw(6) << "M" << std::setw(6) << "N"
            << std::setw(7) << "rank" << std::setw(6) << "full" << std::setw(10) << "stored" << std::setw(10)
            << "energy"
            << "\n";
  for (const auto& o : ops)
    std::cout << std::left << std::setw(22) << o.name << std::right << std::setw(6) << o.inFeatures
              << std::setw(6) << o.outFeatures << std::setw(7) << o.rank << std::setw(6) << o.fullRank
              << std::setw(10) << (o.factorized ? "low-rank" : (o.rank < o.fullRank ? "dense*" : "dense"))
              << std::setw(9) << std::fixed << std::setprecision(1) << 100.0 * o.energyKept << "%\n";
  std::cout << "(dense* = kept dense at rank k because k (M + N) >= M N)\n";
}

std::string metricText(const std::string& metric, double v) {
  if (!std::isfinite(v)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(api::isAccuracyMetric(metric) ? 4 : 3) << v;
  return s.str();
}

}  // namespace ranklab::cli
