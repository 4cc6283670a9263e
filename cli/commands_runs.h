// ranklab-cli's run database commands: runs list | show | delete | merge | tag | note. Each
// subcommand has one options struct, a function registering its flags into it, and a function
// running it. Internal to the cli library.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

namespace ranklab::cli {

// Flags every runs subcommand takes, after its name or before it (runs --db X list).
struct RunsDbFlags {
  std::string db;  // empty: $RANKLAB_DB or the default database
  bool asJson = false;
};

struct RunsListOptions {
  std::string filter;  // substring of name, model, method, tags or notes
  std::string status;
  std::string sweep;
  std::string tag;
  RunsDbFlags flags;
};

struct RunsShowOptions {
  int64_t id = 0;
  bool spectra = false;
  RunsDbFlags flags;
};

struct RunsDeleteOptions {
  int64_t id = 0;
  bool force = false;
  RunsDbFlags flags;
};

struct RunsMergeOptions {
  std::string other;
  RunsDbFlags flags;
};

struct RunsTagOptions {
  int64_t id = 0;
  std::vector<std::string> tags;  // none: clear
  RunsDbFlags flags;
};

struct RunsNoteOptions {
  int64_t id = 0;
  std::string text;
  RunsDbFlags flags;
};

// Registers the `runs` group on `app` and returns it. Its --db and --json (given before the
// subcommand's name) are written into every subcommand's `flags`, which must all be listed here; one
// given after the name wins, as CLI11 runs a command's option callbacks before its subcommands'.
CLI::App* addRuns(CLI::App& app, std::initializer_list<RunsDbFlags*> subcommands);

// Each add* registers the subcommand on `runs` with its flags bound to `o` (which must outlive
// parsing) and returns it; each run* runs the parsed command and returns the exit code. The run
// functions throw ranklab::Error for foreseeable mistakes (the caller prints them).
CLI::App* addRunsList(CLI::App& runs, RunsListOptions& o);
int runRunsList(const RunsListOptions& o);

CLI::App* addRunsShow(CLI::App& runs, RunsShowOptions& o);
int runRunsShow(const RunsShowOptions& o);

CLI::App* addRunsDelete(CLI::App& runs, RunsDeleteOptions& o);
int runRunsDelete(const RunsDeleteOptions& o);

CLI::App* addRunsMerge(CLI::App& runs, RunsMergeOptions& o);
int runRunsMerge(const RunsMergeOptions& o);

CLI::App* addRunsTag(CLI::App& runs, RunsTagOptions& o);
int runRunsTag(const RunsTagOptions& o);

CLI::App* addRunsNote(CLI::App& runs, RunsNoteOptions& o);
int runRunsNote(const RunsNoteOptions& o);

// Every `runs` subcommand's options.
struct RunsCommandsOptions {
  RunsListOptions list;
  RunsShowOptions show;
  RunsDeleteOptions remove;
  RunsMergeOptions merge;
  RunsTagOptions tag;
  RunsNoteOptions note;
};

// Registers `runs` and all its subcommands on `app` (bound to `o`, which must outlive parsing) and
// hands each subcommand with how to run it to `add`.
void addRunsCommands(CLI::App& app, RunsCommandsOptions& o,
                     const std::function<void(CLI::App*, std::function<int()>)>& add);

}  // namespace ranklab::cli
