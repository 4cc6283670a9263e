// ranklab-cli entry point. The commands live in core (core/cli) so this layer stays torch-free.
#include "cli/cli.h"

int main(int argc, char** argv) { return ranklab::cli::run(argc, argv); }
