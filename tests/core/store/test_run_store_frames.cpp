// Mask evolution at the size a real ARS run logs: 5000 steps x 100 ops, each op with its rank and a
// 96-byte (768-bit) mask, written the way a job does (batches of 50) and read back bit-exact.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "store/run_store.h"
#include "store_test_support.h"

using namespace ranklab;
using namespace ranklab::store;
using namespace ranklab::store::testing;

namespace {

TEST(RunStoreFrames, FiveThousandFramesOfAHundredOpsRoundTrip) {
  constexpr int64_t kSteps = 5000, kBatch = 50;
  constexpr size_t kOps = 100, kMaskBytes = 96;
  std::vector<api::MaskFrame> frames;
  frames.reserve(kSteps);
  for (int64_t step = 0; step < kSteps; ++step) frames.push_back(sampleFrame(step, kOps, kMaskBytes));

  TempDir dir;
  RunStore store(dir / "runs.db");
  const int64_t id = store.beginRun(sampleRecord("ars"));
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  for (int64_t first = 0; first < kSteps; first += kBatch)
    store.appendFrames(id, {frames.begin() + first, frames.begin() + first + kBatch});
  const auto written = Clock::now();
  const auto back = store.frames(id);
  const auto read = Clock::now();

  const double writeS = std::chrono::duration<double>(written - start).count();
  const double readS = std::chrono::duration<double>(read - written).count();
  std::cout << "[ timing   ] 5000 x 100 frames (96-byte masks): write " << writeS << " s in "
            << kSteps / kBatch << " calls, read " << readS << " s\n";
  RecordProperty("write_seconds", std::to_string(writeS));
  RecordProperty("read_seconds", std::to_string(readS));
  expectSameFrames(back, frames);
  // Not a benchmark: a generous bound that only a per-row commit or quadratic read would break.
  EXPECT_LT(writeS + readS, 20.0);
}

}  // namespace
