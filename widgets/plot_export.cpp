#include "widgets/plot_export.h"

#include <qcustomplot.h>

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLocale>
#include <QMenu>
#include <QMessageBox>
#include <QSaveFile>
#include <QTextStream>
#include <charconv>

namespace ranklab::widgets {
namespace {

void setError(QString* error, const QString& text) {
  if (error) *error = text;
}

// QCustomPlot reports only true/false; most failures are an unwritable destination, so say which.
QString destinationProblem(const QString& path) {
  const QFileInfo info(path);
  if (!info.absoluteDir().exists())
    return QStringLiteral("folder %1 does not exist").arg(info.absolutePath());
  if (info.exists() && !info.isWritable()) return QStringLiteral("file is not writable");
  return QStringLiteral("could not write the file");
}

QString dialogTitle(const QString& title) { return title.isEmpty() ? QObject::tr("Export plot") : title; }

// A file format a dialog offers: its suffix and its filter text.
struct FileFormat {
  QString suffix;
  QString filter;
};

// The formats of `formats`, the default first.
QVector<FileFormat> fileFormats(PlotExport::Formats formats) {
  const FileFormat png{QStringLiteral("png"), QObject::tr("PNG image (*.png)")};
  const FileFormat pdf{QStringLiteral("pdf"), QObject::tr("PDF document (*.pdf)")};
  const FileFormat csv{QStringLiteral("csv"), QObject::tr("CSV data (*.csv)")};
  switch (formats) {
    case PlotExport::Formats::Figure:
      return {png, pdf};
    case PlotExport::Formats::Csv:
      return {csv};
    case PlotExport::Formats::FigureAndCsv:
      break;
  }
  return {png, pdf, csv};
}

}  // namespace

bool PlotExport::isCsvPath(const QString& path) {
  return QFileInfo(path).suffix().compare(QLatin1String("csv"), Qt::CaseInsensitive) == 0;
}

QString PlotExport::csvField(const QString& text) {
  if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
      !text.contains(QLatin1Char('\n')) && !text.contains(QLatin1Char('\r'))) {
    return text;
  }
  QString quoted = text;
  quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
  return QLatin1Char('"') + quoted + QLatin1Char('"');
}

QString PlotExport::csvNumber(double value) {
  return QString::number(value, 'g', QLocale::FloatingPointShortest);
}

QString PlotExport::csvNumber(float value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return QString::fromLatin1(buffer, int(result.ptr - buffer));
}

bool PlotExport::saveTable(const QString& path, const QStringList& header, const QVector<QStringList>& rows,
                           QString* error) {
  for (qsizetype r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != header.size()) {
      setError(error, QStringLiteral("saving CSV %1: row %2 has %3 fields but the header has %4")
                          .arg(path)
                          .arg(r + 1)
                          .arg(rows[r].size())
                          .arg(header.size()));
      return false;
    }
  }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
    setError(error, QStringLiteral("saving CSV %1: %2").arg(path, file.errorString()));
    return false;
  }
  QTextStream out(&file);
  const auto writeLine = [&out](const QStringList& fields) {
    for (qsizetype i = 0; i < fields.size(); ++i) {
      if (i > 0) out << ',';
      out << csvField(fields[i]);
    }
    out << '\n';
  };
  writeLine(header);
  for (const QStringList& row : rows) writeLine(row);
  out.flush();
  if (out.status() != QTextStream::Ok || !file.commit()) {
    setError(error, QStringLiteral("saving CSV %1: %2").arg(path, file.errorString()));
    return false;
  }
  return true;
}

bool PlotExport::savePng(QCustomPlot& plot, const QString& path, QString* error, int width, int height,
                         double scale) {
  if (plot.savePng(path, width, height, scale)) return true;
  setError(error, QStringLiteral("saving PNG %1: %2").arg(path, destinationProblem(path)));
  return false;
}

bool PlotExport::savePdf(QCustomPlot& plot, const QString& path, QString* error, int width, int height) {
  if (plot.savePdf(path, width, height, QCP::epNoCosmetic, QStringLiteral("RankLab"))) return true;
  setError(error, QStringLiteral("saving PDF %1: %2").arg(path, destinationProblem(path)));
  return false;
}

