// ranklab-cli: the headless front end. Every command prints a human-readable report, or one JSON
// object on stdout with --json. Foreseeable mistakes (unknown flags, missing files, unsupported
// formats) print one line on stderr and exit with code 2.
#include "cli/cli.h"

#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command_table.h"
#include "cli/commands_jobs.h"
#include "cli/commands_model.h"
#include "cli/commands_runs.h"
#include "cli/commands_sweep.h"
#include "cli/commands_train.h"
#include "cli/completion.h"
#include "cli/dispatch.h"
#include "cli/terminal.h"
#include "cli/validators.h"
#include "common/allocator.h"
#include "common/compat.h"
#include "common/error.h"

namespace ranklab::cli {

namespace {

// A registered subcommand and how to run it once parsed (its options bound by reference).
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

std::string commandLine(int argc, char** argv) {
  std::string line = "ranklab-cli";
  for (int i = 1; i < argc; ++i) line += std::string(" ") + argv[i];
  return line;
}

}  // namespace

int run(int argc, char** argv) {
  tuneAllocator();
  CLI::App app{kProgramDescription};
  app.set_version_flag("--version", std::string("ranklab-cli ") + RANKLAB_VERSION + " (LibTorch " +
                                        compat::torchVersion() + ")");
  app.require_subcommand(1);

  // Every subcommand's options, bound while registering (in the order --help lists them).
  InfoOptions info;
  TokenizeOptions tokenize;
  GenerateOptions generate;
  EvalOptions eval;
  ConvertOptions convert;
  BpeTrainOptions bpeTrain;
  SynthOptions synth;
  CompressOptions compress;
  DemoOptions demo;
  RunSpecOptions runSpec;
  SweepOptions sweep;
  MergeOptions merge;
  RunsCommandsOptions runs;
  PretrainOptions pretrain;
  FinetuneOptions finetune;
  const std::string line = commandLine(argc, argv);

  std::vector<Command> commands;
  auto add = [&](CLI::App* sub, std::function<int()> runIt) { commands.push_back({sub, std::move(runIt)}); };
  add(addInfo(app, info), [&] { return runInfo(info); });
  add(addTokenize(app, tokenize), [&] { return runTokenize(tokenize); });
  add(addGenerate(app, generate), [&] { return runGenerate(generate); });
  add(addEval(app, eval), [&] { return runEval(eval); });
  add(addConvert(app, convert), [&] { return runConvert(convert); });
  add(addBpeTrain(app, bpeTrain), [&] { return runBpeTrain(bpeTrain); });
  add(addSynth(app, synth), [&] { return runSynth(synth); });
  add(addCompress(app, compress), [&] { return runCompress(compress); });
  add(addDemo(app, demo), [&] { return runDemo(demo); });
  add(addRunSpec(app, runSpec), [&] { return runRunSpec(runSpec); });
  add(addSweep(app, sweep), [&] { return runSweep(sweep); });
  add(addMerge(app, merge), [&] { return runMerge(merge); });
  addRunsCommands(app, runs, add);
  add(addPretrain(app, pretrain), [&] { return runPretrain(pretrain, line); });
  add(addFinetune(app, finetune), [&] { return runFinetune(finetune, line); });
  std::string completionShell;
  add(addCompletion(app, completionShell), [&] {
    std::cout << bashCompletion(app);
    return 0;
  });
  boundNumericOptions(app);

  if (auto code = parseOrExit(app, argc, argv)) return *code;
  return runReportingErrors([&] {
    try {
      for (const auto& command : commands)
        if (command.app->parsed()) return command.run();
    } catch (const c10::Error& e) {
      // A LibTorch check failed on input we did not validate well enough: report it in one line.
      std::cerr << "ranklab-cli: " << printable(e.what_without_backtrace()) << "\n";
      return kUsageError;
    }
    return kUsageError;
  });
}

}  // namespace ranklab::cli
