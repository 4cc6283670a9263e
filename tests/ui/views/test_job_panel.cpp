// The job panel's ARS time budget: shown as "none" at 0, carried into the job spec for ARS only, and
// set back from a spec.
#include <gtest/gtest.h>

#include <QComboBox>
#include <QSpinBox>

#include "widgets/job_panel.h"

using ranklab::widgets::JobPanel;

TEST(JobPanelTimeBudget, ZeroIsNoneAndTheValueReachesAnArsSpecOnly) {
  JobPanel panel;
  QSpinBox* budget = panel.timeBudgetBox();
  ASSERT_NE(budget, nullptr);
  EXPECT_EQ(budget->value(), 0);
  EXPECT_EQ(budget->text(), QStringLiteral("none"));

  ranklab::api::JobSpec spec = panel.spec();
  spec.selector = "ars";
  spec.arsTimeBudget = 90.0;
  panel.setSpec(spec);
  EXPECT_EQ(budget->value(), 90);
  EXPECT_EQ(budget->text(), QStringLiteral("90 s"));
  EXPECT_DOUBLE_EQ(panel.spec().arsTimeBudget, 90.0);

  // Another selector takes no time budget (the job would refuse one).
  const int uniform = panel.selectorBox()->findData(QStringLiteral("uniform"));
  ASSERT_GE(uniform, 0);
  panel.selectorBox()->setCurrentIndex(uniform);
  EXPECT_DOUBLE_EQ(panel.spec().arsTimeBudget, 0.0);
}
