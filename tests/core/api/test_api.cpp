// core/api holds value types only: this executable links ranklab_api and GoogleTest and nothing
// else, so a function declared in api/ but implemented in another module fails to link here.
#include <gtest/gtest.h>

#include "api/job.h"
#include "api/run.h"
#include "api/teach.h"
#include "api/types.h"

using namespace ranklab::api;

TEST(ApiValueTypes, AreUsableWithoutAnyCoreLibrary) {
  OpInfo op{"layers.0.mlp.up", 0, "up", 256, 1024, true};
  EXPECT_EQ(op.params(), 256 * 1024);
  ModelSummary summary;
  summary.ops.push_back(op);
  JobSpec spec;
  EXPECT_EQ(spec.selector, "uniform");
  EXPECT_EQ(spec.decomposition, "svd");
  JobOutcome outcome;
  outcome.data.ops.push_back(OpResult{});
  EXPECT_EQ(outcome.data.ops.size(), 1u);
  ModelSpectra spectra;
  spectra.ops.push_back(OpSpectra{op, {2.0f, 1.0f}, {}, {}, {}});
  EXPECT_EQ(spectra.ops[0].plain.size(), 2u);
  MatrixSvd svd;
  EXPECT_EQ(svd.rows, 0);
  const RunData copy = outcome.data;
  EXPECT_EQ(copy.ops.size(), 1u);
}
