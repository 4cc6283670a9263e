// CompareView: 2 to 4 stored runs (api::RunData) side by side, one colour per run throughout:
//  - Summary: headline metrics (before, after, the after delta against the first run, absolute and
//    in percent, compressible parameters before/after) and a config diff, one column per run, rows
//    = the record fields (model, decomposition, selector, keepTarget, keptFraction, seed, device)
//    then the configJson keys flattened with '.' ("_details.ars.steps"). By default only rows whose
//    values differ are shown, highlighted; "Show all" shows every row. A config key that repeats a
//    record field with the same values in every run is folded into that field's row; one that
//    differs from it is kept as "config.<key>".
//  - Rank allocation: one row of per-op rank bars per run, on a shared op axis (the first run's op
//    order, then ops only later runs have) and a shared rank range, so allocations line up.
//  - Curves: each run's first loss-like series (task_loss, else finetune_loss, else any series
//    whose name contains "loss", else the first series) against the step, overlaid.
// Fewer than 2 or more than 4 runs show a placeholder message instead. GUI thread only.
#pragma once

#include <QColor>
#include <QStringList>
#include <QWidget>
#include <optional>
#include <vector>

#include "api/run.h"

class QCheckBox;
class QCPBars;
class QCPMarginGroup;
class QCustomPlot;
class QLabel;
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

  // Config diff. Keys in table order; cellText is what the cell of run column `runColumn` (0-based,
  // in setRuns order) shows, also for rows hidden by "Show all" being off: "–" where the run lacks
  // the key, a null QString for an unknown key or column.
  QStringList keys() const;
  QStringList differingKeys() const;
  QString cellText(const QString& key, int runColumn) const;
  void setShowAll(bool showAll);
  bool showAll() const;

  // After metric of `run` minus the first run's (0 for the first run). NaN when either is not
  // measured, the runs are not comparable (another base model or evaluation protocol,
  // api/protocol.h), or `run` is out of range.
  double metricDelta(int run) const;
  // metricDelta as a percentage of the first run's after metric (NaN as above or when that is 0).
  double metricDeltaPercent(int run) const;

  // Rank plot rows (one per run) and, for run `run`, the bar heights over the shared op axis
  // (rankOpNames() order; NaN where that run has no such op). Empty for an unknown run.
  int rankPlotCount() const;
  std::vector<double> rankBars(int run) const;
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
  QTabWidget* tabs() const { return m_tabs; }

 private:
  struct DiffRow {
    QString key;
    std::vector<std::optional<QString>> values;  // one per run; nullopt: the run lacks the key
    bool differs = false;
  };

  void showPlaceholder(const QString& text);
  void build(const std::vector<api::RunData>& runs);
  void buildDiff(const std::vector<api::RunData>& runs);
  void fillDiffTable();
  void buildMetrics();
  void buildRankPlot(const std::vector<api::RunData>& runs);
  void buildCurves(const std::vector<api::RunData>& runs);
  void clearPlots();
  QString runLabel(int run) const;
  const DiffRow* findRow(const QString& key) const;
  void exportWithDialog(QCustomPlot* plot, const QString& baseName);

  std::vector<api::RunRecord> m_records;
  std::vector<DiffRow> m_diff;
  QStringList m_opNames;
  std::vector<QCPBars*> m_bars;
  QStringList m_curveNames;

  PlaceholderStack* m_stack = nullptr;
  QTabWidget* m_tabs = nullptr;
  QTableWidget* m_metricsTable = nullptr;
  QTableWidget* m_diffTable = nullptr;
  QLabel* m_diffCount = nullptr;
  QCheckBox* m_showAll = nullptr;
  QCustomPlot* m_rankPlot = nullptr;
  QCPMarginGroup* m_marginGroup = nullptr;
  QCustomPlot* m_curvePlot = nullptr;
};

}  // namespace ranklab::widgets
