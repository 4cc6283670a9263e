// CompareView on hand-built runs (views/sample_runs.h) whose differences are known: config diff,
// metric deltas, aligned rank bars and curves, the placeholder, and the exports.
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QCheckBox>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QTableWidget>
#include <QTemporaryDir>
#include <cmath>

#include "views/sample_runs.h"
#include "widgets/compare_view.h"

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
  for (const char* same :
       {"model", "decomposition", "keepTarget", "keptFraction", "seed", "device", "keep"}) {
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
  EXPECT_EQ(view.differingKeys(), QStringList({"selector", "keepTarget", "keptFraction", "keep"}));
  EXPECT_EQ(view.cellText("keepTarget", 0), "0.5");
  EXPECT_EQ(view.cellText("keepTarget", 1), "0.3");
  EXPECT_EQ(view.cellText("keep", 2), "0.3");
  EXPECT_EQ(view.cellText("selector", 2), "uniform");

  QTableWidget* table = view.diffTable();
  EXPECT_EQ(table->columnCount(), 4);  // the key, then one column per run
  ASSERT_EQ(table->rowCount(), 4);     // only differing rows by default
  for (int r = 0; r < table->rowCount(); ++r) {
    EXPECT_TRUE(view.differingKeys().contains(rowKey(*table, r)));
    EXPECT_NE(table->item(r, 1)->background().style(), Qt::NoBrush) << "differing rows are highlighted";
  }
  EXPECT_EQ(table->item(0, 3)->text(), "uniform");

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
  EXPECT_EQ(table->rowCount(), 4);
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
  EXPECT_EQ(differing, QStringList({"selector", "_details.ars.steps", "extra", "lr", "config.selector"}));
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

TEST(CompareView, RankRowsShareTheOpAxisAndRange) {
  const std::vector<RunData> runs = threeRuns();
  CompareView view;
  view.setRuns(runs);
  ASSERT_EQ(view.rankPlotCount(), 3);
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

  const QList<QCPAxisRect*> rects = view.rankPlot()->axisRects();
  ASSERT_EQ(rects.size(), 3);
  const QCPRange y = rects[0]->axis(QCPAxis::atLeft)->range();
  const QCPRange x = rects[0]->axis(QCPAxis::atBottom)->range();
  EXPECT_GE(y.upper, 2.0 * (16 + 8 + 5));  // the largest rank: run 2, layer 1, down
  for (QCPAxisRect* rect : rects) {
    EXPECT_EQ(rect->axis(QCPAxis::atLeft)->range(), y);
    EXPECT_EQ(rect->axis(QCPAxis::atBottom)->range(), x);
  }
  // Panning one row pans all of them, so the ops stay aligned.
  rects[1]->axis(QCPAxis::atBottom)->setRange(2.0, 7.0);
  for (QCPAxisRect* rect : rects) EXPECT_EQ(rect->axis(QCPAxis::atBottom)->range(), QCPRange(2.0, 7.0));
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
  EXPECT_EQ(view.rankPlotCount(), 0);
  EXPECT_TRUE(view.differingKeys().isEmpty());
  EXPECT_EQ(view.curvePlot()->graphCount(), 0);

  std::vector<RunData> five;
  for (int id = 1; id <= 5; ++id) five.push_back(sampleRun(id, id % 2 ? "ars" : "uniform"));
  view.setRuns(five);
  EXPECT_TRUE(view.showsPlaceholder());
  EXPECT_TRUE(view.placeholderText().contains("at most 4")) << view.placeholderText().toStdString();
  EXPECT_EQ(view.rankPlotCount(), 0);

  five.pop_back();
  view.setRuns(five);
  EXPECT_FALSE(view.showsPlaceholder());
  EXPECT_EQ(view.rankPlotCount(), 4);
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
