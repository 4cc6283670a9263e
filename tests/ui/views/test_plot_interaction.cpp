// The interaction layer every plot view shares (widgets/plot_interaction.h), on real views with
// hand-built runs: hover read-outs for a known bar, heatmap cell, spectrum index and mask frame,
// wheel zoom and double-click reset, a legend click that hides and shows a series, the crosshair
// linked across stacked plots and EMA smoothing of loss curves.
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QApplication>
#include <QMouseEvent>
#include <QSlider>
#include <QTest>
#include <QWheelEvent>

#include "views/sample_runs.h"
#include "widgets/budget_curve_view.h"
#include "widgets/mask_evolution_view.h"
#include "widgets/plot_interaction.h"
#include "widgets/rank_allocation_view.h"
#include "widgets/spectrum_view.h"

using namespace ranklab;
using namespace ranklab::widgets;

namespace {

// Lays the view out and draws it, so axes map coordinates to real pixels.
template <typename View>
void showLaidOut(View& view) {
  view.resize(1000, 760);
  view.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
  view.plot()->replot();
}

QPoint pixelOf(QCPAxisRect* rect, double key, double value) {
  return QPoint(int(std::lround(rect->axis(QCPAxis::atBottom)->coordToPixel(key))),
                int(std::lround(rect->axis(QCPAxis::atLeft)->coordToPixel(value))));
}

}  // namespace

TEST(PlotInteraction, HoverNamesABarsOpRankEnergyStorageAndBaseline) {
  RankAllocationView view;
  view.setRun(test::sampleRun(1));
  showLaidOut(view);
  // Bar 0 is layers.0.attn.q at rank 16 (sample_runs.h); hover half-way up it.
  const QString bar = view.hoverText(pixelOf(view.barRect(), 0.0, 8.0));
  EXPECT_TRUE(bar.contains("layers.0.attn.q")) << bar.toStdString();
  EXPECT_TRUE(bar.contains("rank 16 of 256")) << bar.toStdString();
  EXPECT_TRUE(bar.contains("energy kept")) << bar.toStdString();
  EXPECT_TRUE(bar.contains("stored factorized")) << bar.toStdString();
  EXPECT_TRUE(bar.contains("uniform baseline: rank 63")) << bar.toStdString();
  // Between bars: nothing.
  EXPECT_TRUE(view.hoverText(pixelOf(view.barRect(), 0.5, 8.0)).isEmpty());
  // Heatmap cell (q, layer 0): the same op as a kept fraction of its full rank.
  QCPAxisRect* map = view.plot()->axisRect(1);
  ASSERT_NE(map, view.barRect());
  const QString cell = view.hoverText(pixelOf(map, 0.0, 0.0));
  EXPECT_TRUE(cell.contains(QString::fromUtf8("layer 0 \u00b7 q"))) << cell.toStdString();
  EXPECT_TRUE(cell.contains("rank 16 of 256")) << cell.toStdString();
  EXPECT_EQ(view.interaction()->hoverTextAt(pixelOf(map, 0.0, 0.0)), cell);
}

TEST(PlotInteraction, WheelZoomsAndDoubleClickRestoresTheRange) {
  RankAllocationView view;
  view.setRun(test::sampleRun(1));
  showLaidOut(view);
  QCPAxis* x = view.barRect()->axis(QCPAxis::atBottom);
  const QCPRange home = x->range();
  const QPoint centre = pixelOf(view.barRect(), 5.5, 10.0);
  QWheelEvent wheel(QPointF(centre), QPointF(view.plot()->mapToGlobal(centre)), QPoint(), QPoint(0, 240),
                    Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
  QApplication::sendEvent(view.plot(), &wheel);
  EXPECT_LT(x->range().size(), home.size() * 0.9) << "the wheel zooms in along the ops";
  QTest::mouseDClick(view.plot(), Qt::LeftButton, Qt::NoModifier, centre);
  EXPECT_DOUBLE_EQ(x->range().lower, home.lower);
  EXPECT_DOUBLE_EQ(x->range().upper, home.upper);
}

TEST(PlotInteraction, ALegendClickHidesAndShowsItsSeries) {
  BudgetCurveView view;
  std::vector<api::RunRecord> runs;
  for (int i = 0; i < 3; ++i)
    runs.push_back(test::sampleRun(i + 1, i == 0 ? "ars" : "uniform", 0.3 + 0.2 * i).run);
  view.setRuns(runs);
  showLaidOut(view);
  QCPLegend* legend = view.plot()->legend;
  QCPPlottableLegendItem* item = nullptr;
  for (int i = 0; i < legend->itemCount(); ++i)
    if (auto* entry = qobject_cast<QCPPlottableLegendItem*>(legend->item(i)))
      if (entry->plottable()->name() == "svd+uniform") item = entry;
  ASSERT_NE(item, nullptr);
  QCPAbstractPlottable* series = item->plottable();
  ASSERT_TRUE(series->visible());
  const QPoint at = item->outerRect().center();
  QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier, at);
  EXPECT_FALSE(series->visible()) << "a click on the legend entry hides the series";
  QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier, at);
  EXPECT_TRUE(series->visible()) << "a second click shows it again";
}

