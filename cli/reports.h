// JSON and text forms of core's results that several ranklab-cli commands print (stored runs, their
// per-op ranks and evaluations, perplexity results). Internal to the cli library.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/run.h"
#include "api/types.h"

namespace ranklab::cli {

// A finite number, or null (JSON has no NaN or infinity).
nlohmann::json numberOrNull(double v);

nlohmann::json perplexityJson(const api::PerplexityResult& r);

// A stored run's capsule: every RunRecord field, config and versions parsed back into JSON.
nlohmann::json runJson(const api::RunRecord& r);

// Per-op ranks (and with `spectra` the singular spectra).
nlohmann::json opsJson(const std::vector<api::OpResult>& ops, bool spectra);

// One stage's evaluations ("before", "compressed", "after"): {metric: value, tokens|examples: count}.
// The protocol as JSON (null when unknown), with its label.
nlohmann::json protocolJson(const api::EvalProtocol& p);
nlohmann::json evalJson(const std::vector<api::EvalPoint>& evals, const std::string& stage);

// The per-op table of a compressed model, on stdout.
void printOps(const std::vector<api::OpResult>& ops);

// A metric value for tables: 4 decimals for accuracy, 3 for perplexity, "-" when not finite.
std::string metricText(const std::string& metric, double v);

}  // namespace ranklab::cli
