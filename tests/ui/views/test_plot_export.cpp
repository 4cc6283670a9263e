#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QApplication>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QMessageBox>
#include <QTemporaryDir>
#include <QTimer>
#include <functional>

#include "tests/ui/ui_test_util.h"
#include "widgets/plot_export.h"

using ranklab::test::readAll;
using ranklab::widgets::PlotExport;

namespace {
void addGraph(QCustomPlot& plot, const QString& name, int n) {
  QCPGraph* graph = plot.addGraph();
  graph->setName(name);
  for (int i = 0; i < n; ++i) graph->addData(i, 1.0 / (i + 1));
}

// Reads RFC 4180 text back into records (quoted fields may hold commas, quotes and line breaks).
QVector<QStringList> parseCsv(const QString& text) {
  QVector<QStringList> records;
  QStringList record;
  QString field;
  bool quoted = false;
  for (qsizetype i = 0; i < text.size(); ++i) {
    const QChar c = text[i];
    if (quoted && c == QLatin1Char('"') && i + 1 < text.size() && text[i + 1] == QLatin1Char('"')) {
      field += c;
      ++i;
    } else if (c == QLatin1Char('"')) {
      quoted = !quoted;
    } else if (!quoted && c == QLatin1Char(',')) {
      record << field;
      field.clear();
    } else if (!quoted && c == QLatin1Char('\n')) {
      record << field;
      field.clear();
      records << record;
      record.clear();
    } else {
      field += c;
    }
  }
  return records;
}

// Once a modal dialog of type T is shown, hands it to `answer` (from inside the dialog's event loop).
template <typename T>
void answerModal(std::function<void(T*)> answer) {
  auto* timer = new QTimer;
  timer->setInterval(10);
  QObject::connect(timer, &QTimer::timeout, [timer, answer] {
    auto* dialog = qobject_cast<T*>(QApplication::activeModalWidget());
    if (!dialog || !dialog->isVisible()) return;
    timer->stop();
    timer->deleteLater();
    answer(dialog);
  });
  timer->start();
}

// What the next export dialog showed, and the answer it gets: select `filter` (when not empty), then
// accept `file` (or cancel when it is empty).
struct DialogSeen {
  QString title;
  QStringList filters;
  QString suggested;
};

void answerExportDialog(const QString& filter, const QString& file, DialogSeen* seen) {
  answerModal<QFileDialog>([=](QFileDialog* dialog) {
    seen->title = dialog->windowTitle();
    seen->filters = dialog->nameFilters();
    seen->suggested = QFileInfo(dialog->selectedFiles().value(0)).fileName();
    if (!filter.isEmpty()) dialog->selectNameFilter(filter);
    if (file.isEmpty()) {
      dialog->reject();
    } else {
      // selectFile leaves a focused file name field as it is, and offscreen focus comes and goes.
      if (QWidget* focused = dialog->focusWidget()) focused->clearFocus();
      dialog->selectFile(file);
      static_cast<QDialog*>(dialog)->accept();  // QFileDialog::accept, protected there
    }
  });
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

TEST(PlotExport, CsvFieldQuotesOnlyWhenNeeded) {
  EXPECT_EQ(PlotExport::csvField("plain text"), "plain text");
  EXPECT_EQ(PlotExport::csvField(""), "");
  EXPECT_EQ(PlotExport::csvField("a,b"), "\"a,b\"");
  EXPECT_EQ(PlotExport::csvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(PlotExport::csvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(PlotExport::csvField("cr\rhere"), "\"cr\rhere\"");
}

TEST(PlotExport, CsvNumberIsShortestExact) {
  EXPECT_EQ(PlotExport::csvNumber(0.1), "0.1");
  EXPECT_EQ(PlotExport::csvNumber(1e-20), "1e-20");
  EXPECT_EQ(PlotExport::csvNumber(120.0), "120");
  EXPECT_EQ(PlotExport::csvNumber(1.0 / 3.0).toDouble(), 1.0 / 3.0);
  EXPECT_EQ(PlotExport::csvNumber(0.1f), "0.1");  // the float's shortest, not its double widening's
  EXPECT_EQ(PlotExport::csvNumber(4.5f), "4.5");
  EXPECT_EQ(PlotExport::csvNumber(1.0f / 3.0f).toFloat(), 1.0f / 3.0f);
}

TEST(PlotExport, SaveTableRoundTrips) {
  QTemporaryDir dir;
  const QString path = dir.filePath("table.csv");
  const QStringList header = {"op", "full rank", "note, quoted"};
  const QVector<QStringList> rows = {
      {"layers.0.attn.q", "256", ""}, {"a, \"b\"", "1e-20", "two\nlines"}, {"cr\rhere", "-3", "\"\""}};
  QString error;
  ASSERT_TRUE(PlotExport::saveTable(path, header, rows, &error)) << error.toStdString();
  const QByteArray text = readAll(path);
  EXPECT_TRUE(text.startsWith("op,full rank,\"note, quoted\"\nlayers.0.attn.q,256,\n")) << text.toStdString();
  QVector<QStringList> expected = {header};
  expected += rows;
  EXPECT_EQ(parseCsv(QString::fromUtf8(text)), expected);

  ASSERT_TRUE(PlotExport::saveTable(path, {"only"}, {}, &error)) << error.toStdString();
  EXPECT_EQ(readAll(path), "only\n");  // replaced, not appended to
}

TEST(PlotExport, SaveTableErrorsNameTheFile) {
  QTemporaryDir dir;
  QString error;
  EXPECT_FALSE(PlotExport::saveTable("/nonexistent-dir/table.csv", {"a"}, {{"1"}}, &error));
  EXPECT_TRUE(error.contains("/nonexistent-dir/table.csv")) << error.toStdString();
  error.clear();
  EXPECT_FALSE(PlotExport::saveTable(dir.path(), {"a"}, {{"1"}}, &error));  // a folder, not a file
  EXPECT_TRUE(error.contains(dir.path())) << error.toStdString();

  const QString path = dir.filePath("kept.csv");
  ASSERT_TRUE(PlotExport::saveTable(path, {"a", "b"}, {{"1", "2"}}));
  EXPECT_FALSE(PlotExport::saveTable(path, {"a", "b"}, {{"1", "2"}, {"3"}}, &error));
  EXPECT_TRUE(error.contains("kept.csv")) << error.toStdString();
  EXPECT_TRUE(error.contains("row 2 has 1 fields but the header has 2")) << error.toStdString();
  EXPECT_EQ(readAll(path), "a,b\n1,2\n");  // a failed save leaves the old file as it was
}

TEST(PlotExport, AskExportPathCompletesTheSuffixOfTheChosenFilter) {
  QTemporaryDir dir;
  DialogSeen seen;
  answerExportDialog("CSV data (*.csv)", dir.filePath("ranks"), &seen);
  EXPECT_EQ(
      PlotExport::askExportPath(nullptr, "spectrum", PlotExport::Formats::FigureAndCsv, "Export spectrum"),
      dir.filePath("ranks.csv"));
  EXPECT_EQ(seen.title, "Export spectrum");
  EXPECT_EQ(seen.filters, QStringList({"PNG image (*.png)", "PDF document (*.pdf)", "CSV data (*.csv)"}));
  EXPECT_EQ(seen.suggested, "spectrum.png");

  answerExportDialog("PDF document (*.pdf)", dir.filePath("figure"), &seen);
  EXPECT_EQ(PlotExport::askExportPath(nullptr, "mask", PlotExport::Formats::Figure),
            dir.filePath("figure.pdf"));
  EXPECT_EQ(seen.title, "Export plot");
  EXPECT_EQ(seen.filters, QStringList({"PNG image (*.png)", "PDF document (*.pdf)"}));

  answerExportDialog(QString(), dir.filePath("diff"), &seen);
  EXPECT_EQ(PlotExport::askExportPath(nullptr, dir.filePath("compare-config"), PlotExport::Formats::Csv),
            dir.filePath("diff.csv"));
  EXPECT_EQ(seen.filters, QStringList({"CSV data (*.csv)"}));
  EXPECT_EQ(seen.suggested, "compare-config.csv");

  answerExportDialog("CSV data (*.csv)", dir.filePath("typed.png"), &seen);  // a typed suffix wins
  EXPECT_EQ(PlotExport::askExportPath(nullptr, "plot"), dir.filePath("typed.png"));

  answerExportDialog(QString(), QString(), &seen);
  EXPECT_TRUE(PlotExport::askExportPath(nullptr, "plot").isEmpty());
}

TEST(PlotExport, ExportWithDialogSavesOrReportsTheError) {
  QTemporaryDir dir;
  DialogSeen seen;
  QString savedTo;
  const PlotExport::Saver saver = [&savedTo](const QString& path, QString* error) {
    savedTo = path;
    return PlotExport::saveTable(path, {"a"}, {{"1"}}, error);
  };
  answerExportDialog(QString(), dir.filePath("table"), &seen);
  EXPECT_EQ(PlotExport::exportWithDialog(nullptr, "table", PlotExport::Formats::Csv, "Export table", saver),
            dir.filePath("table.csv"));
  EXPECT_EQ(savedTo, dir.filePath("table.csv"));
  EXPECT_EQ(readAll(savedTo), "a\n1\n");

  QString warning;
  answerExportDialog(QString(), dir.filePath("ranks.svg"), &seen);
  answerModal<QMessageBox>([&warning](QMessageBox* box) {
    warning = box->text();
    box->accept();
  });
  QCustomPlot plot;
  addGraph(plot, "sigma", 3);
  EXPECT_TRUE(PlotExport::saveWithDialog(plot, nullptr, "plot").isEmpty());
  EXPECT_TRUE(warning.contains("ranks.svg")) << warning.toStdString();
  EXPECT_TRUE(warning.contains("unknown format")) << warning.toStdString();
  EXPECT_FALSE(QFile::exists(dir.filePath("ranks.svg")));
}
