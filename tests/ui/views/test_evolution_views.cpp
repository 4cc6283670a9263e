// MaskEvolutionView and BudgetCurveView on hand-built runs (views/sample_runs.h): the tests read the
// data the views draw (colour-map cells, graph points, cursor coordinates), never pixels.
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QAbstractButton>
#include <QComboBox>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "tests/ui/ui_test_util.h"
#include "views/sample_runs.h"
#include "widgets/budget_curve_view.h"
#include "widgets/mask_evolution_view.h"

namespace api = ranklab::api;
using ranklab::test::expectFigureExports;
using ranklab::test::readAll;
using ranklab::test::sampleRun;
using ranklab::widgets::BudgetCurveView;
using ranklab::widgets::MaskEvolutionView;

namespace {

// Heatmap values are rank / fullRank computed in double by both sides; metric: absolute error.
constexpr double kExact = 1e-12;

// Processes events until `done` holds or `ms` pass; returns whether it holds.
bool waitFor(const std::function<bool()>& done, int ms) {
  QDeadlineTimer deadline(ms);
  while (!done() && !deadline.hasExpired()) QTest::qWait(2);
  return done();
}

void showAndLayOut(QWidget& widget, QCustomPlot* plot) {
  widget.resize(1000, 760);
  widget.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&widget));
  plot->replot();
}

int packedBit(const std::vector<uint8_t>& bytes, int i) { return (bytes[size_t(i / 8)] >> (i % 8)) & 1; }

QCPGraph* graphNamed(QCustomPlot* plot, const QString& name) {
  for (int i = 0; i < plot->graphCount(); ++i) {
    if (plot->graph(i)->name() == name) return plot->graph(i);
  }
  return nullptr;
}

api::OpResult makeOp(const std::string& name, int64_t fullRank) {
  api::OpResult op;
  op.name = name;
  op.fullRank = fullRank;
  return op;
}

// The first colour map in the plot: the op x step heatmap.
QCPColorMap* heatMap(QCustomPlot* plot) {
  for (int i = 0; i < plot->plottableCount(); ++i) {
    if (auto* map = qobject_cast<QCPColorMap*>(plot->plottable(i))) return map;
  }
  return nullptr;
}

}  // namespace

TEST(MaskEvolutionView, SetRunDrawsKeptOverFullRankPerOpAndFrame) {
  const api::RunData run = sampleRun(1, "ars", 0.5, 90.0, 5);
  MaskEvolutionView view;
  view.setRun(run);
  ASSERT_EQ(view.frameCount(), 5);
  ASSERT_EQ(view.opCount(), 12);
  for (int f = 0; f < 5; ++f) {
    for (int op = 0; op < 12; ++op) {
      const double expected = double(run.frames[size_t(f)].ranks[size_t(op)]) / 256.0;
      EXPECT_NEAR(view.heatmapValue(op, f), expected, kExact) << "op " << op << " frame " << f;
    }
  }
  EXPECT_TRUE(std::isnan(view.heatmapValue(12, 0)));
  EXPECT_TRUE(std::isnan(view.heatmapValue(0, 5)));
  // A stored run opens on its final mask.
  EXPECT_EQ(view.currentStep(), 40);
  EXPECT_EQ(view.scrubber()->value(), 4);
  EXPECT_EQ(view.scrubber()->maximum(), 4);
  ASSERT_EQ(view.opSelector()->count(), 13);
  EXPECT_EQ(view.opSelector()->itemText(1), "layers.0.attn.q");
  EXPECT_EQ(view.opSelector()->itemText(12), "layers.1.mlp.down");
}

