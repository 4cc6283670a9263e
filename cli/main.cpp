// ranklab-cli entry point; the commands live in the cli library (cli/cli.h).
#include "cli/cli.h"

int main(int argc, char** argv) { return ranklab::cli::run(argc, argv); }
