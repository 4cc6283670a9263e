// CompareView on hand-built runs (views/sample_runs.h) whose differences are known: config diff,
// metric deltas, aligned rank bars and curves, the placeholder, and the exports.
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QCheckBox>
#include <QCoreApplication>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>

#include "views/sample_runs.h"
#include "widgets/compare_view.h"
#include "widgets/plot_interaction.h"

namespace api = ranklab::api;
using ranklab::api::RunData;
using ranklab::test::sampleRun;
using ranklab::widgets::CompareView;

namespace {

// Three runs: ars p=0.5, ars p=0.3, uniform p=0.3; perplexity after 90, 95, 88.5. Run 2 gets twice
// the sample ranks so the rank rows differ.
std::vector<RunData> threeRuns() {
  std::vector<RunData> runs = {sampleRun(1, "ars", 0.5, 90.0), sampleRun(2, "ars", 0.3, 95.0),
                               sampleRun(3, "uniform", 0.3, 88.5)};
  for (auto& op : runs[1].ops) op.rank *= 2;
  return runs;
}

QStringList readLines(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) return {};
  return QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

QString rowKey(const QTableWidget& table, int row) { return table.item(row, 0)->text(); }

}  // namespace

TEST(CompareView, TwoRunsDifferOnlyInSelector) {
  CompareView view;
  view.setRuns({sampleRun(1, "ars", 0.5, 90.0), sampleRun(2, "uniform", 0.5, 95.0)});
  ASSERT_FALSE(view.showsPlaceholder());
  EXPECT_EQ(view.runCount(), 2);
  // The config's "selector" repeats the record field with the same values, so it is one row.
  EXPECT_EQ(view.differingKeys(), QStringList({"selector"}));
  EXPECT_EQ(view.cellText("selector", 0), "ars");
  EXPECT_EQ(view.cellText("selector", 1), "uniform");
  for (const char* same : {"model", "decomposition", "keptFraction", "seed", "device", "keep"}) {
    EXPECT_TRUE(view.keys().contains(same)) << same;
    EXPECT_FALSE(view.differingKeys().contains(same)) << same;
  }
  EXPECT_EQ(view.cellText("keep", 1), "0.5");
  EXPECT_EQ(view.cellText("model", 0), "resources/models/gpt-mini");
  EXPECT_TRUE(view.cellText("no such key", 0).isNull());
  EXPECT_TRUE(view.cellText("selector", 2).isNull());
}

TEST(CompareView, ThreeRunsDiffShowsChangedKeysHighlighted) {
  CompareView view;
  view.setRuns(threeRuns());
  // The record's keep target and the spec's "keep" are one row; the kept fraction reached is a
  // run-time detail, hidden by default.
  EXPECT_EQ(view.differingKeys(), QStringList({"selector", "keep", "keptFraction"}));
  EXPECT_EQ(view.shownKeys(), QStringList({"selector", "keep"}));
  EXPECT_EQ(view.cellText("keep", 0), "0.5");
  EXPECT_EQ(view.cellText("keep", 1), "0.3");
  EXPECT_EQ(view.cellText("keep", 2), "0.3");
  EXPECT_EQ(view.cellText("selector", 2), "uniform");

  QTableWidget* table = view.diffTable();
  EXPECT_EQ(table->columnCount(), 4);  // the key, then one column per run
  ASSERT_EQ(table->rowCount(), 2);     // only differing settings by default
  for (int r = 0; r < table->rowCount(); ++r) {
    EXPECT_TRUE(view.differingKeys().contains(rowKey(*table, r)));
    EXPECT_NE(table->item(r, 1)->background().style(), Qt::NoBrush) << "differing rows are highlighted";
  }
  EXPECT_EQ(table->item(0, 3)->text(), "uniform");

  view.setShowDetails(true);
  EXPECT_EQ(table->rowCount(), 3);
  EXPECT_EQ(view.shownKeys(), QStringList({"selector", "keep", "keptFraction"}));
  view.setShowAll(true);
  EXPECT_TRUE(view.showAllCheck()->isChecked());
  ASSERT_EQ(table->rowCount(), view.keys().size());
  EXPECT_GT(table->rowCount(), 4);
  for (int r = 0; r < table->rowCount(); ++r) {
    const bool differs = view.differingKeys().contains(rowKey(*table, r));
    EXPECT_EQ(table->item(r, 1)->background().style() != Qt::NoBrush, differs)
        << rowKey(*table, r).toStdString();
  }
  view.showAllCheck()->setChecked(false);
  EXPECT_EQ(table->rowCount(), 3);
}

