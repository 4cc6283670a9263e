// RankAllocationView and SpectrumView: asserts on the data the views hold and draw, not on pixels.
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QFile>
#include <QLocale>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cmath>

#include "select/ledger.h"
#include "tests/ui/ui_test_util.h"
#include "views/sample_runs.h"
#include "widgets/rank_allocation_view.h"
#include "widgets/spectrum_view.h"

using ranklab::test::expectFigureExports;
using ranklab::test::readAll;
using ranklab::test::sampleRun;
using ranklab::widgets::RankAllocationView;
using ranklab::widgets::SpectrumView;
namespace api = ranklab::api;

namespace {

api::OpResult makeOp(const std::string& name, int layer, const std::string& kind, int64_t in, int64_t out,
                     int64_t rank) {
  auto op = ranklab::test::namedOp<api::OpResult>(name, layer, kind, in, out);
  op.fullRank = std::min(in, out);
  op.rank = rank;
  op.factorized = true;
  return op;
}

// The ledger's cost of ranks `ks` (run op order): sum_l min(k_l (M_l + N_l), M_l N_l).
int64_t cost(const std::vector<api::OpResult>& ops, const std::vector<int64_t>& ks) {
  int64_t total = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const int64_t m = ops[i].inFeatures, n = ops[i].outFeatures;
    total += std::min(ks[i] * (m + n), m * n);
  }
  return total;
}

int64_t denseTotal(const std::vector<api::OpResult>& ops) {
  int64_t total = 0;
  for (const auto& op : ops) total += op.inFeatures * op.outFeatures;
  return total;
}

// The uniform ranks spend at most p T_total, and one more rank on every op (that has one left)
// would not fit.
void expectUniformMeetsBudget(const api::RunData& run, const std::vector<int64_t>& ks) {
  ASSERT_EQ(ks.size(), run.ops.size());
  const double budget = run.run.keptFraction * double(denseTotal(run.ops));
  EXPECT_LE(double(cost(run.ops, ks)), budget);
  std::vector<int64_t> more = ks;
  for (size_t i = 0; i < ks.size(); ++i)
    more[i] = std::min(ks[i] + 1, std::min(run.ops[i].inFeatures, run.ops[i].outFeatures));
  EXPECT_GT(double(cost(run.ops, more)), budget);
}

std::vector<QString> strings(std::initializer_list<const char*> list) {
  std::vector<QString> out;
  for (const char* s : list) out.push_back(QString::fromLatin1(s));
  return out;
}

std::vector<QCPBars*> barsOf(QCustomPlot& plot) {
  std::vector<QCPBars*> bars;
  for (int i = 0; i < plot.plottableCount(); ++i)
    if (auto* b = qobject_cast<QCPBars*>(plot.plottable(i))) bars.push_back(b);
  return bars;
}

// The uniform-baseline graph lives on the bar axis rect; the colour map is not a graph.
QCPGraph* uniformGraph(const RankAllocationView& view) {
  for (int i = 0; i < view.plot()->graphCount(); ++i) {
    QCPGraph* g = view.plot()->graph(i);
    if (g->keyAxis()->axisRect() == view.barRect()) return g;
  }
  return nullptr;
}

}  // namespace

TEST(RankAllocationView, EmptyRunShowsPlaceholderNotAxes) {
  RankAllocationView view;
  EXPECT_TRUE(view.placeholderShown());
  view.setRun(api::RunData{});
  EXPECT_TRUE(view.placeholderShown());
  EXPECT_FALSE(view.placeholderText().isEmpty());
  EXPECT_TRUE(view.barValues().empty());
  EXPECT_TRUE(view.uniformRanks().empty());
  QTemporaryDir dir;
  QString error;
  EXPECT_FALSE(view.exportTo(dir.filePath("empty.png"), &error));
  EXPECT_FALSE(error.isEmpty());
  view.setRun(sampleRun(1));
  EXPECT_FALSE(view.placeholderShown());
  view.clear();
  EXPECT_TRUE(view.placeholderShown());
  EXPECT_TRUE(view.barValues().empty());
}

