#include "widgets/plot_export.h"

#include <qcustomplot.h>

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLocale>
#include <QMessageBox>
#include <QSaveFile>
#include <QTextStream>

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

QString csvField(const QString& text) {
  if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
      !text.contains(QLatin1Char('\n')) && !text.contains(QLatin1Char('\r'))) {
    return text;
  }
  QString quoted = text;
  quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
  return QLatin1Char('"') + quoted + QLatin1Char('"');
}

// Shortest text that reads back as the same double ("0.1", "1e-20"), so CSVs stay exact and tidy.
QString number(double v) { return QString::number(v, 'g', QLocale::FloatingPointShortest); }

}  // namespace

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
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
    setError(error, QStringLiteral("saving CSV %1: %2").arg(path, file.errorString()));
    return false;
  }
  QTextStream out(&file);
  out << "series," << csvField(xName) << ',' << csvField(yName) << '\n';
  for (const Series& s : series) {
    const QString name = csvField(s.name);
    for (qsizetype i = 0; i < s.x.size(); ++i) {
      out << name << ',' << number(s.x[i]) << ',' << number(s.y[i]) << '\n';
    }
  }
  out.flush();
  if (out.status() != QTextStream::Ok || !file.commit()) {
    setError(error, QStringLiteral("saving CSV %1: %2").arg(path, file.errorString()));
    return false;
  }
  return true;
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
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix == QLatin1String("png")) return savePng(plot, path, error);
  if (suffix == QLatin1String("pdf")) return savePdf(plot, path, error);
  if (suffix == QLatin1String("csv")) {
    return saveCsv(path, graphSeries(plot), error,
                   plot.xAxis->label().isEmpty() ? QStringLiteral("x") : plot.xAxis->label(),
                   plot.yAxis->label().isEmpty() ? QStringLiteral("y") : plot.yAxis->label());
  }
  setError(error,
           QStringLiteral("saving %1: unknown format '%2' (use .png, .pdf or .csv)").arg(path, suffix));
  return false;
}

QString PlotExport::saveWithDialog(QCustomPlot& plot, QWidget* parent, const QString& suggestedBaseName) {
  QString selectedFilter;
  QString path = QFileDialog::getSaveFileName(
      parent, QObject::tr("Export plot"), suggestedBaseName + QStringLiteral(".png"),
      QObject::tr("PNG image (*.png);;PDF document (*.pdf);;CSV data (*.csv)"), &selectedFilter);
  if (path.isEmpty()) return {};
  if (QFileInfo(path).suffix().isEmpty()) {
    if (selectedFilter.contains(QLatin1String("*.pdf"))) {
      path += QStringLiteral(".pdf");
    } else if (selectedFilter.contains(QLatin1String("*.csv"))) {
      path += QStringLiteral(".csv");
    } else {
      path += QStringLiteral(".png");
    }
  }
  QString error;
  if (!save(plot, path, &error)) {
    QMessageBox::warning(parent, QObject::tr("Export plot"), error);
    return {};
  }
  return path;
}

}  // namespace ranklab::widgets
