// The job panel: the ARS time budget (shown as "none" at 0, carried into the job spec for ARS only,
// set back from a spec), the mouse wheel over unfocused fields, row labels with shortcuts, and the
// memory and speed options with the estimate of the memory the job needs.
#include <gtest/gtest.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTest>
#include <QThread>
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

// Issue 18: shipped models are listed by name (their path behind it), a run that would measure
// nothing cannot start by accident, --max-docs and manual ranks have fields of their own.
TEST(JobPanelModels, ShippedModelsByNameRecentOnesByPath) {
  JobPanel panel;
  const QString shipped = QStringLiteral("/opt/ranklab/share/ranklab/models/gpt-mini");
  const QString recent = QStringLiteral("/home/me/models/tinyllama");
  panel.setModelChoices({shipped}, {recent, shipped});
  QComboBox* box = panel.modelBox();
  ASSERT_EQ(box->count(), 2);  // the shipped one is not repeated among the recent ones
  EXPECT_EQ(box->itemText(0), QStringLiteral("gpt-mini"));
  EXPECT_EQ(box->itemText(1), recent);
  box->setCurrentIndex(0);
  EXPECT_EQ(box->currentText(), QStringLiteral("gpt-mini"));
  EXPECT_EQ(panel.modelPath(), shipped);
  EXPECT_EQ(panel.spec().model, shipped.toStdString());
  box->setCurrentText(QStringLiteral("/data/other"));  // typed: used as typed
  EXPECT_EQ(panel.modelPath(), QStringLiteral("/data/other"));
  ranklab::api::JobSpec spec = panel.spec();
  spec.model = shipped.toStdString();
  panel.setSpec(spec);
  EXPECT_EQ(box->currentIndex(), 0);
  EXPECT_EQ(box->currentText(), QStringLiteral("gpt-mini"));
}

TEST(JobPanelData, RunWaitsForEvaluationDataAndMaxDocumentsReachesTheSpec) {
  JobPanel panel;
  panel.setModelChoices({}, {});
  panel.modelBox()->setCurrentText(QStringLiteral("/models/gpt-mini"));
  EXPECT_TRUE(panel.problem().contains("evaluation data")) << panel.problem().toStdString();
  EXPECT_FALSE(panel.runButton()->isEnabled());
  panel.evalEdit()->setText(QStringLiteral("/data/test.txt"));
  EXPECT_TRUE(panel.problem().isEmpty()) << panel.problem().toStdString();
  EXPECT_TRUE(panel.runButton()->isEnabled());

  QSpinBox* docs = panel.maxDocumentsBox();
  EXPECT_EQ(docs->text(), QStringLiteral("all"));
  EXPECT_EQ(panel.spec().maxEvalDocuments, 0);
  docs->setValue(6);
  EXPECT_EQ(panel.spec().maxEvalDocuments, 6);
  ranklab::api::JobSpec spec = panel.spec();
  spec.maxEvalDocuments = 12;
  panel.setSpec(spec);
  EXPECT_EQ(docs->value(), 12);
}

TEST(JobPanelData, AMultipleChoiceSetAloneIsEvaluationDataAndReachesTheSpec) {
  JobPanel panel;
  panel.setModelChoices({}, {});
  panel.modelBox()->setCurrentText(QStringLiteral("/models/gpt-mini"));
  EXPECT_FALSE(panel.problem().isEmpty());
  panel.choicesEdit()->setText(QStringLiteral(" /data/next-words.jsonl "));
  EXPECT_TRUE(panel.problem().isEmpty()) << panel.problem().toStdString();
  EXPECT_EQ(panel.spec().evalChoices, "/data/next-words.jsonl");
  EXPECT_TRUE(panel.spec().evalText.empty());
  ranklab::api::JobSpec spec = panel.spec();
  spec.evalChoices = "/data/arc.jsonl";
  panel.setSpec(spec);
  EXPECT_EQ(panel.choicesEdit()->text(), QStringLiteral("/data/arc.jsonl"));
}

