// The sweep dialog (widgets only, offscreen): its lists parse, the Queue button counts the runs and
// is disabled with the reason while the grid cannot run, and request() carries exactly what was
// ticked and typed on top of the job panel's job.
#include <gtest/gtest.h>

#include <QDialogButtonBox>
#include <QLabel>
#include <QPushButton>

#include "widgets/sweep_dialog.h"

using ranklab::widgets::SweepDialog;

namespace {

ranklab::api::JobSpec baseJob() {
  ranklab::api::JobSpec s;
  s.model = "/models/gpt-mini";
  s.calib = "/data/valid.txt";
  s.decomposition = "fwsvd";
  s.selector = "ars";
  s.seed = 3;
  s.finetuneSteps = 0;
  return s;
}

QPushButton* okButton(SweepDialog& d) {
  return d.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
}

}  // namespace

TEST(SweepDialog, ListsParseWithCommasSpacesAndRanges) {
  std::vector<double> keeps;
  QString error;
  ASSERT_TRUE(ranklab::widgets::parseNumberList("0.3, 0.5 0.7;0.5", &keeps, &error));
  EXPECT_EQ(keeps, (std::vector<double>{0.3, 0.5, 0.7}));  // the repeated 0.5 once
  EXPECT_FALSE(ranklab::widgets::parseNumberList("0.3, half", &keeps, &error));
  EXPECT_TRUE(error.contains("'half' is not a number"));
  std::vector<uint64_t> seeds;
  ASSERT_TRUE(ranklab::widgets::parseSeedList("0-2, 7", &seeds, &error));
  EXPECT_EQ(seeds, (std::vector<uint64_t>{0, 1, 2, 7}));
  EXPECT_FALSE(ranklab::widgets::parseSeedList("4-1", &seeds, &error));
  EXPECT_FALSE(ranklab::widgets::parseSeedList("-1", &seeds, &error));
}

TEST(SweepDialog, StartsFromTheJobAndCountsTheRuns) {
  SweepDialog d(baseJob());
  // The panel's decomposition and selector are ticked, its seed filled in, three budgets offered.
  auto r = d.request();
  EXPECT_EQ(r.decompositions, (std::vector<std::string>{"fwsvd"}));
  EXPECT_EQ(r.selectors, (std::vector<std::string>{"ars"}));
  EXPECT_EQ(r.seeds, (std::vector<uint64_t>{3}));
  EXPECT_EQ(r.keeps, (std::vector<double>{0.3, 0.5, 0.7}));
  EXPECT_EQ(d.pointCount(), 3);
  d.setChecked("svd", true);
  d.setChecked("uniform", true);
  d.setSeedsText("0 1");
  d.setSweepName("study-1");
  EXPECT_EQ(d.pointCount(), 2 * 2 * 3 * 2);
  EXPECT_TRUE(okButton(d)->isEnabled());
  EXPECT_EQ(okButton(d)->text(), QStringLiteral("&Queue 24 Runs"));
  r = d.request();
  EXPECT_EQ(r.base.model, "/models/gpt-mini");
  EXPECT_EQ(r.sweepId, "study-1");
  EXPECT_EQ(r.decompositions, (std::vector<std::string>{"svd", "fwsvd"}));
}

TEST(SweepDialog, SaysWhyTheGridCannotRun) {
  SweepDialog d(baseJob());
  auto* summary = d.findChild<QLabel*>("summary");
  ASSERT_NE(summary, nullptr);
  auto expectProblem = [&](const char* fragment) {
    EXPECT_TRUE(d.problem().contains(fragment)) << d.problem().toStdString();
    EXPECT_FALSE(okButton(d)->isEnabled());
    EXPECT_EQ(summary->text(), d.problem());
    EXPECT_EQ(d.pointCount(), 0);
  };
  d.setBudgetsText("0.3, 1.5");
  expectProblem("outside (0, 1]");
  d.setBudgetsText("");
  expectProblem("at least one budget");
  d.setBudgetsText("0.5");
  d.setSeedsText("x");
  expectProblem("Seeds:");
  d.setSeedsText("0");
  d.setSweepName("a b");
  expectProblem("sweep name");
  d.setSweepName("");
  d.setChecked("rankdyna", true);
  expectProblem("tick only SVD");
  d.setChecked("fwsvd", false);
  d.setChecked("svd", true);
  expectProblem("fine-tuning steps");
  d.setChecked("rankdyna", false);
  d.setChecked("ars", false);
  expectProblem("at least one rank selector");
  d.setChecked("uniform", true);
  EXPECT_TRUE(d.problem().isEmpty());
  EXPECT_TRUE(okButton(d)->isEnabled());
  // Without calibration data only plain SVD with calibration-free selectors can run.
  auto noCalib = baseJob();
  noCalib.calib.clear();
  SweepDialog e(noCalib);
  EXPECT_TRUE(e.problem().contains("calibration data")) << e.problem().toStdString();
  e.setChecked("fwsvd", false);
  e.setChecked("ars", false);
  e.setChecked("svd", true);
  e.setChecked("energy", true);
  EXPECT_TRUE(e.problem().isEmpty()) << e.problem().toStdString();
}
