// `ranklab-cli completion bash`: a bash completion script generated from the CLI's own command tree,
// so it never falls out of step with the options. Torch-free.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace ranklab::cli {

// The bash completion script for `app` (subcommands, their options, the values of options with a
// fixed set of choices; file names elsewhere).
std::string bashCompletion(const CLI::App& app);

// Registers the `completion` subcommand on `app`; its output goes to stdout.
CLI::App* addCompletion(CLI::App& app, std::string& shell);

}  // namespace ranklab::cli