TEST(JobPanelManual, ManualRanksAreParsedIntoTheSpecOrSayWhatIsWrong) {
  JobPanel panel;
  panel.modelBox()->setCurrentText(QStringLiteral("/models/gpt-mini"));
  panel.evalEdit()->setText(QStringLiteral("/data/test.txt"));
  panel.show();
  const int manual = panel.selectorBox()->findData(QStringLiteral("manual"));
  ASSERT_GE(manual, 0);
  EXPECT_FALSE(panel.manualRanksEdit()->isVisible());
  panel.selectorBox()->setCurrentIndex(manual);
  EXPECT_TRUE(panel.manualRanksEdit()->isVisible());
  EXPECT_TRUE(panel.problem().contains("at least one op")) << panel.problem().toStdString();
  panel.manualRanksEdit()->setText(QStringLiteral("layers.*.attn.*=32, layers.0.mlp.up = 0.5"));
  EXPECT_TRUE(panel.problem().isEmpty()) << panel.problem().toStdString();
  const auto spec = panel.spec();
  EXPECT_EQ(spec.selector, "manual");
  ASSERT_EQ(spec.manualRanks.size(), 2u);
  EXPECT_EQ(spec.manualRanks.at("layers.*.attn.*"), 32.0);
  EXPECT_EQ(spec.manualRanks.at("layers.0.mlp.up"), 0.5);
  for (const char* bad : {"layers.0.attn.q", "=4", "q=abc", "q=2.5", "q=-1"}) {
    panel.manualRanksEdit()->setText(QString::fromLatin1(bad));
    EXPECT_FALSE(panel.problem().isEmpty()) << bad;
    EXPECT_FALSE(panel.runButton()->isEnabled()) << bad;
  }
  // A spec's manual ranks come back into the field.
  ranklab::api::JobSpec back = spec;
  panel.setSpec(back);
  EXPECT_EQ(panel.spec().manualRanks, spec.manualRanks);
}

namespace {

void choose(QComboBox* box, const char* data) {
  const int i = box->findData(QString::fromLatin1(data));
  ASSERT_GE(i, 0) << data;
  box->setCurrentIndex(i);
}

}  // namespace

// The memory and speed options reach the spec where the chosen method takes them, and only there
// (the job refuses a randomized SVD or compressed propagation without ranks known up front).
TEST(JobPanelScale, OptionsReachTheSpecOnlyWhereTheMethodTakesThem) {
  JobPanel panel;
  choose(panel.selectorBox(), "uniform");
  choose(panel.decompositionBox(), "whiten");
  EXPECT_TRUE(panel.randomizedSvdBox()->isEnabled());
  EXPECT_TRUE(panel.propagateCompressedBox()->isEnabled());
  EXPECT_FALSE(panel.checkpointingBox()->isEnabled()) << "nothing is trained";
  panel.randomizedSvdBox()->setChecked(true);
  panel.propagateCompressedBox()->setChecked(true);
  panel.threadsBox()->setValue(3);
  panel.calibLengthBox()->setValue(256);
  auto s = panel.spec();
  EXPECT_TRUE(s.randomizedSvd);
  EXPECT_TRUE(s.propagateCompressed);
  EXPECT_EQ(s.threads, 3);
  EXPECT_EQ(s.calibLength, 256);

  // Plain SVD collects no calibration statistics to propagate.
  choose(panel.decompositionBox(), "svd");
  EXPECT_FALSE(panel.propagateCompressedBox()->isEnabled());
  EXPECT_FALSE(panel.spec().propagateCompressed);
  EXPECT_TRUE(panel.spec().randomizedSvd);

  // ARS learns the ranks: no randomized SVD; it trains, so checkpointing applies.
  choose(panel.selectorBox(), "ars");
  EXPECT_FALSE(panel.randomizedSvdBox()->isEnabled());
  EXPECT_FALSE(panel.spec().randomizedSvd);
  EXPECT_TRUE(panel.checkpointingBox()->isEnabled());
  EXPECT_EQ(panel.spec().activationCheckpointing, "auto");
  choose(panel.checkpointingBox(), "on");
  EXPECT_EQ(panel.spec().activationCheckpointing, "on");

  // Fine-tuning after a uniform selection trains too.
  choose(panel.selectorBox(), "uniform");
  EXPECT_FALSE(panel.checkpointingBox()->isEnabled());
  panel.finetuneStepsBox()->setValue(10);
  EXPECT_TRUE(panel.checkpointingBox()->isEnabled());
}

