// Progress that says how long: the report line (count, percentage, rate, elapsed time, ETA, the end of
// a time budget), plain lines off a terminal, and ARS's --time-budget through the CLI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "cli/terminal.h"
#include "support/cli_runner.h"
#include "test_paths.h"

using namespace ranklab;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(CliProgress, ClockTextIsMinutesAndSecondsThenHours) {
  EXPECT_EQ(cli::clockText(0.2), "0:00");
  EXPECT_EQ(cli::clockText(75.4), "1:15");
  EXPECT_EQ(cli::clockText(3725.0), "1:02:05");
}

TEST(CliProgress, TheLineHasRateElapsedAndEta) {
  // 79 of 1000 steps in 6.4 s: 12.3 steps/s; 921 left at that rate: 74.6 s.
  const std::string line = cli::progressText("ars", 79, 1000, 6.4);
  EXPECT_THAT(line, HasSubstr("ars"));
  EXPECT_THAT(line, HasSubstr("79/1000  7.9%"));
  EXPECT_THAT(line, HasSubstr("12.3/s"));
  EXPECT_THAT(line, HasSubstr("elapsed 0:06"));
  EXPECT_THAT(line, HasSubstr("ETA 1:15"));
  // Slow steps read as seconds each; a time budget nearer than the ETA is named instead.
  EXPECT_THAT(cli::progressText("ars", 2, 100, 5.0), HasSubstr("2.5 s each"));
  const std::string capped = cli::progressText("ars", 79, 1000, 6.4, 30.0);
  EXPECT_THAT(capped, HasSubstr("time budget ends in 0:30"));
  EXPECT_THAT(capped, Not(HasSubstr("ETA")));
  EXPECT_THAT(cli::progressText("ars", 44, 100000, 3.1, -0.1), HasSubstr("time budget reached"));
  // Done: no ETA.
  EXPECT_THAT(cli::progressText("perplexity", 613, 613, 20.0), Not(HasSubstr("ETA")));
}

// Off a terminal (stderr is a file here), progress is plain lines, the early-stopped ARS phase
// included, and the report says why ARS stopped.
TEST(CliProgress, ArsStopsAtItsTimeBudgetAndSaysSoInPlainLines) {
  const std::string model = std::string(RANKLAB_SOURCE_DIR) + "/resources/models/gpt-mini";
  const std::string calib = std::string(RANKLAB_SOURCE_DIR) + "/resources/data/lm/valid.txt";
  const auto r =
      test::runCli("compress " + model + " --select ars --keep 0.5 --ars-steps 100000 --time-budget 2 " +
                   "--calib " + calib + " --calib-samples 8 --calib-len 64 --batch 2 --no-store");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("of 100000 steps in"));
  EXPECT_THAT(r.out, HasSubstr("stopped at the time budget (--time-budget)"));
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "carriage returns off a terminal:\n" << r.err;
  EXPECT_THAT(r.err, HasSubstr("\nars "));
  EXPECT_THAT(r.err, HasSubstr("/100000"));

  const auto refused = test::runCli("compress " + model + " --select uniform --time-budget 5 --no-store");
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.err, HasSubstr("--time-budget ends ARS training early: use it with --select ars"));
}
