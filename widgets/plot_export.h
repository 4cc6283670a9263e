// PlotExport: saves a QCustomPlot as PNG or PDF, and plot data as CSV. Every plot view uses it for
// its "Export..." action. All functions run on the GUI thread, return false on failure and, when
// `error` is given, put a one-line reason there naming the file. They never throw.
#pragma once

#include <QString>
#include <QVector>

class QCustomPlot;
class QWidget;

namespace ranklab::widgets {

class PlotExport {
 public:
  // One named series of (x, y) points; x and y have the same length.
  struct Series {
    QString name;
    QVector<double> x;
    QVector<double> y;
  };

  // width/height in pixels (PNG) or points (PDF); 0 uses the plot's current size. `scale` multiplies
  // the pixel size of a PNG (2.0 for high-DPI figures) without changing the layout.
  static bool savePng(QCustomPlot& plot, const QString& path, QString* error = nullptr, int width = 0,
                      int height = 0, double scale = 1.0);
  static bool savePdf(QCustomPlot& plot, const QString& path, QString* error = nullptr, int width = 0,
                      int height = 0);
  // Long ("tidy") CSV: a header `series,<xName>,<yName>` then one row per point, RFC 4180 quoting,
  // numbers in the shortest form that reads back exactly. Series with mismatched x/y lengths are an error.
  static bool saveCsv(const QString& path, const QVector<Series>& series, QString* error = nullptr,
                      const QString& xName = QStringLiteral("x"), const QString& yName = QStringLiteral("y"));
  // The data of every QCPGraph in the plot, named by the graph's name (or "graph N").
  static QVector<Series> graphSeries(const QCustomPlot& plot);
  // Chooses the format from the file suffix: .png, .pdf, or .csv (the plot's graphSeries()).
  static bool save(QCustomPlot& plot, const QString& path, QString* error = nullptr);
  // Asks for a file name (PNG/PDF/CSV), saves, and reports a failure in a message box. Returns the
  // saved path, or an empty string if the user cancelled or saving failed.
  static QString saveWithDialog(QCustomPlot& plot, QWidget* parent, const QString& suggestedBaseName);
};

}  // namespace ranklab::widgets