TEST(RankAllocationView, BarsGroupedByKindThenLayerWithRunRanks) {
  RankAllocationView view;
  const api::RunData run = sampleRun(1);
  view.setRun(run);
  EXPECT_FALSE(view.comparisonMode());
  EXPECT_EQ(view.barLabels(), strings({"q 0", "q 1", "k 0", "k 1", "v 0", "v 1", "o 0", "o 1", "up 0", "up 1",
                                       "down 0", "down 1"}));
  // Sample ranks: 16 + 8 layer + kind index; op index = 6 layer + kind index.
  std::vector<double> expected;
  std::vector<int> expectedOps;
  for (int kind = 0; kind < 6; ++kind) {
    for (int layer = 0; layer < 2; ++layer) {
      expected.push_back(16 + 8 * layer + kind);
      expectedOps.push_back(6 * layer + kind);
    }
  }
  EXPECT_EQ(view.barValues(), expected);
  EXPECT_EQ(view.barOps(), expectedOps);

  // What is drawn: one QCPBars per kind, named by it, keys at the display positions.
  const auto bars = barsOf(*view.plot());
  ASSERT_EQ(bars.size(), 6u);
  for (size_t k = 0; k < bars.size(); ++k) {
    EXPECT_EQ(bars[k]->name(), view.heatmapKinds()[int(k)]);
    ASSERT_EQ(bars[k]->data()->size(), 2);
    for (int j = 0; j < 2; ++j) {
      EXPECT_EQ(bars[k]->data()->at(j)->key, double(2 * k + size_t(j)));
      EXPECT_EQ(bars[k]->data()->at(j)->value, expected[2 * k + size_t(j)]);
    }
  }
  EXPECT_NE(bars[0]->brush().color(), bars[1]->brush().color());

  view.setShowFraction(true);
  const auto fractions = view.barValues();
  ASSERT_EQ(fractions.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_DOUBLE_EQ(fractions[i], expected[i] / 256.0);
}

TEST(RankAllocationView, KindsInOrderOfFirstAppearanceEachByLayer) {
  api::RunData run = sampleRun(1);
  std::reverse(run.ops.begin(), run.ops.end());  // layer 1 down first, layer 0 q last
  RankAllocationView view;
  view.setRun(run);
  EXPECT_EQ(view.barLabels(), strings({"down 0", "down 1", "up 0", "up 1", "o 0", "o 1", "v 0", "v 1", "k 0",
                                       "k 1", "q 0", "q 1"}));
  // Op indices refer to the reversed run's vector: layer 0 down sat at 5, now at 11 - 5 = 6.
  EXPECT_EQ(view.barOps().front(), 6);
  EXPECT_EQ(view.barValues().front(), 16 + 5);
}

TEST(RankAllocationView, UniformRatioRanksMeetTheBudgetExactly) {
  RankAllocationView view;
  view.setBaselineKind(RankAllocationView::BaselineKind::Ratio);
  // p = 0.499 of T_total = 1 572 864; all ops have K = 256 and stay factorized, cost 9216 k:
  // k = floor(784 859.1 / 9216) = 85.
  const api::RunData half = sampleRun(1, "ars", 0.5);
  view.setRun(half);
  EXPECT_EQ(view.uniformRanks(), std::vector<int64_t>(12, 85));
  expectUniformMeetsBudget(half, view.uniformRanks());
  EXPECT_DOUBLE_EQ(view.uniformRatio(), 85.0 / 256.0);

  // p = 0.9: attention ops go dense at k >= 128 (costing M N = 65 536 each), which leaves room for
  // k = 174 on the MLP ops; without the dense-if-cheaper cap the answer would be 153.
  const api::RunData dense = sampleRun(2, "ars", 0.901);
  view.setRun(dense);
  EXPECT_EQ(view.uniformRanks(), std::vector<int64_t>(12, 174));
  expectUniformMeetsBudget(dense, view.uniformRanks());

  // Mixed K: A 64 x 64 (K 64), B 32 x 128 (K 32), p = 0.5 of 8192. r in [19/64, 20/64) gives
  // (19, 9) costing 2432 + 1440 = 3872; r = 20/64 gives (20, 10) costing 4160 > 4096.
  api::RunData mixed;
  mixed.run.keptFraction = 0.5;
  mixed.ops.push_back(makeOp("a", 0, "q", 64, 64, 10));
  mixed.ops.push_back(makeOp("b", 0, "up", 32, 128, 10));
  view.setRun(mixed);
  EXPECT_EQ(view.uniformRanks(), (std::vector<int64_t>{19, 9}));
  expectUniformMeetsBudget(mixed, view.uniformRanks());

  mixed.run.keptFraction = 1.0;
  view.setRun(mixed);
  EXPECT_EQ(view.uniformRanks(), (std::vector<int64_t>{64, 32}));
  mixed.run.keptFraction = 0.0;
  view.setRun(mixed);
  EXPECT_EQ(view.uniformRanks(), (std::vector<int64_t>{0, 0}));
}

// Issue 18: the overlay is what `--select uniform` gives at the run's achieved p, op by op (the
// user's own uniform run), not one rank ratio for every op.
TEST(RankAllocationView, UniformOverlayIsTheUniformSelectorsRanksAtTheAchievedBudget) {
  RankAllocationView view;
  const api::RunData run = sampleRun(1);  // achieved p = 0.499
  view.setRun(run);
  EXPECT_EQ(view.baselineKind(), RankAllocationView::BaselineKind::Selector);
  std::vector<api::OpInfo> infos;
  for (const auto& op : run.ops)
    infos.push_back({op.name, op.layer, op.kind, op.inFeatures, op.outFeatures, false});
  const auto selector = ranklab::select::uniformRanksAtBudget(infos, run.run.keptFraction);
  EXPECT_EQ(view.uniformRanks(), selector);
  // By hand: attention 256 x 256, floor(0.499 * 65536 / 512) = 63; MLP 256 x 1024,
  // floor(0.499 * 262144 / 1280) = 102.
  EXPECT_EQ(selector, (std::vector<int64_t>{63, 63, 63, 63, 102, 102, 63, 63, 63, 63, 102, 102}));
  EXPECT_TRUE(std::isnan(view.uniformRatio()));

  QCPGraph* graph = uniformGraph(view);
  ASSERT_NE(graph, nullptr);
  EXPECT_TRUE(graph->visible());
  EXPECT_TRUE(graph->name().contains("uniform selector")) << graph->name().toStdString();
  ASSERT_EQ(graph->data()->size(), 12);
  const auto ops = view.barOps();
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(graph->data()->at(i)->key, double(i));
    EXPECT_EQ(graph->data()->at(i)->value, double(selector[size_t(ops[size_t(i)])])) << "bar " << i;
  }
  view.setShowFraction(true);
  EXPECT_DOUBLE_EQ(uniformGraph(view)->data()->at(0)->value, double(selector[size_t(ops[0])]) / 256.0);
  view.setUniformOverlay(false);
  EXPECT_FALSE(uniformGraph(view)->visible());
  EXPECT_FALSE(view.uniformOverlay());
  EXPECT_EQ(view.uniformRanks().size(), 12u);  // still computed for the CSV

  // The uniform-ratio line stays available as a second, named option.
  view.setUniformOverlay(true);
  view.setBaselineKind(RankAllocationView::BaselineKind::Ratio);
  EXPECT_EQ(view.uniformRanks(), std::vector<int64_t>(12, 85));
  EXPECT_TRUE(uniformGraph(view)->name().contains("uniform ratio r = 0.332"))
      << uniformGraph(view)->name().toStdString();
}

