// Job specs are checked before anything runs: every number finite and in range, every JSON value of
// the type its key needs, with the key's JSON pointer in the message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "jobs/job.h"
#include "jobs/job_spec.h"

using namespace ranklab;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

api::JobSpec valid() {
  api::JobSpec s;
  s.model = "some-model";  // validateSpec does not open the model
  return s;
}

TEST(JobSpecChecks, NonFiniteNumbersAreNamedByTheirKey) {
  EXPECT_NO_THROW(jobs::validateSpec(valid()));
  auto s = valid();
  s.finetuneSteps = 10;
  s.learningRate = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("'learning_rate'"));
  s = valid();
  s.sensitivityRatios = {0.5, std::numeric_limits<double>::infinity()};
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("'sensitivity_ratios'"));
  s = valid();
  s.arsTau = -std::numeric_limits<double>::infinity();
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("'ars_tau'"));
}

TEST(JobSpecChecks, ThreadsAndLearningRateAreBounded) {
  auto s = valid();
  s.threads = -1;
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("threads must lie in 1 .. "));
  s.threads = 100000;
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("got 100000"));
  s.threads = 1;
  EXPECT_NO_THROW(jobs::validateSpec(s));
  s.workers = -2;
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("workers must lie in 1 .. "));
  s.workers = 100000;
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("got 100000"));
  s.workers = 2;
  EXPECT_NO_THROW(jobs::validateSpec(s));
  EXPECT_EQ(jobs::jobSpecFromJson(jobs::toJson(s), "spec.json").workers, 2);
  s.finetuneSteps = 5;
  s.learningRate = 0.0;
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("--lr (learning_rate) must be above 0"));
}

TEST(JobSpecChecks, JsonValuesOfTheWrongTypeNameTheirPointer) {
  auto parse = [](const json& j) { return errorOf([&] { jobs::jobSpecFromJson(j, "spec.json"); }); };
  EXPECT_EQ(parse({{"model", "m"}, {"calib_samples", 1.5}}),
            "spec.json: /calib_samples must be an integer, got number 1.5");
  EXPECT_EQ(parse({{"model", {1, 2}}}), "spec.json: /model must be a string, got array [1,2]");
  EXPECT_EQ(parse({{"model", "m"}, {"store", "yes"}}),
            "spec.json: /store must be true or false, got string \"yes\"");
  EXPECT_EQ(parse({{"model", "m"}, {"seed", -1}}),
            "spec.json: /seed must be an integer of 0 or more, got number -1");
  EXPECT_EQ(parse({{"model", "m"}, {"threads", 4294967296LL}}),
            "spec.json: /threads must be an integer, got number 4294967296");
  EXPECT_EQ(parse({{"model", "m"}, {"tags", {"a", 3}}}), "spec.json: /tags/1 must be a string, got number 3");
  EXPECT_EQ(parse({{"model", "m"}, {"manual_ranks", {{"x/y~z", "64"}}}}),
            "spec.json: /manual_ranks/x~1y~0z must be a number, got string \"64\"");
  // Values of the right type still parse; an unsigned seed keeps all 64 bits.
  const auto s =
      jobs::jobSpecFromJson({{"model", "m"}, {"seed", 18446744073709551615ULL}, {"keep", 1}}, "spec.json");
  EXPECT_EQ(s.seed, 18446744073709551615ULL);
  EXPECT_EQ(s.keep, 1.0);
}

}  // namespace

// The calibration windows a spec's 0s resolve to: short windows for the methods that train on them,
// the same 16,384 tokens in all, never past the context; explicit values are kept.
TEST(CalibrationWindows, DefaultsFollowTheMethodAndTheContext) {
  api::JobSpec s;
  for (const char* selector : {"ars", "rankdyna"}) {
    s.selector = selector;
    const auto w = jobs::calibrationWindows(s, 1024, true);
    EXPECT_EQ(w.length, 128) << selector;
    EXPECT_EQ(w.count, 128) << selector;
  }
  for (const char* selector : {"uniform", "energy", "sensitivity", "manual"}) {
    s.selector = selector;
    const auto w = jobs::calibrationWindows(s, 1024, true);
    EXPECT_EQ(w.length, 512) << selector;
    EXPECT_EQ(w.count, 32) << selector;
  }
  s.selector = "uniform";
  EXPECT_EQ(jobs::calibrationWindows(s, 256, true).length, 256);  // a short context caps the window
  EXPECT_EQ(jobs::calibrationWindows(s, 256, true).count, 64);
  s.selector = "ars";
  EXPECT_EQ(jobs::calibrationWindows(s, 64, true).length, 64);
  EXPECT_EQ(jobs::calibrationWindows(s, 64, true).count, 256);
  s.calibLength = 300;
  s.calibSamples = 7;
  EXPECT_EQ(jobs::calibrationWindows(s, 1024, true).length, 300);
  EXPECT_EQ(jobs::calibrationWindows(s, 1024, true).count, 7);
  EXPECT_EQ(jobs::calibrationWindows(s, 256, true).length, 256);
  // Classifiers sample examples: 32 by default, each up to the context.
  api::JobSpec c;
  EXPECT_EQ(jobs::calibrationWindows(c, 512, false).count, 32);
  EXPECT_EQ(jobs::calibrationWindows(c, 512, false).length, 512);
  c.calibSamples = 5;
  EXPECT_EQ(jobs::calibrationWindows(c, 512, false).count, 5);
}

TEST(CalibrationWindows, NegativeCountsAndLengthsAreRefused) {
  api::JobSpec s = valid();
  s.calibSamples = -1;
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("must not be negative"));
  s = valid();
  s.calibLength = -5;
  EXPECT_THAT(errorOf([&] { jobs::validateSpec(s); }), HasSubstr("window length must not be negative"));
}