TEST(CompareView, SettingsDiffHidesRunTimeDetailsAndRoundsNumbers) {
  std::vector<RunData> runs = {sampleRun(1, "ars"), sampleRun(2, "ars")};
  runs[0].run.configJson =
      R"({"selector":"ars","keep":0.5,"ars_lambda":16,"_details":{"ars":{"budget":0.4986979166666667,)"
      R"("logging_seconds":1.25}}})";
  runs[1].run.configJson =
      R"({"selector":"ars","keep":0.5,"ars_lambda":8,"_details":{"ars":{"budget":0.5013020833333334,)"
      R"("logging_seconds":1.5}}})";
  CompareView view;
  view.setRuns(runs);
  // What the user set shows; what the runs reported waits behind the toggle.
  EXPECT_EQ(view.shownKeys(), QStringList({"ars_lambda"}));
  EXPECT_TRUE(view.differingKeys().contains("_details.ars.logging_seconds"));
  view.setShowDetails(true);
  EXPECT_EQ(view.shownKeys(),
            QStringList({"ars_lambda", "_details.ars.budget", "_details.ars.logging_seconds"}));
  // Four significant digits on screen, the exact value in the tooltip and the CSV.
  EXPECT_EQ(view.cellText("_details.ars.budget", 0), "0.4987");
  EXPECT_EQ(view.cellText("ars_lambda", 1), "8");
  QTableWidget* table = view.diffTable();
  ASSERT_EQ(table->rowCount(), 3);
  EXPECT_EQ(table->item(1, 1)->text(), "0.4987");
  EXPECT_EQ(table->item(1, 1)->toolTip(), "0.4986979166666667");
}

TEST(CompareView, FlattensNestedConfigAndKeepsDisagreeingRepeats) {
  std::vector<RunData> runs = {sampleRun(1, "ars"), sampleRun(2, "uniform")};
  runs[0].run.configJson =
      R"({"selector":"energy","keep":0.5,"_details":{"ars":{"steps":200,"tau":0.4}},"lr":[1,2]})";
  runs[1].run.configJson =
      R"({"selector":"uniform","keep":0.5,"_details":{"ars":{"steps":100,"tau":0.4}},"extra":true})";
  CompareView view;
  view.setRuns(runs);
  const QStringList differing = view.differingKeys();
  // The settings first, then what the runs reported.
  EXPECT_EQ(differing, QStringList({"selector", "extra", "lr", "config.selector", "_details.ars.steps"}));
  EXPECT_TRUE(view.keys().contains("_details.ars.tau"));
  EXPECT_FALSE(view.keys().contains("_details"));
  EXPECT_EQ(view.cellText("_details.ars.steps", 0), "200");
  EXPECT_EQ(view.cellText("config.selector", 0), "energy");
  EXPECT_EQ(view.cellText("selector", 0), "ars");
  EXPECT_EQ(view.cellText("lr", 0), "[1,2]");
  EXPECT_EQ(view.cellText("lr", 1), QString::fromUtf8("\u2013"));  // run 2 has no "lr"
  EXPECT_EQ(view.cellText("extra", 1), "true");

  runs[1].run.configJson = "{not json";
  view.setRuns(runs);
  EXPECT_TRUE(view.differingKeys().contains("configJson"));
  EXPECT_TRUE(view.cellText("configJson", 1).contains("not valid JSON"));
}