TEST(MaskEvolutionView, BitValueMatchesPackedBits) {
  const api::RunData run = sampleRun(2, "ars", 0.5, 90.0, 5);
  MaskEvolutionView view;
  view.setRun(run);
  const auto& frame = run.frames[1];
  for (int r = 0; r < 256; ++r) {
    const int expected = packedBit(frame.bits[3], r);
    ASSERT_EQ(expected, r < frame.ranks[3] ? 1 : 0);  // the sample keeps the leading ranks
    EXPECT_EQ(view.bitValue(3, r, 1), expected) << "rank index " << r;
  }
  view.selectOp(3);
  for (int r = 0; r < 256; ++r) EXPECT_EQ(view.bitValue(3, r, 1), packedBit(frame.bits[3], r)) << r;
  EXPECT_EQ(view.bitValue(3, 256, 1), -1);

  // LSB first: 0x05 sets ranks 0 and 2 (MSB first would be 5 and 7), 0x80 sets rank 15.
  MaskEvolutionView live;
  live.startLive({makeOp("w", 16)});
  api::MaskFrame pattern;
  pattern.step = 0;
  pattern.ranks = {3};
  pattern.bits = {{0x05, 0x80}};
  live.appendFrame(pattern);
  const std::vector<int> expected = {1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  for (int r = 0; r < 16; ++r)
    EXPECT_EQ(live.bitValue(0, r, 0), expected[size_t(r)]) << "decoded, rank " << r;
  live.selectOp(0);
  for (int r = 0; r < 16; ++r) EXPECT_EQ(live.bitValue(0, r, 0), expected[size_t(r)]) << "drawn, rank " << r;
  EXPECT_EQ(live.bitValue(0, 16, 0), -1);
}

TEST(MaskEvolutionView, ScrubberMovesCurrentStepAndCursor) {
  MaskEvolutionView view;
  view.setRun(sampleRun(3));
  QSignalSpy spy(&view, &MaskEvolutionView::currentStepChanged);
  view.scrubber()->setValue(2);
  EXPECT_EQ(view.currentFrame(), 2);
  EXPECT_EQ(view.currentStep(), 20);
  EXPECT_EQ(view.stepLabel()->text(), "step 20");
  EXPECT_EQ(view.cursorPositions(), std::vector<double>({20.0, 20.0}));  // heatmap, curves

  view.selectOp(1);
  EXPECT_EQ(view.cursorPositions(), std::vector<double>({20.0, 20.0, 20.0}));  // + mask bits

  view.setCurrentFrame(0);
  EXPECT_EQ(view.scrubber()->value(), 0);
  EXPECT_EQ(view.currentStep(), 0);
  EXPECT_EQ(view.cursorPositions(), std::vector<double>({0.0, 0.0, 0.0}));
  view.setCurrentFrame(99);  // clamped
  EXPECT_EQ(view.currentStep(), 40);
  ASSERT_EQ(spy.count(), 3);
  EXPECT_EQ(spy.at(0).at(0).toLongLong(), 20);
  EXPECT_EQ(spy.at(1).at(0).toLongLong(), 0);
  EXPECT_EQ(spy.at(2).at(0).toLongLong(), 40);
}

TEST(MaskEvolutionView, PlayStepsThroughFramesAndStopsAtTheEnd) {
  MaskEvolutionView view;
  view.setRun(sampleRun(4));
  view.setCurrentFrame(0);
  view.setPlayInterval(5);
  QSignalSpy spy(&view, &MaskEvolutionView::currentStepChanged);
  view.playButton()->click();
  EXPECT_TRUE(view.isPlaying());
  EXPECT_EQ(view.playButton()->text(), "Pause");
  ASSERT_TRUE(waitFor([&] { return !view.isPlaying(); }, 5000));
  EXPECT_EQ(view.currentFrame(), 4);
  EXPECT_EQ(view.playButton()->text(), "Play");
  ASSERT_EQ(spy.count(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(spy.at(i).at(0).toLongLong(), 10 * (i + 1));
  QTest::qWait(50);  // no looping
  EXPECT_FALSE(view.isPlaying());
  EXPECT_EQ(view.currentFrame(), 4);

  // Play at the end starts over; a second click pauses where it is.
  view.setPlayInterval(10000);
  view.playButton()->click();
  EXPECT_TRUE(view.isPlaying());
  EXPECT_EQ(view.currentFrame(), 0);
  view.playButton()->click();
  EXPECT_FALSE(view.isPlaying());
  EXPECT_EQ(view.currentFrame(), 0);
}

TEST(MaskEvolutionView, LiveFramesGrowWithoutMovingAScrubberTheUserPlaced) {
  const api::RunData run = sampleRun(5, "ars", 0.5, 90.0, 8);
  MaskEvolutionView view;
  view.startLive(run.ops);
  EXPECT_EQ(view.frameCount(), 0);
  EXPECT_EQ(view.currentStep(), -1);
  for (int f = 0; f < 3; ++f) view.appendFrame(run.frames[size_t(f)]);
  EXPECT_EQ(view.frameCount(), 3);
  EXPECT_EQ(view.scrubber()->value(), 2);  // followed: it was at the end
  EXPECT_EQ(view.currentStep(), 20);

  view.scrubber()->setValue(1);  // the user looks back
  view.appendFrame(run.frames[3]);
  EXPECT_EQ(view.frameCount(), 4);
  EXPECT_EQ(view.scrubber()->maximum(), 3);
  EXPECT_EQ(view.scrubber()->value(), 1);
  EXPECT_EQ(view.currentStep(), 10);

  view.setCurrentFrame(3);  // back at the end: follows again
  for (int f = 4; f < 8; ++f) view.appendFrame(run.frames[size_t(f)]);
  EXPECT_EQ(view.scrubber()->value(), 7);
  EXPECT_EQ(view.currentStep(), 70);
  EXPECT_EQ(view.cursorPositions(), std::vector<double>({70.0, 70.0}));
  for (int f = 0; f < 8; ++f) {
    for (int op = 0; op < 12; ++op) {
      EXPECT_NEAR(view.heatmapValue(op, f), double(run.frames[size_t(f)].ranks[size_t(op)]) / 256.0, kExact)
          << "op " << op << " frame " << f;
    }
  }
}

TEST(MaskEvolutionView, LiveFramesAppendColumnsInPlaceAndRebuildOnlyForIrregularSteps) {
  const api::RunData run = sampleRun(6, "rankdyna", 0.5, 90.0, 4);
  MaskEvolutionView view;
  view.startLive(run.ops);
  for (int f = 0; f < 3; ++f) view.appendFrame(run.frames[size_t(f)]);
  QCPColorMap* map = heatMap(view.plot());
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->data()->keySize(), 64);  // one chunk of columns for steps 0..20 every 10
  // A marker in an old column survives an in-place append but not a rebuild.
  map->data()->setCell(0, 0, 0.125);
  view.appendFrame(run.frames[3]);  // step 30: on the grid
  EXPECT_EQ(view.heatmapValue(0, 0), 0.125);
  api::MaskFrame odd = run.frames[3];
  odd.step = 35;  // RankDyna reallocated off the grid: spacing gcd becomes 5
  view.appendFrame(odd);
  EXPECT_NEAR(view.heatmapValue(0, 0), double(run.frames[0].ranks[0]) / 256.0, kExact);
  EXPECT_NEAR(view.heatmapValue(5, 4), double(odd.ranks[5]) / 256.0, kExact);
  EXPECT_NEAR(view.heatmapValue(5, 3), double(run.frames[3].ranks[5]) / 256.0, kExact);
  EXPECT_EQ(view.frameCount(), 5);

  // An out-of-order frame is inserted by step.
  api::MaskFrame early = run.frames[0];
  early.step = 5;
  early.ranks.assign(12, 64);
  view.appendFrame(early);
  ASSERT_EQ(view.frameCount(), 6);
  for (int op = 0; op < 12; ++op) EXPECT_NEAR(view.heatmapValue(op, 1), 0.25, kExact);  // 64 / 256
  EXPECT_NEAR(view.heatmapValue(2, 2), double(run.frames[1].ranks[2]) / 256.0, kExact);
}

TEST(MaskEvolutionView, LiveAppendOnAHundredOpModelWithFiveHundredFramesIsCheap) {
  constexpr int kOps = 100, kFrames = 500, kFull = 128;
  std::vector<api::OpResult> ops;
  for (int i = 0; i < kOps; ++i) ops.push_back(makeOp("op" + std::to_string(i), kFull));
  auto rankOf = [](int op, int f) { return (op * 7 + f) % (kFull + 1); };
  MaskEvolutionView view;
  view.resize(1000, 760);
  view.startLive(ops);
  view.selectOp(5);
  QElapsedTimer timer;
  timer.start();
  for (int f = 0; f < kFrames; ++f) {
    api::MaskFrame frame;
    frame.step = 10 * f;
    for (int op = 0; op < kOps; ++op) {
      const int r = rankOf(op, f);
      frame.ranks.push_back(r);
      std::vector<uint8_t> bits(kFull / 8, 0);
      for (int i = 0; i < r; ++i) bits[size_t(i / 8)] |= uint8_t(1u << (i % 8));
      frame.bits.push_back(bits);
    }
    view.appendFrame(frame);
    view.appendSeries({frame.step, "task_loss", 3.0 / (1.0 + f)});
    view.appendSeries({frame.step, "budget", 1.0 - f / double(kFrames)});
    if (f % 10 == 9) view.plot()->replot();  // a 10/s progress stream redraws about once per 10 frames
  }
  const qint64 ms = timer.elapsed();
  // Metric: wall time for 500 frames + 1000 series points + 50 full redraws. The budget is 100 ms per
  // update at 10 updates/s; the bound allows 20 ms per frame on a loaded 2-core machine.
  std::printf("500 live frames on 100 ops: %lld ms\n", static_cast<long long>(ms));
  EXPECT_LT(ms, 10000);
  EXPECT_EQ(view.frameCount(), kFrames);
  EXPECT_EQ(view.seriesPointCount("task_loss"), kFrames);
  EXPECT_EQ(view.seriesPointCount("budget"), kFrames);
  for (int f : {0, 63, 64, 250, 499}) {
    for (int op = 0; op < kOps; ++op)
      ASSERT_NEAR(view.heatmapValue(op, f), double(rankOf(op, f)) / kFull, kExact) << op << " " << f;
    for (int r = 0; r < kFull; ++r)
      ASSERT_EQ(view.bitValue(5, r, f), r < rankOf(5, f) ? 1 : 0) << r << " " << f;
  }
}

TEST(MaskEvolutionView, SeriesGetOneGraphEachWithBudgetOnTheRightAxis) {
  MaskEvolutionView view;
  view.startLive({});
  view.appendSeries({0, "task_loss", 3.0});
  view.appendSeries({0, "budget", 1.0});
  view.appendSeries({0, "R", 0.5});
  view.appendSeries({10, "task_loss", 2.5});
  view.appendSeries({10, "budget_readoff", 0.9});
  EXPECT_EQ(view.seriesNames(), QStringList({"task_loss", "budget", "R", "budget_readoff"}));
  EXPECT_EQ(view.seriesPointCount("task_loss"), 2);
  EXPECT_EQ(view.seriesPointCount("R"), 1);
  // Readable names on screen (issue 19); fractions of T_total on the right axis, losses on the left.
  for (const char* name :
       {"task loss", "kept fraction (sampled)", "budget penalty R", "kept fraction (read-off)"}) {
    QCPGraph* graph = graphNamed(view.plot(), name);
    ASSERT_NE(graph, nullptr) << name;
    const bool fraction = QString(name).startsWith("kept fraction");
    EXPECT_EQ(graph->valueAxis()->axisType(), fraction ? QCPAxis::atRight : QCPAxis::atLeft) << name;
  }
  QCPGraph* loss = graphNamed(view.plot(), "task loss");
  EXPECT_EQ((loss->data()->constEnd() - 1)->key, 10.0);
  EXPECT_EQ((loss->data()->constEnd() - 1)->value, 2.5);

  // A stored run replaces the live data.
  view.setRun(sampleRun(7));
  EXPECT_EQ(view.seriesNames(), QStringList({"task_loss", "budget"}));
  EXPECT_EQ(view.seriesPointCount("task_loss"), 5);
  EXPECT_EQ(view.plot()->graphCount(), 2);
}

TEST(MaskEvolutionView, StepAxesOfAllPanelsStaySynchronised) {
  MaskEvolutionView view;
  view.setRun(sampleRun(8));
  view.selectOp(0);
  QCustomPlot* plot = view.plot();
  ASSERT_EQ(plot->axisRectCount(), 3);
  plot->axisRect(1)->axis(QCPAxis::atBottom)->setRange(12.0, 31.0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(plot->axisRect(i)->axis(QCPAxis::atBottom)->range().lower, 12.0) << "panel " << i;
    EXPECT_EQ(plot->axisRect(i)->axis(QCPAxis::atBottom)->range().upper, 31.0) << "panel " << i;
  }
}

TEST(MaskEvolutionView, ClickingAHeatmapRowSelectsThatOp) {
  MaskEvolutionView view;
  view.setRun(sampleRun(9));
  showAndLayOut(view, view.plot());
  QCPAxisRect* heat = view.plot()->axisRect(0);
  const int y = qRound(heat->axis(QCPAxis::atLeft)->coordToPixel(5.0));
  const int x = heat->rect().center().x();
  QTest::mouseClick(view.plot(), Qt::LeftButton, {}, QPoint(x, y));
  EXPECT_EQ(view.selectedOp(), 5);
  EXPECT_EQ(view.opSelector()->currentIndex(), 6);
  EXPECT_EQ(view.plot()->axisRectCount(), 3);

  view.opSelector()->setCurrentIndex(3);  // the combo box selects too
  EXPECT_EQ(view.selectedOp(), 2);
  view.selectOp(-1);
  EXPECT_EQ(view.selectedOp(), -1);
  EXPECT_EQ(view.opSelector()->currentIndex(), 0);
  EXPECT_EQ(view.plot()->axisRectCount(), 2);
}

TEST(MaskEvolutionView, ExportsFramesCsvCurvesCsvAndFigures) {
  QTemporaryDir dir;
  MaskEvolutionView view;
  view.setRun(sampleRun(10));
  view.selectOp(0);
  QString error;
  const QString csv = dir.filePath("frames.csv");
  ASSERT_TRUE(view.exportTo(csv, &error)) << error.toStdString();
  const QList<QByteArray> lines = readAll(csv).split('\n');
  EXPECT_EQ(lines.front(), "step,op,rank");
  EXPECT_EQ(lines.size(), 1 + 12 * 5 + 1);              // header, one row per op per frame, trailing newline
  EXPECT_TRUE(lines.contains("0,layers.0.attn.q,20"));  // rank 16 + 4 frames still to shrink
  EXPECT_TRUE(lines.contains("40,layers.1.mlp.down,29"));  // 16 + 8 + 5

  const QString curves = dir.filePath("curves.csv");
  ASSERT_TRUE(view.exportSeriesCsv(curves, &error)) << error.toStdString();
  const QList<QByteArray> curveLines = readAll(curves).split('\n');
  EXPECT_EQ(curveLines.front(), "series,step,value");
  EXPECT_EQ(curveLines.size(), 1 + 2 * 5 + 1);

  ASSERT_NO_FATAL_FAILURE(expectFigureExports(view, dir, "mask"));
  EXPECT_FALSE(view.exportTo(dir.filePath("mask.xyz"), &error));
}

TEST(MaskEvolutionView, ClearEmptiesTheView) {
  MaskEvolutionView view;
  view.setRun(sampleRun(11));
  view.selectOp(2);
  view.clear();
  EXPECT_EQ(view.frameCount(), 0);
  EXPECT_EQ(view.opCount(), 0);
  EXPECT_EQ(view.currentStep(), -1);
  EXPECT_TRUE(view.seriesNames().isEmpty());
  EXPECT_TRUE(view.cursorPositions().empty());
  EXPECT_EQ(view.selectedOp(), -1);
  EXPECT_EQ(view.plot()->graphCount(), 0);
  EXPECT_EQ(view.plot()->axisRectCount(), 2);
  EXPECT_FALSE(view.scrubber()->isEnabled());
  EXPECT_FALSE(view.playButton()->isEnabled());
}

namespace {

api::RunRecord record(int64_t id, const std::string& selector, double keep, double metricAfter,
                      const std::string& metric = "perplexity", double metricBefore = 82.7) {
  api::RunRecord r = sampleRun(id, selector, keep, metricAfter, 1).run;
  r.metric = metric;
  r.protocol.metric = metric;
  r.metricBefore = metricBefore;
  return r;
}

// Two methods x three keep targets x three seeds (ids 1..18: method-major, then keep, then seed).
std::vector<api::RunRecord> sweep() {
  const double ars[3][3] = {{120, 126, 123}, {100, 104, 96}, {90, 91, 92}};
  const double uniform[3][3] = {{150, 160, 170}, {110, 115, 120}, {95, 97, 93}};
  const double keeps[3] = {0.3, 0.5, 0.7};
  std::vector<api::RunRecord> runs;
  int64_t id = 1;
  for (int m = 0; m < 2; ++m) {
    for (int k = 0; k < 3; ++k) {
      for (int seed = 0; seed < 3; ++seed) {
        api::RunRecord r =
            record(id++, m == 0 ? "ars" : "uniform", keeps[k], m == 0 ? ars[k][seed] : uniform[k][seed],
                   "perplexity", m == 0 ? 80.0 : 84.0);
        r.seed = seed;
        runs.push_back(r);
      }
    }
  }
  return runs;
}

}  // namespace

TEST(BudgetCurveView, AveragesSeedsIntoMeanMinMaxPerMethodAndKeep) {
  BudgetCurveView view;
  view.setRuns(sweep());
  EXPECT_EQ(view.methodNames(), QStringList({"svd+ars", "svd+uniform"}));
  EXPECT_EQ(view.shownCount(), 18);
  EXPECT_EQ(view.excludedCount(), 0);
  EXPECT_EQ(view.metricName(), "perplexity");
  EXPECT_TRUE(view.lowerIsBetter());
  struct Want {
    double keep, mean, min, max;
  };
  const Want ars[] = {{0.299, 123, 120, 126}, {0.499, 100, 96, 104}, {0.699, 91, 90, 92}};
  const Want uniform[] = {{0.299, 160, 150, 170}, {0.499, 115, 110, 120}, {0.699, 95, 93, 97}};
  for (const auto& [method, want] : {std::pair{"svd+ars", ars}, std::pair{"svd+uniform", uniform}}) {
    const auto points = view.curve(method);
    ASSERT_EQ(points.size(), 3u) << method;
    for (size_t i = 0; i < 3; ++i) {
      // Means of three doubles; metric: absolute error, tolerance 1e-9 (perplexity units / kept fraction).
      EXPECT_NEAR(points[i].keep, want[i].keep, 1e-9) << method << " " << i;
      EXPECT_NEAR(points[i].mean, want[i].mean, 1e-9) << method << " " << i;
      EXPECT_EQ(points[i].min, want[i].min) << method << " " << i;  // min/max are input values: exact
      EXPECT_EQ(points[i].max, want[i].max) << method << " " << i;
      EXPECT_EQ(points[i].count, 3) << method << " " << i;
    }
  }
  EXPECT_TRUE(view.curve("svd+nothing").empty());
  // Reference: mean metricBefore of 9 runs at 80 and 9 at 84; metric: absolute error, 1e-12.
  EXPECT_NEAR(view.referenceValue(), 82.0, 1e-12);
  // Front by hand: best at p=0.299 is ars 120 (id 1); at 0.499 only < 120 counts, best ars 96 (id 6);
  // at 0.699 only < 96 counts, best ars 90 (id 7).
  EXPECT_EQ(view.paretoRunIds(), std::vector<qint64>({1, 6, 7}));
  EXPECT_FALSE(view.logScale());  // 80..170 spans less than 10x
  // The plot draws the same means: graph "svd+ars" holds the averaged curve.
  QCPGraph* curve = graphNamed(view.plot(), "svd+ars");
  ASSERT_NE(curve, nullptr);
  ASSERT_EQ(curve->dataCount(), 3);
  EXPECT_NEAR(curve->data()->at(0)->value, 123.0, 1e-9);  // metric: absolute error
  QCPGraph* front = graphNamed(view.plot(), "Pareto front");
  ASSERT_NE(front, nullptr);
  EXPECT_EQ(front->dataCount(), 3);
}

TEST(BudgetCurveView, EachMetricOfARunIsItsOwnGroupNeverMixed) {
  // Every run measured perplexity (its headline) and acc_norm on a multiple-choice set; the records
  // api::metricRecords makes of them put acc_norm in a group of its own.
  std::vector<api::RunRecord> records;
  const api::EvalProtocol mc = ranklab::test::sampleChoiceProtocol();
  for (const auto& run : sweep()) {
    const double acc = 0.45 - 0.1 * (0.7 - run.keepTarget);
    const std::vector<api::EvalPoint> evals = {{"before", "c", "acc_norm", 1.0, 0.4575, 400, mc},
                                               {"after", "c", "acc_norm", run.keptFraction, acc, 400, mc}};
    for (auto& r : api::metricRecords(run, evals)) records.push_back(r);
  }
  ASSERT_EQ(records.size(), 36u);
  BudgetCurveView view;
  view.setRuns(records);
  ASSERT_EQ(view.groupKeys().size(), 2);
  EXPECT_EQ(view.shownCount(), 18) << "one metric at a time";
  EXPECT_EQ(view.excludedCount(), 0) << "the other metric's records are the same runs, all shown";
  QString accGroup;
  for (const QString& key : view.groupKeys())
    if (view.groupText(key).contains("acc_norm")) accGroup = key;
  ASSERT_FALSE(accGroup.isEmpty());
  EXPECT_TRUE(view.groupText(accGroup).contains(
      QString::fromUtf8("acc_norm \u00b7 next-words.jsonl \u00b7 400 items")))
      << view.groupText(accGroup).toStdString();
  view.setGroup(accGroup);
  EXPECT_EQ(view.metricName(), "acc_norm");
  EXPECT_FALSE(view.lowerIsBetter());
  EXPECT_EQ(view.shownCount(), 18);
  // Metric: absolute error, 1e-12: the dense acc_norm is the reference, the curve the runs' acc_norm.
  EXPECT_NEAR(view.referenceValue(), 0.4575, 1e-12);
  const auto points = view.curve("svd+ars");
  ASSERT_EQ(points.size(), 3u);
  EXPECT_NEAR(points[0].mean, 0.45 - 0.1 * 0.4, 1e-12);
}

TEST(BudgetCurveView, RunsBoxNarrowsThePlotToOneSweepAndKeepsTheChoice) {
  auto runs = sweep();
  for (auto& r : runs) r.sweepId = r.seed == 2 ? "sweep-b" : "sweep-a";  // seeds 0, 1 in a; seed 2 in b
  runs.push_back(record(99, "energy", 0.5, 101));                        // not in any sweep
  BudgetCurveView view;
  view.setRuns(runs);
  EXPECT_EQ(view.sweepIds(), QStringList({"sweep-a", "sweep-b"}));
  EXPECT_EQ(view.sweep(), QString());
  EXPECT_EQ(view.shownCount(), 19);
  view.setSweep("sweep-b");
  EXPECT_EQ(view.shownCount(), 6);
  EXPECT_EQ(view.methodNames(), QStringList({"svd+ars", "svd+uniform"}));
  // Seed 2 alone: the ars point at p = 0.3 is 123's third seed, 123 -> min = max = mean = 123.
  const auto ars = view.curve("svd+ars");
  ASSERT_EQ(ars.size(), 3u);
  EXPECT_EQ(ars[0].count, 1);
  EXPECT_EQ(ars[0].mean, 123.0);  // an input value, exact
  // The combo box drives the same filter.
  auto* box = view.findChild<QComboBox*>("sweepBox");
  ASSERT_NE(box, nullptr);
  box->setCurrentIndex(box->findData(QString("sweep-a")));
  EXPECT_EQ(view.shownCount(), 12);
  // New runs arrive (a refresh): the chosen sweep stays chosen and grows.
  auto more = runs;
  api::RunRecord extra = record(100, "ars", 0.9, 85);
  extra.sweepId = "sweep-a";
  more.push_back(extra);
  view.setRuns(more);
  EXPECT_EQ(view.sweep(), "sweep-a");
  EXPECT_EQ(view.shownCount(), 13);
  // A sweep just queued, before its first run is stored: listed with no runs, then filled in.
  view.setSweep("sweep-new");
  EXPECT_EQ(view.sweep(), "sweep-new");
  EXPECT_EQ(view.shownCount(), 0);
  EXPECT_TRUE(view.sweepIds().contains("sweep-new"));
  api::RunRecord first = record(101, "ars", 0.4, 99);
  first.sweepId = "sweep-new";
  more.push_back(first);
  view.setRuns(more);
  EXPECT_EQ(view.shownCount(), 1);
  // "All runs" shows everything again.
  view.setSweep(QString());
  EXPECT_EQ(view.shownCount(), 21);
}

TEST(BudgetCurveView, ParetoFrontWithLowerPerplexityBetter) {
  // id: keep, perplexity. 2 loses to 1 at the same keep; 4 loses to 1 (less kept, better); 5 loses
  // to 3 (less kept, equal); 8 ties 3 exactly, so neither dominates the other.
  std::vector<api::RunRecord> runs = {record(1, "ars", 0.3, 120),    record(2, "uniform", 0.3, 130),
                                      record(3, "ars", 0.5, 100),    record(4, "uniform", 0.5, 125),
                                      record(5, "ars", 0.7, 100),    record(6, "uniform", 0.7, 90),
                                      record(8, "uniform", 0.5, 100)};
  BudgetCurveView view;
  view.setRuns(runs);
  EXPECT_EQ(view.paretoRunIds(), std::vector<qint64>({1, 3, 8, 6}));
}

TEST(BudgetCurveView, ParetoFrontWithHigherAccuracyBetter) {
  // id: keep, accuracy. 2 beats 1 at the same keep; 3 loses to 2 (less kept, better); 5 loses to 4
  // (less kept, equal).
  std::vector<api::RunRecord> runs = {
      record(1, "ars", 0.3, 0.60, "accuracy", 0.9), record(2, "uniform", 0.3, 0.65, "accuracy", 0.9),
      record(3, "ars", 0.5, 0.64, "accuracy", 0.9), record(4, "uniform", 0.5, 0.70, "accuracy", 0.9),
      record(5, "ars", 0.7, 0.70, "accuracy", 0.9), record(6, "uniform", 0.7, 0.72, "accuracy", 0.9)};
  BudgetCurveView view;
  view.setRuns(runs);
  EXPECT_EQ(view.metricName(), "accuracy");
  EXPECT_FALSE(view.lowerIsBetter());
  EXPECT_EQ(view.paretoRunIds(), std::vector<qint64>({2, 4, 6}));
  EXPECT_NEAR(view.referenceValue(), 0.9, 1e-12);  // metric: absolute error
  EXPECT_FALSE(view.logScale());
}

TEST(BudgetCurveView, LeavesOutUnfinishedOtherMetricAndNaNRunsAndCountsThem) {
  std::vector<api::RunRecord> runs = sweep();
  runs.resize(6);  // svd+ars at 0.3 and 0.5
  api::RunRecord failed = record(30, "ars", 0.3, 1.0, "perplexity", 1000.0);
  failed.status = "failed";
  api::RunRecord running = record(31, "ars", 0.3, 1.0, "perplexity", 1000.0);
  running.status = "running";
  api::RunRecord noMetric =
      record(32, "ars", 0.3, std::numeric_limits<double>::quiet_NaN(), "perplexity", 1000.0);
  api::RunRecord accuracy = record(33, "energy", 0.3, 0.5, "accuracy", 1000.0);
  runs.insert(runs.begin(), {failed, accuracy});
  runs.push_back(running);
  runs.push_back(noMetric);
  BudgetCurveView view;
  view.setRuns(runs);
  EXPECT_EQ(view.shownCount(), 6);
  EXPECT_EQ(view.excludedCount(), 4);
  EXPECT_EQ(view.methodNames(), QStringList({"svd+ars"}));
  EXPECT_EQ(view.metricName(), "perplexity");
  EXPECT_NEAR(view.referenceValue(), 80.0, 1e-12);  // only shown runs count; metric: absolute error
  EXPECT_EQ(view.paretoRunIds(), std::vector<qint64>({1, 6}));  // 30's perplexity 1.0 is not shown
  const QString label = view.excludedLabel()->text();
  EXPECT_TRUE(label.contains("4 left out")) << label.toStdString();
  EXPECT_TRUE(label.contains("2 failed or running")) << label.toStdString();
  EXPECT_TRUE(label.contains("1 evaluated differently")) << label.toStdString();
  EXPECT_TRUE(label.contains("1 without a metric")) << label.toStdString();
}

// Issue 18: two ARS runs evaluated on 6 documents and on the whole file, and uniform runs on each.
// Nothing is pooled across the two protocols: not the seed band, not the reference, not the front.
TEST(BudgetCurveView, RunsEvaluatedDifferentlyNeverShareABandAReferenceOrAFront) {
  const auto sixDocs = ranklab::test::sampleProtocol(78021, 6);
  const auto wholeFile = ranklab::test::sampleProtocol(412000, 0);
  auto withProtocol = [](api::RunRecord r, const api::EvalProtocol& p, double before) {
    r.protocol = p;
    r.metricBefore = before;
    return r;
  };
  std::vector<api::RunRecord> runs = {withProtocol(record(1, "ars", 0.5, 90.63), sixDocs, 82.74),
                                      withProtocol(record(2, "ars", 0.5, 80.91), wholeFile, 73.40),
                                      withProtocol(record(3, "uniform", 0.5, 96.0), sixDocs, 82.74),
                                      withProtocol(record(4, "uniform", 0.3, 120.0), sixDocs, 82.74),
                                      withProtocol(record(5, "uniform", 0.5, 85.0), wholeFile, 73.40)};
  BudgetCurveView view;
  view.setRuns(runs);
  // The larger group (6 documents: runs 1, 3, 4) is shown first; the other is one choice away.
  ASSERT_EQ(view.groupKeys().size(), 2);
  EXPECT_EQ(view.shownCount(), 3);
  EXPECT_EQ(view.excludedCount(), 2);
  EXPECT_TRUE(view.excludedLabel()->text().contains("2 evaluated differently"));
  const QString label = view.groupText(view.group());
  EXPECT_TRUE(label.contains(QString::fromUtf8("test.txt \u00b7 6 docs \u00b7 78,021 tokens")))
      << label.toStdString();
  EXPECT_TRUE(label.contains("3 runs")) << label.toStdString();
  const auto ars = view.curve("svd+ars");
  ASSERT_EQ(ars.size(), 1u);
  EXPECT_EQ(ars[0].count, 1);               // not a band of 90.63 and 80.91
  EXPECT_EQ(ars[0].mean, 90.63);            // exact: one input value
  EXPECT_EQ(view.referenceValue(), 82.74);  // the dense model measured this way, not (82.74 + 73.40) / 2
  EXPECT_EQ(view.paretoRunIds(), std::vector<qint64>({4, 1}));

  view.setGroup(view.groupKeys().at(1));
  EXPECT_EQ(view.shownCount(), 2);
  EXPECT_EQ(view.curve("svd+ars").at(0).mean, 80.91);
  EXPECT_EQ(view.referenceValue(), 73.40);
  EXPECT_EQ(view.paretoRunIds(), std::vector<qint64>({2}));
  // The choice survives a reload with one more run in it.
  runs.push_back(withProtocol(record(6, "energy", 0.4, 99.0), wholeFile, 73.40));
  view.setRuns(runs);
  EXPECT_EQ(view.shownCount(), 3);
  EXPECT_EQ(view.referenceValue(), 73.40);
}

TEST(BudgetCurveView, PerplexityAxisTurnsLogarithmicBeyondTenfold) {
  BudgetCurveView view;
  view.setRuns({record(1, "ars", 0.2, 400, "perplexity", 20), record(2, "ars", 0.5, 60, "perplexity", 20)});
  EXPECT_TRUE(view.logScale());  // 20..400: 20x
  view.setRuns({record(1, "ars", 0.2, 120, "perplexity", 80), record(2, "ars", 0.5, 90, "perplexity", 80)});
  EXPECT_FALSE(view.logScale());  // 80..120
  view.setRuns({record(1, "ars", 0.2, 0.01, "accuracy", 0.9), record(2, "ars", 0.5, 0.8, "accuracy", 0.9)});
  EXPECT_FALSE(view.logScale());  // accuracy stays linear
}

TEST(BudgetCurveView, ClickingAPointEmitsItsRunIdAndHoverNamesIt) {
  BudgetCurveView view;
  view.setRuns(sweep());
  showAndLayOut(view, view.plot());
  QSignalSpy spy(&view, &BudgetCurveView::runActivated);
  // Run 15 (svd+uniform, p=0.5, perplexity 120) has no other run within a few pixels.
  const QPoint pixel(qRound(view.plot()->xAxis->coordToPixel(0.499)),
                     qRound(view.plot()->yAxis->coordToPixel(120.0)));
  QTest::mouseClick(view.plot(), Qt::LeftButton, {}, pixel);
  ASSERT_EQ(spy.count(), 1);
  EXPECT_EQ(spy.at(0).at(0).toLongLong(), 15);
  const QString tip = view.toolTipAt(pixel + QPoint(2, -2));
  EXPECT_TRUE(tip.contains("svd+uniform p=0.50")) << tip.toStdString();
  EXPECT_TRUE(tip.contains("run 15")) << tip.toStdString();
  EXPECT_TRUE(tip.contains("perplexity = 120")) << tip.toStdString();
  EXPECT_TRUE(tip.contains("p = 0.4990")) << tip.toStdString();

  const QPoint empty = view.plot()->axisRect()->rect().topLeft() + QPoint(3, 3);
  QTest::mouseClick(view.plot(), Qt::LeftButton, {}, empty);
  EXPECT_EQ(spy.count(), 1);
  EXPECT_TRUE(view.toolTipAt(empty).isEmpty());
  EXPECT_EQ(view.runIdAt(empty), -1);
}

TEST(BudgetCurveView, ExportsCsvPngAndPdf) {
  QTemporaryDir dir;
  BudgetCurveView view;
  view.setRuns(sweep());
  QString error;
  const QString csv = dir.filePath("budget.csv");
  ASSERT_TRUE(view.exportTo(csv, &error)) << error.toStdString();
  const QList<QByteArray> lines = readAll(csv).split('\n');
  EXPECT_EQ(lines.front(), "method,run_id,kept_fraction,perplexity");
  ASSERT_EQ(lines.size(), 1 + 18 + 1);  // header, one row per run, trailing newline
  EXPECT_TRUE(lines[1].startsWith("svd+ars,")) << lines[1].toStdString();
  EXPECT_TRUE(lines[18].startsWith("svd+uniform,")) << lines[18].toStdString();
  const auto first = std::find_if(lines.begin(), lines.end(),
                                  [](const QByteArray& l) { return l.startsWith("svd+ars,1,"); });
  ASSERT_NE(first, lines.end());
  const QList<QByteArray> fields = first->split(',');
  ASSERT_EQ(fields.size(), 4);
  EXPECT_NEAR(fields[2].toDouble(), 0.299, 1e-12);  // kept fraction read back; metric: absolute error
  EXPECT_EQ(fields[3], "120");
  ASSERT_NO_FATAL_FAILURE(expectFigureExports(view, dir, "budget"));
}
