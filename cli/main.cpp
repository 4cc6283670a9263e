// ranklab-cli: the torch-free launcher (cli/front.h); commands that need LibTorch run in
// ranklab-cli-torch (cli/main_torch.cpp), which it execs.
#include "cli/front.h"

int main(int argc, char** argv) { return ranklab::cli::runFront(argc, argv); }