TEST(CompareView, MetricDeltasAgainstTheFirstRun) {
  CompareView view;
  view.setRuns(threeRuns());
  // Exact inputs; metric: absolute error, tolerance 1e-12.
  EXPECT_NEAR(view.metricDelta(0), 0.0, 1e-12);
  EXPECT_NEAR(view.metricDelta(1), 95.0 - 90.0, 1e-12);
  EXPECT_NEAR(view.metricDelta(2), 88.5 - 90.0, 1e-12);
  EXPECT_NEAR(view.metricDeltaPercent(1), 100.0 * 5.0 / 90.0, 1e-12);
  EXPECT_NEAR(view.metricDeltaPercent(2), 100.0 * -1.5 / 90.0, 1e-12);
  EXPECT_TRUE(std::isnan(view.metricDelta(3)));
  EXPECT_TRUE(std::isnan(view.metricDelta(-1)));

  QTableWidget* metrics = view.metricsTable();
  auto cell = [&](const QString& rowTitle, int run) {
    for (int r = 0; r < metrics->rowCount(); ++r)
      if (metrics->item(r, 0)->text().startsWith(rowTitle)) return metrics->item(r, run + 1)->text();
    return QString();
  };
  EXPECT_EQ(cell("After", 1), "95.00");
  EXPECT_EQ(cell("Before", 2), "82.70");
  EXPECT_EQ(cell(QString::fromUtf8("\u0394 after vs #1 (%)"), 1), "+5.6%");
  EXPECT_EQ(cell(QString::fromUtf8("\u0394 after vs #1"), 2), "-1.50");

  std::vector<RunData> mixed = threeRuns();
  mixed[2].run.metric = "accuracy";
  mixed[1].run.metricAfter = std::nan("");
  view.setRuns(mixed);
  EXPECT_TRUE(std::isnan(view.metricDelta(1))) << "not measured";
  EXPECT_TRUE(std::isnan(view.metricDelta(2))) << "different metrics";
  EXPECT_NEAR(view.metricDelta(0), 0.0, 1e-12);

  // Issue 18: the same metric measured on another number of documents is not a delta.
  std::vector<RunData> protocols = threeRuns();
  protocols[1].run.protocol.maxDocuments = 1;
  protocols[1].run.protocol.documents = 1;
  protocols[1].run.protocol.counted = 120;
  view.setRuns(protocols);
  EXPECT_TRUE(std::isnan(view.metricDelta(1))) << "evaluated on 1 document against 6";
  EXPECT_NEAR(view.metricDelta(2), 88.5 - 90.0, 1e-12);
  EXPECT_EQ(cell(QString::fromUtf8("\u0394 after vs #1"), 1), "not comparable");
  EXPECT_TRUE(cell("Evaluated on", 1).contains(QString::fromUtf8("1 doc \u00b7 120 tokens")))
      << cell("Evaluated on", 1).toStdString();
  EXPECT_TRUE(cell("Evaluated on", 0).contains("6 docs"));
}

TEST(CompareView, EveryMetricBesidesTheHeadlineGetsItsOwnRows) {
  std::vector<RunData> runs = threeRuns();
  const api::EvalProtocol mc = ranklab::test::sampleChoiceProtocol();
  const double after[] = {0.44, 0.40, 0.45};
  for (size_t r = 0; r < runs.size(); ++r) {
    runs[r].evals.push_back({"before", "next-words.jsonl", "acc_norm", 1.0, 0.4575, 400, mc});
    runs[r].evals.push_back({"after", "next-words.jsonl", "acc_norm", 0.5, after[r], 400, mc});
  }
  runs[2].evals.back().protocol.counted = 200;  // scored on fewer items: no delta
  CompareView view;
  view.setRuns(runs);
  QTableWidget* metrics = view.metricsTable();
  auto cell = [&](const QString& rowTitle, int run) {
    for (int r = 0; r < metrics->rowCount(); ++r)
      if (metrics->item(r, 0)->text().startsWith(rowTitle)) return metrics->item(r, run + 1)->text();
    return QString();
  };
  EXPECT_EQ(cell(QString::fromUtf8("acc_norm before \u2192 after"), 0),
            QString::fromUtf8("0.4575 \u2192 0.4400"));
  EXPECT_EQ(cell(QString::fromUtf8("\u0394 acc_norm after vs #1"), 0), "reference");
  EXPECT_EQ(cell(QString::fromUtf8("\u0394 acc_norm after vs #1"), 1), "-0.0400");
  EXPECT_EQ(cell(QString::fromUtf8("\u0394 acc_norm after vs #1"), 2), "not comparable");
  // The headline rows still hold the perplexity.
  EXPECT_EQ(cell("After", 1), "95.00");

  // Shown, the metrics pane grows so the extra rows are in view without scrolling.
  view.resize(1200, 900);
  view.show();
  QCoreApplication::processEvents();
  view.setRuns(runs);
  QCoreApplication::processEvents();
  const int last = metrics->rowCount() - 1;
  const QRect rect = metrics->visualRect(metrics->model()->index(last, 1));
  EXPECT_TRUE(metrics->viewport()->rect().contains(rect))
      << "last row at y " << rect.bottom() << " of " << metrics->viewport()->height();
}

