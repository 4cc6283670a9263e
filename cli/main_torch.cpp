// ranklab-cli-torch: every ranklab-cli command, with LibTorch (cli/cli.h). Started by the ranklab-cli
// launcher (cli/front.h) for the commands that need it; it also runs on its own.
#include "cli/cli.h"

int main(int argc, char** argv) { return ranklab::cli::run(argc, argv); }
