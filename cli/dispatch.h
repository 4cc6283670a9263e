// How both halves of ranklab-cli (cli/front.h, cli/cli.h) end a parse and a command: help, version and
// usage errors from CLI11, and exceptions as one line on stderr with an exit code. Torch-free.
#pragma once

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <optional>

#include "cli/terminal.h"
#include "common/error.h"

namespace ranklab::cli {

// Parses argv into `app`. Returns the exit code when parsing ends the program (--help, --version,
// a usage error: one line on stderr, code 2); nothing when a command is to run.
inline std::optional<int> parseOrExit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "ranklab-cli: " << printable(e.what()) << " (see ranklab-cli --help)\n";
    return kUsageError;
  }
  return std::nullopt;
}

// Runs `run` and returns its exit code; an exception becomes one line on stderr: ranklab::Error
// (foreseeable bad input) exits 2, anything else 1.
template <typename F>
int runReportingErrors(F&& run) {
  try {
    return run();
  } catch (const ranklab::Error& e) {
    std::cerr << "ranklab-cli: " << printable(e.what()) << "\n";
    return kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "ranklab-cli: " << printable(e.what()) << "\n";
    return 1;
  }
}

}  // namespace ranklab::cli