bool PlotExport::saveFigure(QCustomPlot& plot, const QString& path, QString* error, int width, int height) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix == QLatin1String("png")) return savePng(plot, path, error, width, height);
  if (suffix == QLatin1String("pdf")) return savePdf(plot, path, error, width, height);
  setError(error,
           QStringLiteral("saving %1: unknown format '%2' (use .png, .pdf or .csv)").arg(path, suffix));
  return false;
}

bool PlotExport::saveCsv(const QString& path, const QVector<Series>& series, QString* error,
                         const QString& xName, const QString& yName) {
  for (const Series& s : series) {
    if (s.x.size() != s.y.size()) {
      setError(error, QStringLiteral("saving CSV %1: series '%2' has %3 x values but %4 y values")
                          .arg(path, s.name)
                          .arg(s.x.size())
                          .arg(s.y.size()));
      return false;
    }
  }
  QVector<QStringList> rows;
  for (const Series& s : series) {
    for (qsizetype i = 0; i < s.x.size(); ++i) rows.append({s.name, csvNumber(s.x[i]), csvNumber(s.y[i])});
  }
  return saveTable(path, {QStringLiteral("series"), xName, yName}, rows, error);
}

QVector<PlotExport::Series> PlotExport::graphSeries(const QCustomPlot& plot) {
  QVector<Series> result;
  for (int g = 0; g < plot.graphCount(); ++g) {
    QCPGraph* graph = plot.graph(g);
    Series s;
    s.name = graph->name().isEmpty() ? QStringLiteral("graph %1").arg(g + 1) : graph->name();
    const auto data = graph->data();
    s.x.reserve(data->size());
    s.y.reserve(data->size());
    for (auto it = data->constBegin(); it != data->constEnd(); ++it) {
      s.x.append(it->key);
      s.y.append(it->value);
    }
    result.append(std::move(s));
  }
  return result;
}

bool PlotExport::save(QCustomPlot& plot, const QString& path, QString* error) {
  if (isCsvPath(path)) {
    return saveCsv(path, graphSeries(plot), error,
                   plot.xAxis->label().isEmpty() ? QStringLiteral("x") : plot.xAxis->label(),
                   plot.yAxis->label().isEmpty() ? QStringLiteral("y") : plot.yAxis->label());
  }
  return saveFigure(plot, path, error);
}

QString PlotExport::askExportPath(QWidget* parent, const QString& suggestedBaseName, Formats formats,
                                  const QString& title) {
  const QVector<FileFormat> offered = fileFormats(formats);
  QStringList filters;
  for (const FileFormat& format : offered) filters << format.filter;
  QString selectedFilter;
  const QString path = QFileDialog::getSaveFileName(
      parent, dialogTitle(title), suggestedBaseName + QLatin1Char('.') + offered.front().suffix,
      filters.join(QStringLiteral(";;")), &selectedFilter);
  if (path.isEmpty() || !QFileInfo(path).suffix().isEmpty()) return path;
  for (const FileFormat& format : offered) {
    if (selectedFilter.contains(QStringLiteral("*.") + format.suffix))
      return path + QLatin1Char('.') + format.suffix;
  }
  return path + QLatin1Char('.') + offered.front().suffix;
}

QString PlotExport::exportWithDialog(QWidget* parent, const QString& suggestedBaseName, Formats formats,
                                     const QString& title, const Saver& saver) {
  const QString path = askExportPath(parent, suggestedBaseName, formats, title);
  if (path.isEmpty()) return {};
  QString error;
  if (!saver(path, &error)) {
    QMessageBox::warning(parent, dialogTitle(title), error);
    return {};
  }
  return path;
}

QString PlotExport::saveWithDialog(QCustomPlot& plot, QWidget* parent, const QString& suggestedBaseName) {
  return exportWithDialog(parent, suggestedBaseName, Formats::FigureAndCsv, QString(),
                          [&plot](const QString& path, QString* error) { return save(plot, path, error); });
}

void PlotExport::addExportMenu(QCustomPlot& plot, const std::function<void()>& onExport) {
  plot.setContextMenuPolicy(Qt::CustomContextMenu);
  QObject::connect(&plot, &QWidget::customContextMenuRequested, &plot, [&plot, onExport](const QPoint& pos) {
    QMenu menu(&plot);
    menu.addAction(QObject::tr("Export..."), onExport);
    menu.exec(plot.mapToGlobal(pos));
  });
}

}  // namespace ranklab::widgets
