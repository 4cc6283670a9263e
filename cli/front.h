// ranklab-cli is two programs: this launcher, which never loads LibTorch, and its LibTorch half,
// ranklab-cli-torch (cli/cli.h), which it replaces itself with (execv, same process id, arguments,
// terminal and signals) for every command that needs a model. LibTorch's shared libraries and their
// static initialisers cost about half a second per start (288 libraries with Debian's LibTorch), so
// `--help`, `--version` and the run store's `runs ...` commands answer from here at once. Torch-free.
#pragma once

namespace ranklab::cli {

// Runs one command and returns the exit code, or execs the LibTorch half (returns only when that
// fails, with 1 after a message naming the paths tried).
int runFront(int argc, char** argv);

}  // namespace ranklab::cli