TEST(CompareView, RankBarsAreGroupedPerOpOnOneAxis) {
  const std::vector<RunData> runs = threeRuns();
  CompareView view;
  view.setRuns(runs);
  ASSERT_EQ(view.rankSeriesCount(), 3);
  ASSERT_EQ(view.rankOpNames().size(), 12);
  for (size_t i = 0; i < runs[0].ops.size(); ++i)
    EXPECT_EQ(view.rankOpNames()[int(i)].toStdString(), runs[0].ops[i].name);
  for (int r = 0; r < 3; ++r) {
    const std::vector<double> bars = view.rankBars(r);
    ASSERT_EQ(bars.size(), runs[size_t(r)].ops.size());
    for (size_t i = 0; i < bars.size(); ++i)
      EXPECT_EQ(bars[i], double(runs[size_t(r)].ops[i].rank)) << "run " << r << " op " << i;
  }
  EXPECT_TRUE(view.rankBars(3).empty());

  // One axis rect; the three runs' bars sit side by side in one group per op, not stacked plots.
  QCustomPlot* plot = view.rankPlot();
  ASSERT_EQ(plot->axisRects().size(), 1);
  ASSERT_EQ(plot->plottableCount(), 3);
  std::vector<double> centres;
  for (int r = 0; r < 3; ++r) {
    auto* bars = qobject_cast<QCPBars*>(plot->plottable(r));
    ASSERT_NE(bars, nullptr);
    ASSERT_NE(bars->barsGroup(), nullptr);
    EXPECT_EQ(bars->barsGroup(), qobject_cast<QCPBars*>(plot->plottable(0))->barsGroup());
    centres.push_back(bars->dataPixelPosition(0).x());
  }
  EXPECT_LT(centres[0], centres[1]);
  EXPECT_LT(centres[1], centres[2]);
  EXPECT_GE(plot->yAxis->range().upper, 2.0 * (16 + 8 + 5));  // the largest rank: run 2, layer 1, down
  EXPECT_EQ(plot->xAxis->range(), QCPRange(-0.5, 11.5));
  // The legend has a row of its own above the bars, outside the axis rect.
  view.resize(1000, 600);
  view.show();
  view.tabs()->setCurrentIndex(1);
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
  plot->replot();
  ASSERT_GT(plot->axisRect()->rect().height(), 100);
  EXPECT_FALSE(plot->axisRect()->rect().intersects(plot->legend->outerRect()));
}

TEST(CompareView, RankHoverNamesTheOpAndEveryRunsRank) {
  const std::vector<RunData> runs = threeRuns();
  CompareView view;
  view.setRuns(runs);
  view.resize(1000, 600);
  view.show();
  view.tabs()->setCurrentIndex(1);
  QCustomPlot* plot = view.rankPlot();
  plot->replot();
  const QPoint pixel(int(plot->xAxis->coordToPixel(0.0)), plot->axisRect()->center().y());
  const QString text = view.rankHoverText(pixel);
  const auto& op = runs[0].ops[0];
  EXPECT_TRUE(text.startsWith(QString::fromStdString(op.name))) << text.toStdString();
  EXPECT_TRUE(text.contains(QStringLiteral("#1 svd+ars p=0.50: rank %1 of %2").arg(op.rank).arg(op.fullRank)))
      << text.toStdString();
  EXPECT_TRUE(text.contains(QStringLiteral("rank %1 of %2").arg(2 * op.rank).arg(op.fullRank)))
      << text.toStdString();
  EXPECT_TRUE(text.contains(QStringLiteral("(+%1 vs #1").arg(op.rank))) << text.toStdString();
  // Between two ops' groups there is nothing to read.
  EXPECT_TRUE(view.rankHoverText(QPoint(int(plot->xAxis->coordToPixel(0.5)), pixel.y())).isEmpty());
}

TEST(CompareView, RankDifferencePlotsLaterRunsMinusTheFirst) {
  const std::vector<RunData> runs = threeRuns();
  CompareView view;
  view.setRuns(runs);
  view.rankDifferenceCheck()->setChecked(true);
  QCustomPlot* plot = view.rankPlot();
  ASSERT_EQ(view.rankSeriesCount(), 2);
  ASSERT_EQ(plot->plottableCount(), 2);
  auto* second = qobject_cast<QCPBars*>(plot->plottable(0));
  ASSERT_NE(second, nullptr);
  ASSERT_EQ(second->data()->size(), 12);
  for (int i = 0; i < 12; ++i)  // run 2 keeps twice run 1's rank: the difference is run 1's rank
    EXPECT_EQ((second->data()->constBegin() + i)->value, double(runs[0].ops[size_t(i)].rank)) << i;
  EXPECT_TRUE(plot->yAxis->label().contains("#1"));
  view.rankDifferenceCheck()->setChecked(false);
  EXPECT_EQ(view.rankSeriesCount(), 3);
}

