// main() for every GoogleTest executable: the same allocator tuning as ranklab-cli and the GUI, so
// tests run the code the way users do (and twice as fast on LibTorch-heavy tests).
#include <gtest/gtest.h>

#include "common/allocator.h"

int main(int argc, char** argv) {
  ranklab::tuneAllocator();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