TEST(PlotInteraction, SpectrumAndMaskHoverReadTheDataUnderThePointer) {
  SpectrumView spectrum;
  const api::RunData run = test::sampleRun(2);
  spectrum.setOp(run.ops[0], {}, "svd");
  showLaidOut(spectrum);
  QCPAxisRect* rect = spectrum.plot()->axisRect();
  const QPoint at(int(std::lround(rect->axis(QCPAxis::atBottom)->coordToPixel(3.0))), rect->center().y());
  const QString text = spectrum.hoverText(at);
  // s_3 of the decomposed spectrum is 2 * 10 exp(-3 / 40) = 18.555; the op's rank 16 keeps it.
  EXPECT_TRUE(text.contains("i = 3: singular value 18.55")) << text.toStdString();
  EXPECT_TRUE(text.contains("kept by the rank 16")) << text.toStdString();

  MaskEvolutionView mask;
  mask.setRun(run);
  showLaidOut(mask);
  EXPECT_DOUBLE_EQ(mask.targetBudget(), 0.5);  // the run's keep target, drawn as a line
  QCPAxisRect* heat = mask.plot()->axisRect(0);
  const QPoint cell(int(std::lround(heat->axis(QCPAxis::atBottom)->coordToPixel(20.0))),
                    int(std::lround(heat->axis(QCPAxis::atLeft)->coordToPixel(1.0))));
  const QString frame = mask.hoverText(cell);
  // The frame at step 20 is the third of five: every rank 2 above the final one; op 1
  // (layers.0.attn.k) ends at 17, so 19 of 256 = 7.4%.
  EXPECT_TRUE(frame.contains(QString::fromUtf8("layers.0.attn.k \u00b7 step 20"))) << frame.toStdString();
  EXPECT_TRUE(frame.contains("kept rank 19 of 256 (7.4%)")) << frame.toStdString();
  QCPAxisRect* curves = mask.plot()->axisRect(1);
  const QPoint curve(int(std::lround(curves->axis(QCPAxis::atBottom)->coordToPixel(21.0))),
                     curves->center().y());
  EXPECT_TRUE(mask.hoverText(curve).contains("task loss at step 20: 2.8"))
      << mask.hoverText(curve).toStdString();
}

