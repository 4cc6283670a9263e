#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QFile>
#include <QImage>
#include <QTemporaryDir>

#include "widgets/plot_export.h"

using ranklab::widgets::PlotExport;

namespace {
void addGraph(QCustomPlot& plot, const QString& name, int n) {
  QCPGraph* graph = plot.addGraph();
  graph->setName(name);
  for (int i = 0; i < n; ++i) graph->addData(i, 1.0 / (i + 1));
}

QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}
}  // namespace

TEST(PlotExport, SavesPngOfRequestedSize) {
  QTemporaryDir dir;
  QCustomPlot plot;
  addGraph(plot, "sigma", 10);
  plot.rescaleAxes();
  const QString path = dir.filePath("plot.png");
  QString error;
  ASSERT_TRUE(PlotExport::savePng(plot, path, &error, 320, 200)) << error.toStdString();
  QImage image(path);
  EXPECT_EQ(image.size(), QSize(320, 200));
}

TEST(PlotExport, SavesPdf) {
  QTemporaryDir dir;
  QCustomPlot plot;
  addGraph(plot, "sigma", 10);
  const QString path = dir.filePath("plot.pdf");
  QString error;
  ASSERT_TRUE(PlotExport::save(plot, path, &error)) << error.toStdString();
  EXPECT_TRUE(readAll(path).startsWith("%PDF"));
}

TEST(PlotExport, CsvIsTidyAndQuoted) {
  QTemporaryDir dir;
  const QString path = dir.filePath("data.csv");
  QVector<PlotExport::Series> series = {{"plain", {1, 2}, {0.5, 0.25}}, {"a, \"b\"", {3}, {1e-20}}};
  QString error;
  ASSERT_TRUE(PlotExport::saveCsv(path, series, &error, "rank", "sigma")) << error.toStdString();
  EXPECT_EQ(readAll(path).toStdString(), std::string("series,rank,sigma\n"
                                                     "plain,1,0.5\n"
                                                     "plain,2,0.25\n"
                                                     "\"a, \"\"b\"\"\",3,1e-20\n"));
}

TEST(PlotExport, CsvFromPlotGraphs) {
  QTemporaryDir dir;
  QCustomPlot plot;
  addGraph(plot, "first", 3);
  addGraph(plot, "", 2);
  plot.xAxis->setLabel("step");
  const auto series = PlotExport::graphSeries(plot);
  ASSERT_EQ(series.size(), 2);
  EXPECT_EQ(series[1].name, "graph 2");
  EXPECT_EQ(series[0].y, QVector<double>({1.0, 0.5, 1.0 / 3.0}));
  const QString path = dir.filePath("plot.csv");
  ASSERT_TRUE(PlotExport::save(plot, path));
  const QList<QByteArray> lines = readAll(path).split('\n');
  EXPECT_EQ(lines.front(), "series,step,y");
  EXPECT_EQ(lines.size(), 1 + 5 + 1);  // header, five points, trailing newline
}

TEST(PlotExport, ErrorsNameTheFile) {
  QCustomPlot plot;
  QString error;
  EXPECT_FALSE(PlotExport::savePng(plot, "/nonexistent-dir/plot.png", &error));
  EXPECT_TRUE(error.contains("/nonexistent-dir/plot.png")) << error.toStdString();
  EXPECT_TRUE(error.contains("does not exist")) << error.toStdString();
  EXPECT_FALSE(PlotExport::save(plot, "/tmp/plot.bmp", &error));
  EXPECT_TRUE(error.contains("unknown format")) << error.toStdString();
  EXPECT_FALSE(PlotExport::saveCsv("/tmp/x.csv", {{"bad", {1, 2}, {1}}}, &error));
  EXPECT_TRUE(error.contains("2 x values but 1 y values")) << error.toStdString();
}
