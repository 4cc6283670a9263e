#include "cli/front.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command_table.h"
#include "cli/commands_runs.h"
#include "cli/dispatch.h"
#include "cli/terminal.h"
#include "cli/validators.h"
#include "common/error.h"

#ifndef RANKLAB_TORCH_VERSION
#define RANKLAB_TORCH_VERSION "unknown"
#endif

namespace ranklab::cli {
namespace fs = std::filesystem;

namespace {

constexpr const char* kTorchHalf = "ranklab-cli-torch";

// Whether argv asks for something this launcher answers itself.
bool answeredHere(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string first = argv[1];
  if (first == "-h" || first == "--help" || first == "--version") return true;
  for (const auto& c : kCommands)
    if (c.torchFree && first == c.name) return true;
  return false;
}

// Replaces this process with the LibTorch half: beside this program (the build tree, a relocated
// tree) or in <prefix>/lib/ranklab (installed). Returns only on failure.
int execTorchHalf(char** argv) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    candidates.push_back(self.parent_path() / kTorchHalf);
    candidates.push_back((self.parent_path() / ".." / "lib" / "ranklab" / kTorchHalf).lexically_normal());
    // The sweep's Slurm scripts call the launcher, not the half it runs.
    ::setenv("RANKLAB_CLI_FRONT", self.c_str(), 1);
  }
  std::string tried;
  for (const auto& c : candidates) {
    ::execv(c.c_str(), argv);
    tried += (tried.empty() ? "" : ", ") + c.string() + " (" + std::strerror(errno) + ")";
  }
  std::cerr << "ranklab-cli: cannot start the LibTorch half of ranklab-cli, " << kTorchHalf << "; tried "
            << (tried.empty() ? std::string("nothing: /proc/self/exe is unreadable") : tried) << "\n";
  return 1;
}

}  // namespace

int runFront(int argc, char** argv) {
  if (!answeredHere(argc, argv)) return execTorchHalf(argv);

  CLI::App app{kProgramDescription};
  app.set_version_flag("--version", std::string("ranklab-cli ") + RANKLAB_VERSION + " (LibTorch " +
                                        RANKLAB_TORCH_VERSION + ")");
  app.require_subcommand(1);

  RunsCommandsOptions runs;
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  // Every command in --help's order; those run by the LibTorch half are listed only (this process
  // never parses them: answeredHere() sent them away).
  for (const auto& c : kCommands) {
    if (std::strcmp(c.name, "runs") == 0)
      addRunsCommands(app, runs,
                      [&](CLI::App* sub, std::function<int()> run) { commands.emplace_back(sub, run); });
    else
      app.add_subcommand(c.name, c.description);
  }
  boundNumericOptions(app);

  if (auto code = parseOrExit(app, argc, argv)) return *code;
  return runReportingErrors([&] {
    for (const auto& [sub, run] : commands)
      if (sub->parsed()) return run();
    return kUsageError;
  });
}

}  // namespace ranklab::cli
