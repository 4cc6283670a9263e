// CompareView: 2 to 4 stored runs (api::RunData) side by side, one colour per run throughout:
//  - Summary: headline metrics (before, after, the after delta against the first run, absolute and
//    in percent, compressible parameters before/after) and a config diff, one column per run, rows
//    = the record fields (model, decomposition, selector, keepTarget, keptFraction, seed, device)
//    then the configJson keys flattened with '.' ("_details.ars.steps"). By default only the settings
//    the user chose (the record fields and the job spec's keys) whose values differ are shown,
//    highlighted; "Show all" adds the equal ones, "Run-time details" what the runs reported (the
//    kept fraction reached, "_details.*"). A config key that repeats a record field with the same
//    values in every run is folded into that field's row; one that differs from it is kept as
//    "config.<key>". Cells show non-integral numbers at four significant digits; the tooltip and the
//    CSV export keep the exact value.
//  - Rank allocation: the runs' per-op rank bars grouped side by side per op on one shared op axis
//    (the first run's op order, then ops only later runs have); "Difference to the first run" plots
//    each later run's rank minus the first run's instead. Hovering a bar names op, run, rank and
//    full rank.
//  - Curves: each run's first loss-like series (task_loss, else finetune_loss, else any series
//    whose name contains "loss", else the first series) against the step, overlaid and scaled to
//    show them all; runs without a curve are named above the plot.
// Fewer than 2 or more than 4 runs show a placeholder message instead. GUI thread only.
#pragma once

#include <QColor>
#include <QStringList>
#include <QWidget>
#include <limits>
#include <optional>
#include <vector>

#include "api/run.h"

class QCheckBox;
class QCPBars;
class QCPBarsGroup;
class QCustomPlot;
class QLabel;
class QShowEvent;
class QSplitter;
class QTableWidget;
class QTabWidget;

namespace ranklab::widgets {

class PlaceholderStack;
class PlotInteraction;

class CompareView : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kMinRuns = 2;
  static constexpr int kMaxRuns = 4;

  explicit CompareView(QWidget* parent = nullptr);

  // Shows these runs in this order (the first is the reference for deltas). Any other count shows
  // the placeholder and clears the comparison.
  void setRuns(const std::vector<api::RunData>& runs);
  void clear() { setRuns({}); }

  // Runs being compared; 0 while the placeholder shows.
  int runCount() const { return int(m_records.size()); }
  bool showsPlaceholder() const;
  QString placeholderText() const;
  // The colour of run `run` in every table and plot.
  static QColor runColour(int run);

  // Config diff. Keys in table order (every row, shown or not); cellText is what the cell of run
  // column `runColumn` (0-based, in setRuns order) shows, also for hidden rows: "–" where the run
  // lacks the key, a null QString for an unknown key or column.
  QStringList keys() const;
  QStringList differingKeys() const;
  QStringList shownKeys() const;  // the rows the table shows now
  QString cellText(const QString& key, int runColumn) const;
  void setShowAll(bool showAll);
  bool showAll() const;
  void setShowDetails(bool show);

  // After metric of `run` minus the first run's (0 for the first run). NaN when either is not
  // measured, the runs are not comparable (another base model or evaluation protocol,
  // api/protocol.h), or `run` is out of range.
  double metricDelta(int run) const;
  // metricDelta as a percentage of the first run's after metric (NaN as above or when that is 0).
  double metricDeltaPercent(int run) const;

  // Bar series in the rank plot (one per run; one fewer in difference mode) and, for run `run`, its
  // ranks over the shared op axis (rankOpNames() order; NaN where that run has no such op). Empty
  // for an unknown run.
  int rankSeriesCount() const;
  std::vector<double> rankBars(int run) const;
  // The hover read-out at rank plot pixel `pixel`: the op and every run's rank there.
  QString rankHoverText(const QPoint& pixel) const;
  QCheckBox* rankDifferenceCheck() const { return m_rankDifference; }
  QLabel* curveNote() const { return m_curveNote; }
  QStringList rankOpNames() const { return m_opNames; }

  // The series plotted for `run` in the curves plot; empty when the run has no series.
  QString curveSeriesName(int run) const;

  // Exports. The plots: .png, .pdf or .csv (by suffix; the rank CSV has x = op index on the shared
  // axis). The diff: CSV with a header "key,<run labels>,differs" and every row. All return false and
  // put a one-line reason in `error` on failure; they never throw.
  bool exportRankPlot(const QString& path, QString* error = nullptr);
  bool exportCurvePlot(const QString& path, QString* error = nullptr);
  bool exportDiffCsv(const QString& path, QString* error = nullptr) const;

  QTableWidget* diffTable() const { return m_diffTable; }
  QTableWidget* metricsTable() const { return m_metricsTable; }
  QCheckBox* showAllCheck() const { return m_showAll; }
  QCustomPlot* rankPlot() const { return m_rankPlot; }
  QCustomPlot* curvePlot() const { return m_curvePlot; }
  PlotInteraction* curveInteraction() const { return m_curveInteraction; }
  QTabWidget* tabs() const { return m_tabs; }

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  struct DiffRow {
    QString key;
    std::vector<std::optional<QString>> values;  // one per run; nullopt: the run lacks the key
    bool differs = false;
    bool detail = false;  // reported by the run, not set by the user
  };

  bool rowShown(const DiffRow& row) const;

  void showPlaceholder(const QString& text);
  void build(const std::vector<api::RunData>& runs);
  void buildDiff(const std::vector<api::RunData>& runs);
  void appendOtherMetrics();
  void fitMetricsPane();
  void fillDiffTable();
  void buildMetrics();
  void buildRankPlot(const std::vector<api::RunData>& runs);
  void buildCurves(const std::vector<api::RunData>& runs);
  void clearPlots();
  void drawRankBars();
  void resetRankRange();
  void fitCurves();
  QString runLabel(int run) const;
  const DiffRow* findRow(const QString& key) const;
  void exportWithDialog(QCustomPlot* plot, const QString& baseName);

  std::vector<api::RunRecord> m_records;
  // Per run: a record for each metric besides its headline (api::metricRecords).
  std::vector<std::vector<api::RunRecord>> m_otherMetrics;
  QSplitter* m_summarySplitter = nullptr;  // metrics above, settings diff below
  std::vector<DiffRow> m_diff;
  QStringList m_opNames;
  struct RankCell {
    double rank = std::numeric_limits<double>::quiet_NaN();  // NaN: the run has no such op
    int64_t fullRank = 0;
    double energyKept = std::numeric_limits<double>::quiet_NaN();
  };
  std::vector<std::vector<RankCell>> m_rankCells;  // [run][op on the shared axis]
  std::vector<QCPBars*> m_bars;
  QStringList m_curveNames;

  PlaceholderStack* m_stack = nullptr;
  QTabWidget* m_tabs = nullptr;
  QTableWidget* m_metricsTable = nullptr;
  QTableWidget* m_diffTable = nullptr;
  QLabel* m_diffCount = nullptr;
  QCheckBox* m_showAll = nullptr;
  QCheckBox* m_showDetails = nullptr;
  QCustomPlot* m_rankPlot = nullptr;
  QCPBarsGroup* m_rankGroup = nullptr;
  QCheckBox* m_rankDifference = nullptr;
  double m_rankYLow = 0.0, m_rankYHigh = 1.0;
  QLabel* m_curveNote = nullptr;
  PlotInteraction* m_curveInteraction = nullptr;
  QCustomPlot* m_curvePlot = nullptr;
};

}  // namespace ranklab::widgets
