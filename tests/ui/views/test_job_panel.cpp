// The job panel: the ARS time budget (shown as "none" at 0, carried into the job spec for ARS only,
// set back from a spec), the mouse wheel over unfocused fields, and row labels with shortcuts.
#include <gtest/gtest.h>

#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QWheelEvent>

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

// The wheel over a field without the keyboard focus leaves its value alone (it scrolls the dock).
TEST(JobPanelWheel, AnUnfocusedSpinBoxIgnoresTheWheel) {
  JobPanel panel;
  panel.show();
  QSpinBox* budget = panel.timeBudgetBox();
  ASSERT_FALSE(budget->hasFocus());
  QWheelEvent wheel(QPointF(5, 5), budget->mapToGlobal(QPointF(5, 5)), QPoint(), QPoint(0, 120), Qt::NoButton,
                    Qt::NoModifier, Qt::NoScrollPhase, false);
  QApplication::sendEvent(budget, &wheel);
  EXPECT_EQ(budget->value(), 0);
  // The same event does step a spin box without the guard (so the check above can fail).
  QSpinBox plain;
  plain.setRange(0, 100);
  plain.show();
  QWheelEvent again(QPointF(5, 5), plain.mapToGlobal(QPointF(5, 5)), QPoint(), QPoint(0, 120), Qt::NoButton,
                    Qt::NoModifier, Qt::NoScrollPhase, false);
  QApplication::sendEvent(&plain, &again);
  EXPECT_EQ(plain.value(), 1);
}

// "&Model" and the other rows made of several widgets show their labels without a literal "&".
TEST(JobPanelLabels, RowLabelsNameTheirFieldsInsteadOfShowingAmpersands) {
  JobPanel panel;
  int withBuddy = 0;
  for (QLabel* label : panel.findChildren<QLabel*>()) {
    if (!label->text().contains(QLatin1Char('&'))) continue;
    EXPECT_NE(label->buddy(), nullptr) << label->text().toStdString() << " shows a literal '&'";
    ++withBuddy;
  }
  EXPECT_GE(withBuddy, 4);  // Model, Calibration, Evaluation, Budget p at least
}

// However short the dock, the buttons and the progress stay in view below the scrolling form.
TEST(JobPanelLayout, RunAndTheProgressStayInViewWhenTheDockIsShort) {
  JobPanel panel;
  panel.resize(420, 320);  // far shorter than the form
  panel.show();
  QApplication::processEvents();
  ASSERT_EQ(panel.height(), 320) << "the panel must fit a short dock (its form scrolls)";
  const QRect visible = panel.rect();
  for (QWidget* w :
       {static_cast<QWidget*>(panel.runButton()), static_cast<QWidget*>(panel.queueButton()),
        static_cast<QWidget*>(panel.cancelButton()), static_cast<QWidget*>(panel.progressBar())}) {
    const QRect r(w->mapTo(&panel, QPoint(0, 0)), w->size());
    EXPECT_TRUE(visible.contains(r)) << w->metaObject()->className() << " at y " << r.y() << ".."
                                     << r.bottom() << " outside the panel's 0.." << visible.bottom();
  }
  // The form itself scrolls: a field of its last group lies below the visible part.
  QWidget* steps = panel.finetuneStepsBox();
  ASSERT_TRUE(steps->isVisible());
  EXPECT_FALSE(visible.contains(QRect(steps->mapTo(&panel, QPoint(0, 0)), steps->size())));
}
