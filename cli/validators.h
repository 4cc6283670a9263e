// Checks on numeric flags, with messages that name the flag (CLI11 prefixes it) and a readable
// range. Internal to the cli library.
#pragma once

#include <CLI/CLI.hpp>

namespace ranklab::cli {

// A number above zero / zero or more (CLI11's own print the largest double as the upper bound).
extern const CLI::Validator kPositive;
extern const CLI::Validator kNonNegative;

// Bounds every option of `app` and its subcommands, once all are registered: floating-point values
// must be finite (no nan, inf), and --threads lies in 1 .. 4 x the hardware threads (more only
// slows LibTorch down: 200 threads on 2 cores ran 9x slower).
void boundNumericOptions(CLI::App& app);

}  // namespace ranklab::cli