TEST(RankAllocationView, HeatmapHoldsKeptFractions) {
  RankAllocationView view;
  const api::RunData run = sampleRun(1);
  view.setRun(run);
  EXPECT_EQ(view.heatmapKinds(), QStringList({"q", "k", "v", "o", "up", "down"}));
  EXPECT_EQ(view.heatmapLayers(), (std::vector<int>{0, 1}));
  for (const auto& op : run.ops) {
    EXPECT_DOUBLE_EQ(view.heatmapValue(op.layer, QString::fromStdString(op.kind)),
                     double(op.rank) / double(op.fullRank))
        << op.name;
  }
  EXPECT_TRUE(std::isnan(view.heatmapValue(7, "q")));
  EXPECT_TRUE(std::isnan(view.heatmapValue(0, "gate")));
  EXPECT_EQ(view.heatmap()->dataRange().lower, 0.0);
  EXPECT_EQ(view.heatmap()->dataRange().upper, 1.0);
}

TEST(RankAllocationView, ComparisonShowsDifferencesAndMissingOps) {
  const api::RunData a = sampleRun(1);
  api::RunData b = sampleRun(2);
  for (size_t i = 0; i < b.ops.size(); ++i) b.ops[i].rank = a.ops[i].rank + int64_t(i) - 3;
  b.ops.pop_back();                                                  // layers.1.mlp.down only in A
  b.ops.push_back(makeOp("layers.2.attn.q", 2, "q", 256, 256, 40));  // only in B, index 11
  RankAllocationView view;
  view.setComparison(a, b);
  ASSERT_TRUE(view.comparisonMode());
  EXPECT_FALSE(view.placeholderShown());
  EXPECT_EQ(view.barLabels(), strings({"q 0", "q 1", "q 2 (B only)", "k 0", "k 1", "v 0", "v 1", "o 0", "o 1",
                                       "up 0", "up 1", "down 0", "down 1 (A only)"}));
  const auto values = view.barValues();
  const auto ops = view.barOps();
  ASSERT_EQ(values.size(), 13u);
  EXPECT_EQ(ops[2], 11);
  EXPECT_EQ(ops[12], -1);
  EXPECT_TRUE(std::isnan(values[2]));
  EXPECT_TRUE(std::isnan(values[12]));
  for (size_t i = 0; i < values.size(); ++i) {
    if (i == 2 || i == 12) continue;
    EXPECT_EQ(values[i], double(ops[i] - 3)) << view.barLabels()[i].toStdString();
  }
  for (size_t i = 0; i + 1 < a.ops.size(); ++i) {
    EXPECT_DOUBLE_EQ(view.heatmapValue(a.ops[i].layer, QString::fromStdString(a.ops[i].kind)),
                     (double(i) - 3.0) / 256.0);
  }
  EXPECT_TRUE(std::isnan(view.heatmapValue(1, "down")));
  EXPECT_TRUE(std::isnan(view.heatmapValue(2, "q")));
  EXPECT_TRUE(std::isnan(view.heatmapValue(2, "k")));
  // Diverging scale centred on 0.
  EXPECT_DOUBLE_EQ(view.heatmap()->dataRange().lower, -view.heatmap()->dataRange().upper);
  EXPECT_TRUE(view.uniformRanks().empty());
  EXPECT_FALSE(uniformGraph(view)->visible());

  view.setShowFraction(true);
  EXPECT_DOUBLE_EQ(view.barValues()[0], -3.0 / 256.0);

  view.setComparison(api::RunData{}, b);  // everything only in B
  EXPECT_FALSE(view.placeholderShown());
  const auto onlyB = view.barValues();
  EXPECT_EQ(onlyB.size(), b.ops.size());
  EXPECT_TRUE(std::all_of(onlyB.begin(), onlyB.end(), [](double v) { return std::isnan(v); }));
  view.setComparison(a, api::RunData{});
  EXPECT_EQ(view.barOps(), std::vector<int>(12, -1));
  view.setComparison(api::RunData{}, api::RunData{});
  EXPECT_TRUE(view.placeholderShown());
  view.setRun(a);
  EXPECT_FALSE(view.comparisonMode());
}