TEST(CompareView, RankAxisIsTheUnionOfOps) {
  std::vector<RunData> runs = {sampleRun(1), sampleRun(2)};
  runs[0].ops.pop_back();  // run 1 lacks layers.1.mlp.down
  CompareView view;
  view.setRuns(runs);
  ASSERT_EQ(view.rankOpNames().size(), 12);
  EXPECT_EQ(view.rankOpNames().back(), "layers.1.mlp.down");
  EXPECT_TRUE(std::isnan(view.rankBars(0).back()));
  EXPECT_EQ(view.rankBars(1).back(), double(runs[1].ops.back().rank));
}

TEST(CompareView, CurvesOverlayEachRunsLossSeries) {
  std::vector<RunData> runs = threeRuns();
  for (auto& p : runs[1].series)
    if (p.name == "task_loss") p.name = "finetune_loss";
  runs[2].series.clear();
  runs[2].series.push_back({0, "budget", 1.0});
  CompareView view;
  view.setRuns(runs);
  EXPECT_EQ(view.curveSeriesName(0), "task_loss");
  EXPECT_EQ(view.curveSeriesName(1), "finetune_loss");
  EXPECT_EQ(view.curveSeriesName(2), "budget");
  QCustomPlot* plot = view.curvePlot();
  ASSERT_EQ(plot->graphCount(), 3);
  const auto data = plot->graph(0)->data();
  ASSERT_EQ(data->size(), 5);
  for (int f = 0; f < 5; ++f) {
    EXPECT_EQ((data->constBegin() + f)->key, 10.0 * f);
    EXPECT_NEAR((data->constBegin() + f)->value, 3.0 - 0.1 * f, 1e-12) << "absolute error";
  }
  EXPECT_NE(plot->graph(0)->pen().color(), plot->graph(1)->pen().color());
  // Every curve fits, with a margin: nothing touches the top of the frame.
  double high = -1e300;
  for (int g = 0; g < plot->graphCount(); ++g)
    for (auto it = plot->graph(g)->data()->constBegin(); it != plot->graph(g)->data()->constEnd(); ++it)
      high = std::max(high, it->value);
  EXPECT_GT(plot->yAxis->range().upper, high);
  EXPECT_TRUE(view.curveNote()->isHidden());
  view.resize(1000, 600);
  view.show();
  view.tabs()->setCurrentIndex(2);
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
  plot->replot();
  ASSERT_GT(plot->axisRect()->rect().height(), 100);
  EXPECT_FALSE(plot->axisRect()->rect().intersects(plot->legend->outerRect())) << "the legend covers curves";
}

TEST(CompareView, CurvesNameRunsWithoutATrainingCurve) {
  std::vector<RunData> runs = threeRuns();
  runs[2].series.clear();  // a uniform run trains nothing
  CompareView view;
  view.setRuns(runs);
  EXPECT_EQ(view.curvePlot()->graphCount(), 2);
  EXPECT_FALSE(view.curveNote()->isHidden());
  EXPECT_TRUE(view.curveNote()->text().contains("#3")) << view.curveNote()->text().toStdString();
}

TEST(CompareView, CurveSmoothingDrawsAnAverageOverFaintRawCurves) {
  CompareView view;
  view.setRuns(threeRuns());
  QCustomPlot* plot = view.curvePlot();
  ASSERT_EQ(plot->graphCount(), 3);
  view.curveInteraction()->setSmoothing(0.6);
  ASSERT_EQ(plot->graphCount(), 6);
  QCPGraph* raw = plot->graph(0);
  QCPGraph* smooth = view.curveInteraction()->smoothedGraph(raw);
  ASSERT_NE(smooth, nullptr);
  EXPECT_LT(raw->pen().color().alpha(), 255);
  EXPECT_EQ(smooth->pen().color().alpha(), 255);
  // Debiased EMA of 3.0, 2.9, ...: the first point equals the raw one; the second is
  // (0.6 * 0.4 * 3.0 + 0.4 * 2.9) / (1 - 0.36).
  ASSERT_EQ(smooth->data()->size(), 5);
  EXPECT_NEAR(smooth->data()->constBegin()->value, 3.0, 1e-12) << "absolute error";
  EXPECT_NEAR((smooth->data()->constBegin() + 1)->value, (0.6 * 0.4 * 3.0 + 0.4 * 2.9) / (1 - 0.36), 1e-12)
      << "absolute error";
  view.curveInteraction()->setSmoothing(0.0);
  EXPECT_EQ(plot->graphCount(), 3);
  EXPECT_EQ(raw->pen().color().alpha(), 255);
}

