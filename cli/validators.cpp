#include "cli/validators.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>

namespace ranklab::cli {

namespace {

// The value as a double, or NaN when it is not a number at all (CLI11 reports that itself).
double numberOf(const std::string& text, bool& ok) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  ok = end != text.c_str() && *end == '\0';
  return v;
}

std::string finiteCheck(std::string& text) {
  bool ok = false;
  const double v = numberOf(text, ok);
  if (ok && !std::isfinite(v)) return "Value " + text + " is not a finite number";
  return {};
}

int hardwareThreads() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

std::string threadsCheck(std::string& text) {
  bool ok = false;
  const double v = numberOf(text, ok);
  const int most = 4 * hardwareThreads();
  if (ok && !(v >= 1.0 && v <= most))
    return "Value " + text + " is outside 1 .. " + std::to_string(most) + " (4 x the " +
           std::to_string(hardwareThreads()) + " hardware threads)";
  return {};
}

void bound(CLI::App& app, const CLI::Validator& finite, const CLI::Validator& threads) {
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_type_name() == "FLOAT") opt->check(finite);
    if (opt->check_lname("threads") || opt->check_lname("workers")) opt->check(threads);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) bound(*sub, finite, threads);
}

}  // namespace

const CLI::Validator kPositive(
    [](std::string& text) -> std::string {
      bool ok = false;
      const double v = numberOf(text, ok);
      if (ok && !std::isfinite(v)) return finiteCheck(text);
      return ok && !(v > 0.0) ? "Value " + text + " must be above 0" : std::string();
    },
    "POSITIVE");

const CLI::Validator kNonNegative(
    [](std::string& text) -> std::string {
      bool ok = false;
      const double v = numberOf(text, ok);
      if (ok && !std::isfinite(v)) return finiteCheck(text);
      return ok && !(v >= 0.0) ? "Value " + text + " must be 0 or more" : std::string();
    },
    "NONNEGATIVE");

void boundNumericOptions(CLI::App& app) {
  bound(app, CLI::Validator(finiteCheck, "FINITE"), CLI::Validator(threadsCheck, "1..4xCORES"));
}

}  // namespace ranklab::cli
