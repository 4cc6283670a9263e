// ranklab-cli's command-line front end (the cli library; Qt-free, uses torch through core).
// Torch-free header.
#pragma once

namespace ranklab::cli {

// Parses argv, runs one command and returns the process exit code: 0 on success, 2 for usage
// errors and foreseeable bad input (one line on stderr), 1 for unexpected failures. Never throws.
int run(int argc, char** argv);

}  // namespace ranklab::cli
