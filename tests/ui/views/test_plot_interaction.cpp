// The interaction layer every plot view shares (widgets/plot_interaction.h), on real views with
// hand-built runs: hover read-outs for a known bar, heatmap cell, spectrum index and mask frame,
// wheel zoom and double-click reset, and a legend click that hides and shows a series.
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QApplication>
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
