// ranklab-cli's job commands: compress, run SPEC.json, sweep GRID.json, merge SHARDS, runs list|show|delete|merge|tag|note.
// Internal to the cli library.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>

namespace ranklab::cli::detail {

struct JobCommands;

// Registers the commands on `app`; the returned state must outlive parsing.
std::shared_ptr<JobCommands> addJobCommands(CLI::App& app);
// Runs the parsed job command. Returns -1 when none of them was parsed. Throws ranklab::Error for
// foreseeable mistakes (the caller prints them).
int runJobCommands(JobCommands& commands);

}  // namespace ranklab::cli::detail