TEST(RankAllocationView, ClickingCellOrBarEmitsOpIndex) {
  RankAllocationView view;
  view.resize(1000, 800);
  view.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
  view.setRun(sampleRun(1));
  view.plot()->replot();
  QSignalSpy spy(&view, &RankAllocationView::opActivated);

  // Heatmap cell (layer 1, v) is op 6 * 1 + 2 = 8.
  const int column = int(view.heatmapKinds().indexOf("v"));
  const auto layers = view.heatmapLayers();
  const int row = int(std::find(layers.begin(), layers.end(), 1) - layers.begin());
  const QPoint cell(int(view.heatmap()->keyAxis()->coordToPixel(column)),
                    int(view.heatmap()->valueAxis()->coordToPixel(row)));
  QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier, cell);
  ASSERT_EQ(spy.count(), 1);
  EXPECT_EQ(spy.takeFirst().at(0).toInt(), 8);

  // Bar "up 1" is op 6 * 1 + 4 = 10, rank 28; click halfway up the bar.
  const auto labels = view.barLabels();
  const double position = double(std::find(labels.begin(), labels.end(), "up 1") - labels.begin());
  QCPAxis* x = view.barRect()->axis(QCPAxis::atBottom);
  QCPAxis* y = view.barRect()->axis(QCPAxis::atLeft);
  QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier,
                    QPoint(int(x->coordToPixel(position)), int(y->coordToPixel(14.0))));
  ASSERT_EQ(spy.count(), 1);
  EXPECT_EQ(spy.takeFirst().at(0).toInt(), 10);

  // Between two bars: nothing.
  QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier,
                    QPoint(int(x->coordToPixel(position + 0.5)), int(y->coordToPixel(5.0))));
  EXPECT_EQ(spy.count(), 0);
}

