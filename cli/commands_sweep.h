// ranklab-cli's sweep commands: sweep GRID.json (run a grid resumably, or emit a Slurm array job for
// it) and merge SHARDS (fold the shards' databases into one). Each has one options struct, a function
// registering its flags into it, and a function running it. Internal to the cli library.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "jobs/sweep.h"

namespace ranklab::cli {

struct SweepOptions {
  std::string gridFile;
  std::string db;  // empty: the grid's
  bool dryRun = false;
  std::string emitSlurmDir;  // non-empty: write the Slurm array job instead of running
  jobs::SlurmOptions slurm;  // with --emit-slurm; its cli field is filled in when it runs
  bool asJson = false;
};

struct MergeOptions {
  std::vector<std::string> shards;
  std::string db;
  bool asJson = false;
};

// Each add* registers the subcommand on `app` with its flags bound to `o` (which must outlive
// parsing) and returns it; each run* runs the parsed command and returns the exit code. The run
// functions throw ranklab::Error for foreseeable mistakes (the caller prints them).
CLI::App* addSweep(CLI::App& app, SweepOptions& o);
int runSweep(const SweepOptions& o);

CLI::App* addMerge(CLI::App& app, MergeOptions& o);
int runMerge(const MergeOptions& o);

}  // namespace ranklab::cli