TEST(PlotInteraction, TheCrosshairIsLinkedAcrossTheStackedStepPlots) {
  MaskEvolutionView mask;
  const api::RunData run = test::sampleRun(2);
  mask.setRun(run);
  mask.selectOp(1);  // the mask-bits panel: a third rect on the step axis
  showLaidOut(mask);
  ASSERT_EQ(mask.plot()->axisRects().size(), 3);
  QCPAxisRect* heat = mask.plot()->axisRect(0);
  QCPAxisRect* curves = mask.plot()->axisRect(1);
  const QPoint at(int(std::lround(curves->axis(QCPAxis::atBottom)->coordToPixel(30.0))),
                  curves->center().y());
  QMouseEvent move(QEvent::MouseMove, QPointF(at), QPointF(mask.plot()->mapToGlobal(at)), Qt::NoButton,
                   Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(mask.plot(), &move);
  PlotInteraction* interaction = mask.interaction();
  ASSERT_TRUE(interaction->crosshairVisible());
  EXPECT_NEAR(interaction->crosshairKey(), 30.0, 0.5) << "step under the pointer, absolute error";
  // One line in each of the three rects, at the same step (the step axes are synchronised).
  const std::vector<int> pixels = interaction->crosshairPixels();
  ASSERT_EQ(pixels.size(), 3u);
  const int expected =
      int(std::lround(heat->axis(QCPAxis::atBottom)->coordToPixel(interaction->crosshairKey())));
  for (int px : pixels) EXPECT_NEAR(px, expected, 1) << "pixels";
  QEvent leave(QEvent::Leave);
  QApplication::sendEvent(mask.plot(), &leave);
  EXPECT_FALSE(interaction->crosshairVisible());
}

TEST(PlotInteraction, SmoothingAveragesTheLossesAndLeavesTheKeptFractionsRaw) {
  MaskEvolutionView mask;
  api::RunData run = test::sampleRun(2);
  mask.setRun(run);
  PlotInteraction* interaction = mask.interaction();
  auto* slider = mask.findChild<QSlider*>(QStringLiteral("smoothingSlider"));
  ASSERT_NE(slider, nullptr);
  EXPECT_EQ(slider->value(), 0);
  EXPECT_EQ(slider->focusPolicy(), Qt::StrongFocus);  // the wheel needs focus first
  const int graphs = mask.plot()->graphCount();
  slider->setValue(50);
  EXPECT_DOUBLE_EQ(interaction->smoothing(), 0.5);
  QCPGraph* loss = nullptr;
  QCPGraph* budget = nullptr;
  for (int i = 0; i < mask.plot()->graphCount(); ++i) {
    const QString series = mask.plot()->graph(i)->property("series").toString();
    if (series == "task_loss") loss = mask.plot()->graph(i);
    if (series == "budget") budget = mask.plot()->graph(i);
  }
  ASSERT_NE(loss, nullptr);
  ASSERT_NE(budget, nullptr);
  QCPGraph* smooth = interaction->smoothedGraph(loss);
  ASSERT_NE(smooth, nullptr);
  EXPECT_EQ(interaction->smoothedGraph(budget), nullptr) << "kept fractions are not smoothed";
  EXPECT_EQ(mask.plot()->graphCount(), graphs + 1);
  // The debiased EMA of the raw losses, point for point; tolerance 1e-12 absolute.
  QVector<double> raw;
  for (auto it = loss->data()->constBegin(); it != loss->data()->constEnd(); ++it) raw << it->value;
  const QVector<double> expected = PlotInteraction::ema(raw, 0.5);
  ASSERT_EQ(smooth->data()->size(), raw.size());
  for (int i = 0; i < raw.size(); ++i)
    EXPECT_NEAR((smooth->data()->constBegin() + i)->value, expected[i], 1e-12) << i;
  EXPECT_LT(loss->pen().color().alpha(), 255) << "raw shown faint";
  // The legend click hides the pair; the hover names both values.
  QCPPlottableLegendItem* entry = mask.plot()->legend->itemWithPlottable(loss);
  ASSERT_NE(entry, nullptr);
  interaction->toggleLegendItem(entry);
  EXPECT_FALSE(smooth->visible());
  interaction->toggleLegendItem(entry);
  EXPECT_TRUE(smooth->visible());
  showLaidOut(mask);
  QCPAxisRect* curves = mask.plot()->axisRect(1);
  const QPoint at(int(std::lround(curves->axis(QCPAxis::atBottom)->coordToPixel(20.0))),
                  curves->center().y());
  EXPECT_TRUE(mask.hoverText(at).contains("(smoothed ")) << mask.hoverText(at).toStdString();
  slider->setValue(0);
  EXPECT_EQ(mask.plot()->graphCount(), graphs);
  EXPECT_EQ(loss->pen().color().alpha(), 255);
}

TEST(PlotInteraction, EmaIsDebiasedAndSkipsGaps) {
  const QVector<double> out = PlotInteraction::ema({1.0, 3.0, std::nan(""), 5.0}, 0.5);
  ASSERT_EQ(out.size(), 4);
  EXPECT_DOUBLE_EQ(out[0], 1.0);                  // debiased: the first value itself
  EXPECT_DOUBLE_EQ(out[1], (0.25 + 1.5) / 0.75);  // (0.5 (0.5 * 1) + 0.5 * 3) / (1 - 0.25)
  EXPECT_TRUE(std::isnan(out[2]));                // a gap stays a gap
  EXPECT_DOUBLE_EQ(out[3], (0.5 * 1.75 + 2.5) / 0.875);
  EXPECT_EQ(PlotInteraction::ema({2.0, 4.0}, 0.0), QVector<double>({2.0, 4.0}));
}