TEST(RankAllocationView, ExportsPngPdfAndCsv) {
  RankAllocationView view;
  view.resize(900, 700);
  view.setRun(sampleRun(1));
  QTemporaryDir dir;
  QString error;
  ASSERT_NO_FATAL_FAILURE(expectFigureExports(view, dir, "ranks"));
  ASSERT_TRUE(view.exportTo(dir.filePath("ranks.csv"), &error)) << error.toStdString();
  const QList<QByteArray> lines = readAll(dir.filePath("ranks.csv")).split('\n');
  ASSERT_EQ(lines.size(), 1 + 12 + 1);  // header, one row per op, trailing newline
  EXPECT_EQ(lines[0], "op,layer,kind,rank,full rank,uniform rank");
  EXPECT_EQ(lines[1], "layers.0.attn.q,0,q,16,256,63");
  EXPECT_EQ(lines[12], "layers.1.mlp.down,1,down,29,256,102");
  EXPECT_FALSE(view.exportTo(dir.filePath("ranks.svg"), &error));
  EXPECT_TRUE(error.contains("ranks.svg"));

  api::RunData b = sampleRun(2);
  b.ops.pop_back();
  view.setComparison(sampleRun(1), b);
  ASSERT_TRUE(view.exportTo(dir.filePath("diff.csv"), &error)) << error.toStdString();
  const QList<QByteArray> diff = readAll(dir.filePath("diff.csv")).split('\n');
  ASSERT_EQ(diff.size(), 1 + 12 + 1);
  EXPECT_EQ(diff[0], "op,layer,kind,rank a,rank b,full rank,difference");
  EXPECT_EQ(diff[12], "layers.1.mlp.down,1,down,29,,256,");
}

// Issue 18: an op an ARS run kept dense at full rank read "rank 256 of 256 · storage (200.0%) · kept
// dense · mask keeps 94". The label now follows one model of the op's state.
TEST(SpectrumView, HeaderTellsOneConsistentStoryOfTheOpsState) {
  SpectrumView view;
  api::OpResult op = makeOp("layers.1.attn.k", 1, "k", 256, 256, 256);
  op.factorized = false;
  for (int i = 0; i < 256; ++i) op.spectrum.push_back(float(256 - i));
  op.plainSpectrum = op.spectrum;
  std::vector<uint8_t> mask(32, 0);
  for (int i = 0; i < 94; ++i) mask[size_t(i / 8)] |= uint8_t(1u << (i % 8));
  view.setOp(op, mask, "svd", 290);
  const QString text = view.infoText();
  EXPECT_TRUE(text.contains("plain SVD of W")) << text.toStdString();
  EXPECT_TRUE(text.contains("rank 256 of 256")) << text.toStdString();
  EXPECT_TRUE(text.contains("stored dense: W at full rank")) << text.toStdString();
  EXPECT_FALSE(text.contains("200")) << "a dense op stores M N, not k (M + N)";
  EXPECT_TRUE(text.contains("learned mask at step 290 keeps 94")) << text.toStdString();
  EXPECT_TRUE(text.contains("the rank 256 comes from the run's final read-off")) << text.toStdString();
  EXPECT_EQ(view.spectrumGraph()->name(), "singular values of W");

  // Below full rank but at or past the break-even k = M N / (M + N) = 128: W itself is stored.
  op.rank = 140;
  view.setOp(op, {}, "whiten");
  EXPECT_TRUE(view.infoText().contains("whitened SVD (SVD-LLM)"));
  EXPECT_TRUE(view.infoText().contains("stored dense: W itself")) << view.infoText().toStdString();
  EXPECT_EQ(view.spectrumGraph()->name(), "whitened SVD (SVD-LLM)");
  op.rank = 94;
  op.factorized = true;
  view.setOp(op, mask, "fwsvd");
  EXPECT_TRUE(view.infoText().contains("Fisher-weighted SVD"));
  const QString factorized = QStringLiteral("stored factorized: k(M+N) = %1 vs MN = %2 (73.4%)")
                                 .arg(QLocale().toString(48128), QLocale().toString(65536));
  EXPECT_TRUE(view.infoText().contains(factorized)) << view.infoText().toStdString();
  EXPECT_FALSE(view.infoText().contains("read-off"));  // the mask and the rank agree
}