TEST(CompareView, WrongRunCountsShowThePlaceholder) {
  CompareView view;
  EXPECT_TRUE(view.showsPlaceholder());
  EXPECT_FALSE(view.placeholderText().isEmpty());

  view.setRuns(threeRuns());
  ASSERT_FALSE(view.showsPlaceholder());

  view.setRuns({sampleRun(1)});
  EXPECT_TRUE(view.showsPlaceholder());
  EXPECT_TRUE(view.placeholderText().contains("at least 2")) << view.placeholderText().toStdString();
  EXPECT_EQ(view.runCount(), 0);
  EXPECT_EQ(view.rankSeriesCount(), 0);
  EXPECT_TRUE(view.differingKeys().isEmpty());
  EXPECT_EQ(view.curvePlot()->graphCount(), 0);

  std::vector<RunData> five;
  for (int id = 1; id <= 5; ++id) five.push_back(sampleRun(id, id % 2 ? "ars" : "uniform"));
  view.setRuns(five);
  EXPECT_TRUE(view.showsPlaceholder());
  EXPECT_TRUE(view.placeholderText().contains("at most 4")) << view.placeholderText().toStdString();
  EXPECT_EQ(view.rankSeriesCount(), 0);

  five.pop_back();
  view.setRuns(five);
  EXPECT_FALSE(view.showsPlaceholder());
  EXPECT_EQ(view.rankSeriesCount(), 4);
}

TEST(CompareView, ExportsWritePlotsAndTheDiff) {
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  CompareView view;
  view.setRuns({sampleRun(1, "ars", 0.5, 90.0), sampleRun(2, "uniform", 0.5, 95.0)});
  QString error;

  for (const char* name : {"ranks.png", "ranks.pdf", "ranks.csv", "curves.png", "curves.pdf", "curves.csv"}) {
    const QString path = dir.filePath(QString::fromLatin1(name));
    const bool ok = QString::fromLatin1(name).startsWith("ranks") ? view.exportRankPlot(path, &error)
                                                                  : view.exportCurvePlot(path, &error);
    ASSERT_TRUE(ok) << name << ": " << error.toStdString();
    EXPECT_GT(QFileInfo(path).size(), 0) << name;
  }
  const QImage ranks(dir.filePath("ranks.png"));
  ASSERT_FALSE(ranks.isNull());
  EXPECT_GE(ranks.width(), 900);

  const QStringList rankCsv = readLines(dir.filePath("ranks.csv"));
  ASSERT_EQ(rankCsv.size(), 1 + 2 * 12);
  EXPECT_EQ(rankCsv[0], "series,op_index,rank");
  EXPECT_EQ(rankCsv[1], "#1 svd+ars p=0.50,0,16");
  const QStringList curveCsv = readLines(dir.filePath("curves.csv"));
  ASSERT_EQ(curveCsv.size(), 1 + 2 * 5);
  EXPECT_EQ(curveCsv[0], "series,step,value");

  const QString diffPath = dir.filePath("diff.csv");
  ASSERT_TRUE(view.exportDiffCsv(diffPath, &error)) << error.toStdString();
  const QStringList diff = readLines(diffPath);
  ASSERT_EQ(diff.size(), 1 + view.keys().size());
  EXPECT_EQ(diff[0], "key,#1 svd+ars p=0.50,#2 svd+uniform p=0.50,differs");
  EXPECT_TRUE(diff.contains("selector,ars,uniform,yes"));
  EXPECT_TRUE(diff.contains("decomposition,svd,svd,no"));

  EXPECT_FALSE(view.exportRankPlot(dir.filePath("ranks.txt"), &error));
  EXPECT_TRUE(error.contains("ranks.txt"));
  EXPECT_FALSE(view.exportDiffCsv(dir.filePath("missing/dir/diff.csv"), &error));
  EXPECT_TRUE(error.contains("diff.csv"));
}
