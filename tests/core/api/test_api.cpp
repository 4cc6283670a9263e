// core/api holds value types only: this executable links ranklab_api and GoogleTest and nothing
// else, so a function declared in api/ but implemented in another module fails to link here.
#include <gtest/gtest.h>

#include <cmath>

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

TEST(ApiMetricRecords, OneRecordPerMetricWithItsOwnValuesAndProtocol) {
  RunRecord run;
  run.id = 7;
  run.metric = "perplexity";
  run.metricBefore = 82.7;
  run.metricAfter = 109.9;
  run.protocol.known = true;
  run.protocol.metric = "perplexity";
  EvalProtocol acc;
  acc.known = true;
  acc.metric = "acc_norm";
  acc.scoring = "ranklab";
  acc.counted = 400;
  const std::vector<EvalPoint> evals = {{"before", "t.txt", "perplexity", 1.0, 82.7, 100, run.protocol},
                                        {"before", "c.jsonl", "acc_norm", 1.0, 0.4575, 400, acc},
                                        {"after", "t.txt", "perplexity", 0.3, 109.9, 100, run.protocol},
                                        {"after", "c.jsonl", "acc_norm", 0.3, 0.44, 400, acc},
                                        {"after", "c.jsonl", "acc", 0.3, 0.41, 400, acc}};
  const auto records = metricRecords(run, evals);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].metric, "perplexity");
  EXPECT_EQ(records[0].metricAfter, 109.9);
  EXPECT_EQ(records[1].metric, "acc_norm");
  EXPECT_EQ(records[1].id, 7);
  EXPECT_EQ(records[1].metricBefore, 0.4575);
  EXPECT_EQ(records[1].metricAfter, 0.44);
  EXPECT_EQ(records[1].protocol.scoring, "ranklab");
  EXPECT_EQ(records[2].metric, "acc");
  EXPECT_TRUE(std::isnan(records[2].metricBefore)) << "no before point";
  EXPECT_TRUE(isAccuracyMetric("acc_norm"));
  EXPECT_FALSE(isAccuracyMetric("perplexity"));
  EXPECT_STREQ(countedUnit("acc"), "items");
}