TEST(SpectrumView, EnergyKeptFromTheSpectrum) {
  SpectrumView view;
  EXPECT_TRUE(view.placeholderShown());
  EXPECT_TRUE(std::isnan(view.energyKept()));
  EXPECT_EQ(view.cutRank(), -1);

  api::OpResult op = makeOp("layers.0.attn.q", 0, "q", 4, 6, 2);
  op.spectrum = {4.0f, 3.0f, 2.0f, 1.0f};
  op.plainSpectrum = op.spectrum;
  op.energyKept = 0.5;  // deliberately wrong: the view must compute from the spectrum
  view.setOp(op);
  // Metric: absolute difference of the energy fraction; tolerance 1e-9.
  // (16 + 9) / (16 + 9 + 4 + 1) = 25 / 30.
  EXPECT_NEAR(view.energyKept(), 25.0 / 30.0, 1e-9);
  EXPECT_EQ(view.cutRank(), 2);
  EXPECT_TRUE(view.infoText().contains("rank 2 of 4"));
  EXPECT_TRUE(view.infoText().contains("83.33%"));
  EXPECT_TRUE(view.infoText().contains("k(M+N) = 20 vs MN = 24"));
  // The cut sits between index k - 1 (kept) and k (dropped).
  QCPItemStraightLine* cut = nullptr;
  for (int i = 0; i < view.plot()->itemCount(); ++i)
    if (auto* line = qobject_cast<QCPItemStraightLine*>(view.plot()->item(i))) cut = line;
  ASSERT_NE(cut, nullptr);
  EXPECT_EQ(cut->point1->coords().x(), 1.5);
  EXPECT_EQ(cut->point2->coords().x(), 1.5);

  // Rank past the spectrum keeps everything.
  op.rank = 9;
  view.setOp(op);
  EXPECT_NEAR(view.energyKept(), 1.0, 1e-9);

  // No spectrum stored: the stored value.
  op.spectrum.clear();
  op.plainSpectrum.clear();
  view.setOp(op);
  EXPECT_EQ(view.energyKept(), 0.5);
  EXPECT_TRUE(view.placeholderShown());
  EXPECT_EQ(view.spectrumGraphCount(), 0);

  // Sample op: s_i = 20 exp(-i / 40) (weighted = 2 x plain); the energy of a power-of-two-scaled
  // spectrum equals the sample's stored value computed on the plain one. Metric: absolute
  // difference; tolerance 1e-12.
  const api::OpResult sample = sampleRun(1).ops[3];
  view.setOp(sample);
  EXPECT_NEAR(view.energyKept(), sample.energyKept, 1e-12);
  // And the closed form sum_{i<k} q^i / sum_{i<256} q^i with q = exp(-1/20); the spectrum is float,
  // so the tolerance is 1e-6.
  const double q = std::exp(-1.0 / 20.0);
  EXPECT_NEAR(view.energyKept(), (1.0 - std::pow(q, double(sample.rank))) / (1.0 - std::pow(q, 256.0)), 1e-6);
}

