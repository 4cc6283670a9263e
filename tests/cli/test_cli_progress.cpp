// Progress that says how long: the report line (count, percentage, rate, elapsed time, ETA, the end of
// a time budget), plain lines off a terminal, and ARS's --time-budget through the CLI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <sstream>
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
  EXPECT_THAT(line, HasSubstr("79/1000 steps  7.9%"));  // counts carry their unit
  EXPECT_THAT(line, HasSubstr("12.3/s"));
  EXPECT_THAT(line, HasSubstr("elapsed 0:06"));
  EXPECT_THAT(line, HasSubstr("ETA 1:15"));
  // Slow steps read as seconds each; a time budget nearer than the ETA is named instead.
  EXPECT_THAT(cli::progressText("ars", 2, 100, 5.0), HasSubstr("2.5 s each"));
  const std::string capped = cli::progressText("ars", 79, 1000, 6.4, 30.0);
  EXPECT_THAT(capped, HasSubstr("time budget ends in 0:30"));
  EXPECT_THAT(capped, Not(HasSubstr("ETA")));
  EXPECT_THAT(cli::progressText("ars", 44, 100000, 3.1, -0.1), HasSubstr("time budget reached"));
  // Done: no ETA. A stage-named evaluation counts windows; training figures go at the end.
  EXPECT_THAT(cli::progressText("perplexity (after)", 613, 613, 20.0), Not(HasSubstr("ETA")));
  EXPECT_THAT(cli::progressText("perplexity (after)", 613, 613, 20.0), HasSubstr("613/613 windows"));
  EXPECT_THAT(cli::progressText("ars", 79, 1000, 6.4, std::nan(""), "loss 3.214  budget 0.620"),
              HasSubstr("ETA 1:15  loss 3.214  budget 0.620"));
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

// Issue 19: off a terminal the evaluation passes are named, counts carry their units, and ARS lines
// carry the loss and budget it last logged.
TEST(CliProgress, PlainLinesNameTheEvaluationPassesAndShowArsLossAndBudget) {
  const std::string model = std::string(RANKLAB_SOURCE_DIR) + "/resources/models/gpt-mini";
  const std::string data = std::string(RANKLAB_SOURCE_DIR) + "/resources/data/lm/";
  const auto r =
      test::runCli("compress " + model + " --select ars --keep 0.5 --ars-steps 20 --log-every 5 " +
                   "--no-early-stop --calib " + data + "valid.txt --calib-samples 4 --calib-len 64 " +
                   "--batch 2 --eval " + data + "test.txt --max-docs 1 --no-store");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "carriage returns off a terminal:\n" << r.err;
  EXPECT_THAT(r.err, HasSubstr("perplexity (before)")) << r.err;
  EXPECT_THAT(r.err, HasSubstr("perplexity (after)")) << r.err;
  EXPECT_THAT(r.err, HasSubstr(" windows ")) << r.err;
  EXPECT_THAT(r.err, HasSubstr("/20 steps")) << r.err;
  bool arsFigures = false;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);)
    arsFigures = arsFigures || (line.rfind("ars ", 0) == 0 && line.find("  loss ") != std::string::npos &&
                                line.find("  budget ") != std::string::npos);
  EXPECT_TRUE(arsFigures) << "no ars line with its loss and budget:\n" << r.err;
  EXPECT_THAT(r.out, HasSubstr("20 of 20 steps in")) << r.out;  // and why it stopped there
  EXPECT_THAT(r.out, HasSubstr("step limit")) << r.out;
}

// On a terminal (script(1) gives the program a pseudo-terminal) one line is redrawn in place and
// says how long is left.
TEST(CliProgress, OnATerminalTheLineIsRedrawnWithAnEta) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "script(1) is not installed";
  const std::string model = std::string(RANKLAB_SOURCE_DIR) + "/resources/models/gpt-mini";
  const std::string calib = std::string(RANKLAB_SOURCE_DIR) + "/resources/data/lm/valid.txt";
  const std::string cli = std::string(RANKLAB_BINARY_DIR) + "/app/ranklab-cli compress " + model +
                          " --select ars --keep 0.5 --ars-steps 60 --no-early-stop --calib " + calib +
                          " --calib-samples 4 --calib-len 64 --batch 2 --no-store";
  const auto r = test::runBinary("script", "-qec '" + cli + "' /dev/null");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find('\r'), std::string::npos) << r.out;
  EXPECT_THAT(r.out, HasSubstr("ETA ")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("/60 steps")) << r.out;
}
