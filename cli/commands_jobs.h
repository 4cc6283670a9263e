// ranklab-cli's job commands: compress, demo and run SPEC.json, each a JobRunner job on one model.
// Each has one options struct, a function registering its flags into it, and a function running it.
// Internal to the cli library.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "api/job.h"

namespace ranklab::cli {

struct CompressOptions {
  api::JobSpec spec;          // most flags set its fields directly
  double svdLlmRatio = -1.0;  // < 0: not given
  std::string ranks;          // --ranks: a JSON file or name=rank,glob=rank
  bool noStore = false;
  bool noCache = false;
  bool asJson = false;
  bool keepGiven = false;           // --keep was on the command line (it conflicts with --svdllm-ratio)
  bool plan = false;                // --plan: print the memory plan from the headers and stop
  std::string propagate = "dense";  // --propagate: dense | compressed
};

struct DemoOptions {
  std::string model;  // empty: the shipped gpt-mini
  std::string text;   // empty: the shipped held-out test split
  double keep = 0.5;
  int64_t maxDocs = 6;
  std::string db;
  bool noStore = false;
  std::string device = "auto";
  int threads = 0;
  bool asJson = false;
};

struct RunSpecOptions {
  std::string specFile;
  std::string db;  // empty: the spec's
  bool skipFinished = false;
  bool asJson = false;
};

// Each add* registers the subcommand on `app` with its flags bound to `o` (which must outlive
// parsing) and returns it; each run* runs the parsed command and returns the exit code. The run
// functions throw ranklab::Error for foreseeable mistakes (the caller prints them).
CLI::App* addCompress(CLI::App& app, CompressOptions& o);
int runCompress(const CompressOptions& o);

CLI::App* addDemo(CLI::App& app, DemoOptions& o);
int runDemo(const DemoOptions& o);

CLI::App* addRunSpec(CLI::App& app, RunSpecOptions& o);
int runRunSpec(const RunSpecOptions& o);

}  // namespace ranklab::cli