TEST(SpectrumView, PlainSpectrumGraphOnlyWhenItDiffers) {
  SpectrumView view;
  const api::OpResult weighted = sampleRun(1).ops[0];  // spectrum = 2 x plain
  view.setOp(weighted);
  EXPECT_FALSE(view.placeholderShown());
  EXPECT_EQ(view.spectrumGraphCount(), 2);
  EXPECT_TRUE(view.plainSpectrumShown());
  ASSERT_EQ(view.plainGraph()->data()->size(), 256);
  EXPECT_EQ(view.plainGraph()->data()->at(0)->value, double(weighted.plainSpectrum[0]));
  EXPECT_EQ(view.spectrumGraph()->data()->at(0)->value, double(weighted.spectrum[0]));
  EXPECT_EQ(view.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
  EXPECT_FALSE(view.maskGraph()->visible());

  api::OpResult plain = weighted;
  plain.plainSpectrum = plain.spectrum;
  view.setOp(plain);
  EXPECT_EQ(view.spectrumGraphCount(), 1);
  EXPECT_FALSE(view.plainSpectrumShown());

  plain.plainSpectrum.clear();
  view.setOp(plain);
  EXPECT_EQ(view.spectrumGraphCount(), 1);
  EXPECT_FALSE(view.plainSpectrumShown());

  view.clear();
  EXPECT_TRUE(view.placeholderShown());
  EXPECT_EQ(view.spectrumGraphCount(), 0);
}

TEST(SpectrumView, MaskBitsSelectHighlightedIndices) {
  SpectrumView view;
  api::OpResult op = makeOp("layers.0.attn.k", 0, "k", 12, 12, 5);
  for (int i = 0; i < 12; ++i) op.spectrum.push_back(float(12 - i));
  op.plainSpectrum = op.spectrum;
  // Bits 0, 1, 2, 5 in byte 0 (0x27) and 9 in byte 1 (0x02); 12..15 (0xF0) lie past the spectrum.
  view.setOp(op, {0x27, 0xF2});
  EXPECT_EQ(view.maskedIndices(), (std::vector<int>{0, 1, 2, 5, 9}));
  QCPGraph* mask = view.maskGraph();
  ASSERT_TRUE(mask->visible());
  ASSERT_EQ(mask->data()->size(), 5);
  const int expected[] = {0, 1, 2, 5, 9};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(mask->data()->at(i)->key, double(expected[i]));
    EXPECT_EQ(mask->data()->at(i)->value, double(12 - expected[i]));
  }
  EXPECT_TRUE(view.infoText().contains("not a prefix"));

  view.setOp(op, {0x27});  // missing bytes read as zero
  EXPECT_EQ(view.maskedIndices(), (std::vector<int>{0, 1, 2, 5}));
  view.setOp(op);
  EXPECT_TRUE(view.maskedIndices().empty());
  EXPECT_FALSE(view.maskGraph()->visible());
}

TEST(SpectrumView, ExportsPngPdfAndCsv) {
  SpectrumView view;
  view.resize(700, 500);
  api::OpResult op = makeOp("layers.0.attn.k", 0, "k", 12, 12, 5);
  for (int i = 0; i < 12; ++i) {
    op.spectrum.push_back(float(12 - i));
    op.plainSpectrum.push_back(float(12 - i) / 2.0f);
  }
  view.setOp(op, {0x27, 0x02});
  QTemporaryDir dir;
  QString error;
  ASSERT_NO_FATAL_FAILURE(expectFigureExports(view, dir, "s"));
  ASSERT_TRUE(view.exportTo(dir.filePath("s.csv"), &error)) << error.toStdString();
  const QList<QByteArray> lines = readAll(dir.filePath("s.csv")).split('\n');
  ASSERT_EQ(lines.size(), 1 + 12 + 1);  // header, one row per singular value, trailing newline
  EXPECT_EQ(lines[0], "index,singular value,plain singular value,kept");
  EXPECT_EQ(lines[1], "0,12,6,1");
  EXPECT_EQ(lines[4], "3,9,4.5,0");
  EXPECT_EQ(lines[10], "9,3,1.5,1");

  view.setOp(op);  // no mask: kept = index < rank
  ASSERT_TRUE(view.exportTo(dir.filePath("prefix.csv"), &error)) << error.toStdString();
  const QList<QByteArray> prefix = readAll(dir.filePath("prefix.csv")).split('\n');
  EXPECT_EQ(prefix[5], "4,8,4,1");
  EXPECT_EQ(prefix[6], "5,7,3.5,0");

  view.clear();
  EXPECT_FALSE(view.exportTo(dir.filePath("none.csv"), &error));
}
