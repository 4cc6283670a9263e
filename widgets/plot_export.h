// PlotExport: saves a QCustomPlot as PNG or PDF, plot data and tables as CSV, and asks for the file
// to export to. Every view uses it for its "Export..." actions. All functions run on the GUI thread;
// the savers return false on failure and, when `error` is given, put a one-line reason there naming
// the file. They never throw.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>
#include <functional>

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

  // The formats an export dialog offers; the first one is the default.
  enum class Formats {
    FigureAndCsv,  // PNG, PDF, CSV
    Figure,        // PNG, PDF
    Csv,           // CSV only
  };

  // Saves to `path`: true, or false with a one-line reason in `error`.
  using Saver = std::function<bool(const QString& path, QString* error)>;

  // Whether `path` ends in ".csv" (any case), the suffix by which every export writes data, not a figure.
  static bool isCsvPath(const QString& path);
  // One RFC 4180 field: `text` unchanged, or in double quotes with inner quotes doubled when it
  // holds a comma, a double quote, CR or LF.
  static QString csvField(const QString& text);
  // The shortest text that reads back as the same number ("0.1", "1e-20", "4.5"), so CSVs stay exact
  // and tidy; the float overload is shortest for the float, not for its double widening.
  static QString csvNumber(double value);
  static QString csvNumber(float value);
  // Writes `header` then one line per row, fields joined by commas and quoted only where csvField
  // needs to, through a QSaveFile (the file is replaced only once everything is written). Every row
  // must have as many fields as the header.
  static bool saveTable(const QString& path, const QStringList& header, const QVector<QStringList>& rows,
                        QString* error = nullptr);

  // width/height in pixels (PNG) or points (PDF); 0 uses the plot's current size. `scale` multiplies
  // the pixel size of a PNG (2.0 for high-DPI figures) without changing the layout.
  static bool savePng(QCustomPlot& plot, const QString& path, QString* error = nullptr, int width = 0,
                      int height = 0, double scale = 1.0);
  static bool savePdf(QCustomPlot& plot, const QString& path, QString* error = nullptr, int width = 0,
                      int height = 0);
  // savePng or savePdf by the file suffix. Any other suffix is an "unknown format" error that lists
  // .png, .pdf and .csv, the formats of every view's export (which handles .csv before calling this).
  static bool saveFigure(QCustomPlot& plot, const QString& path, QString* error = nullptr, int width = 0,
                         int height = 0);
  // Long ("tidy") CSV: a header `series,<xName>,<yName>` then one row per point (saveTable, numbers
  // by csvNumber). Series with mismatched x/y lengths are an error.
  static bool saveCsv(const QString& path, const QVector<Series>& series, QString* error = nullptr,
                      const QString& xName = QStringLiteral("x"), const QString& yName = QStringLiteral("y"));
  // The data of every QCPGraph in the plot, named by the graph's name (or "graph N").
  static QVector<Series> graphSeries(const QCustomPlot& plot);
  // Chooses the format from the file suffix: .png, .pdf, or .csv (the plot's graphSeries()).
  static bool save(QCustomPlot& plot, const QString& path, QString* error = nullptr);

  // Asks for a file to export to with a save dialog titled `title` (default "Export plot") that
  // offers `formats` and suggests `suggestedBaseName` plus the default format's suffix (a bare name
  // is put in the dialog's current folder). A name chosen without a suffix gets the suffix of the
  // selected filter. Returns the path, or an empty string if the user cancelled.
  static QString askExportPath(QWidget* parent, const QString& suggestedBaseName,
                               Formats formats = Formats::FigureAndCsv, const QString& title = QString());
  // askExportPath, then `saver`; a failure is reported in a message box with the same title. Returns
  // the saved path, or an empty string if the user cancelled or saving failed.
  static QString exportWithDialog(QWidget* parent, const QString& suggestedBaseName, Formats formats,
                                  const QString& title, const Saver& saver);
  // exportWithDialog for the whole plot by save() (PNG/PDF/CSV).
  static QString saveWithDialog(QCustomPlot& plot, QWidget* parent, const QString& suggestedBaseName);
  // Gives `plot` a right-click menu with one "Export..." action that calls `onExport`.
  static void addExportMenu(QCustomPlot& plot, const std::function<void()>& onExport);
};

}  // namespace ranklab::widgets