TEST(JobPanelScale, SetSpecShowsEveryOption) {
  JobPanel panel;
  ranklab::api::JobSpec spec = panel.spec();
  spec.decomposition = "asvd";
  spec.selector = "manual";
  spec.manualRanks = {{"layers.*", 0.5}};
  spec.randomizedSvd = true;
  spec.propagateCompressed = true;
  spec.activationCheckpointing = "off";
  spec.threads = 2;
  spec.calibLength = 64;
  panel.setSpec(spec);
  EXPECT_TRUE(panel.randomizedSvdBox()->isChecked());
  EXPECT_TRUE(panel.propagateCompressedBox()->isChecked());
  EXPECT_EQ(panel.checkpointingBox()->currentData().toString(), QStringLiteral("off"));
  EXPECT_EQ(panel.threadsBox()->value(), 2);
  EXPECT_EQ(panel.calibLengthBox()->value(), 64);
  const auto back = panel.spec();
  EXPECT_TRUE(back.randomizedSvd);
  EXPECT_TRUE(back.propagateCompressed);
  EXPECT_EQ(back.activationCheckpointing, "off");
  EXPECT_EQ(back.threads, 2);
  EXPECT_EQ(back.calibLength, 64);
  EXPECT_EQ(panel.threadsBox()->text(), QStringLiteral("2"));
  // The job refuses more than 4 x the hardware threads; the box offers no more.
  EXPECT_EQ(panel.threadsBox()->maximum(), 4 * std::max(1, QThread::idealThreadCount()));
  panel.threadsBox()->setValue(0);
  EXPECT_EQ(panel.threadsBox()->text(), QStringLiteral("auto"));
}

// Edits in quick succession give one specEdited() after the pause, carrying the last edit.
TEST(JobPanelScale, SpecEditedFiresOnceAfterAPauseInEditing) {
  JobPanel panel;
  QSignalSpy edited(&panel, &JobPanel::specEdited);
  panel.keepBox()->setValue(0.3);
  panel.threadsBox()->setValue(1);
  panel.randomizedSvdBox()->setChecked(true);
  panel.evalEdit()->setText(QStringLiteral("eval.txt"));
  EXPECT_EQ(edited.count(), 0) << "not before the pause";
  ASSERT_TRUE(edited.wait(JobPanel::kEditPauseMs * 20));
  QTest::qWait(JobPanel::kEditPauseMs * 2);
  ASSERT_EQ(edited.count(), 1);
  const auto spec = qvariant_cast<ranklab::api::JobSpec>(edited.first().at(0));
  EXPECT_DOUBLE_EQ(spec.keep, 0.3);
  EXPECT_EQ(spec.threads, 1);
  EXPECT_TRUE(spec.randomizedSvd);
  EXPECT_EQ(spec.evalText, "eval.txt");
}

TEST(JobPanelScale, TheMemoryEstimateShowsItsLineAndTheWholePlanAsTooltip) {
  JobPanel panel;
  auto* label = panel.findChild<QLabel*>(QStringLiteral("memoryEstimate"));
  ASSERT_NE(label, nullptr);
  panel.setMemoryEstimate(QStringLiteral("About 3.20 GB at peak"),
                          QStringLiteral("stage  peak\nars  3.20 GB"), false);
  EXPECT_EQ(panel.memoryEstimate(), QStringLiteral("About 3.20 GB at peak"));
  EXPECT_TRUE(label->toolTip().contains(QStringLiteral("ars  3.20 GB")));
  EXPECT_TRUE(label->styleSheet().isEmpty());
  panel.setMemoryEstimate(QStringLiteral("About 90 GB at peak; only 24 GB is available"), {}, true);
  EXPECT_TRUE(label->styleSheet().contains(QStringLiteral("bold")));
  EXPECT_TRUE(label->toolTip().isEmpty());
}
