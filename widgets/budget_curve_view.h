// BudgetCurveView: what each compression method's budget buys. Plots the final metric of stored runs
// (RunRecord::metricAfter: perplexity, lower is better, or accuracy, higher is better) against the
// kept fraction they achieved (RunRecord::keptFraction) for one comparison group at a time (runs of
// one base model evaluated with one protocol, api/protocol.h; an "Evaluated on" box picks the group,
// the largest by default), one series per method (decomposition +
// "+" + selector). Runs of one method at one keep target (seeds) are averaged: the curve goes
// through their mean with a shaded min-max band, and each run is also drawn as a small dot. A dashed
// line marks the uncompressed reference (mean metricBefore of the runs shown) and bold rings on a
// step line mark the Pareto front over all runs shown. Perplexity goes on a log axis when it spans
// more than 10x. Hovering a run shows its name, id, kept fraction and metric; clicking it emits
// runActivated.
//
// A "Runs" box above the plot narrows it to one sweep (RunRecord::sweepId), listing every sweep among
// the runs given with its run count; "All runs" shows everything.
//
// Runs left out (and counted in a label): status other than "succeeded", another comparison group
// than the one shown, or a non-finite metricAfter / keptFraction. Seed bands, the reference line and
// the Pareto front therefore never mix protocols.
//
// GUI thread only. No member throws: setRuns catches and logs (qWarning) any failure.
#pragma once

#include <QPoint>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <vector>

#include "api/run.h"

class QComboBox;
class QCustomPlot;
class QCPItemStraightLine;
class QCPItemText;
class QLabel;
class QMouseEvent;
class QToolButton;

namespace ranklab::widgets {

class PlotInteraction;

class BudgetCurveView : public QWidget {
  Q_OBJECT

 public:
  // One averaged point of a method's curve: the seeds run at one keep target.
  struct CurvePoint {
    double keep;  // mean achieved kept fraction
    double mean;  // mean metricAfter
    double min;
    double max;
    int count;  // runs averaged
  };

  explicit BudgetCurveView(QWidget* parent = nullptr);
  ~BudgetCurveView() override;

  // Replaces the runs (the sweep chosen stays chosen while any of its runs remain).
  void setRuns(const std::vector<api::RunRecord>& runs);
  void clear();
  // Shows only the runs of sweep `id` (empty: all runs). A sweep without runs yet (just queued) is
  // listed with 0 runs and fills in as setRuns brings them.
  void setSweep(const QString& id);
  QString sweep() const;
  // The sweep ids among the runs, sorted.
  QStringList sweepIds() const;

  // Comparison groups among the (sweep-filtered) finished runs, in the box's order (largest first),
  // the one shown, and a group's text in the box ("gpt-mini · test.txt · 6 docs · ... (3 runs)").
  QStringList groupKeys() const;
  QString group() const { return m_group; }
  void setGroup(const QString& key);
  QString groupText(const QString& key) const;

  // Methods shown, sorted by name.
  QStringList methodNames() const;
  // A method's averaged points sorted by kept fraction; empty for an unknown method.
  std::vector<CurvePoint> curve(const QString& method) const;
  // Runs on the Pareto front (no other shown run keeps a fraction <= its own with a metric at least
  // as good, one of the two strictly), sorted by kept fraction, then id.
  std::vector<qint64> paretoRunIds() const;
  // Mean metricBefore of the runs shown (one protocol: the dense model's metric measured that way);
  // NaN when there is none.
  double referenceValue() const { return m_reference; }
  int excludedCount() const { return m_excluded; }
  int shownCount() const { return static_cast<int>(m_runs.size()); }
  // "perplexity" or "accuracy" (empty when nothing is shown) and whether lower values are better.
  QString metricName() const { return m_metric; }
  bool lowerIsBetter() const { return m_lowerIsBetter; }
  bool logScale() const;

  // The run drawn nearest to `pixel` (plot widget coordinates) within a few pixels; -1 if none.
  qint64 runIdAt(const QPoint& pixel) const;
  // The hover tooltip for `pixel`; empty when no run is near.
  QString toolTipAt(const QPoint& pixel) const;

  // Saves by suffix: .png / .pdf the plot (PlotExport), .csv a table
  // `method,run_id,kept_fraction,<metric>` with one row per run shown, by method then kept fraction.
  bool exportTo(const QString& path, QString* error = nullptr);

  QCustomPlot* plot() const { return m_plot; }
  PlotInteraction* interaction() const { return m_interaction; }
  QLabel* excludedLabel() const { return m_excludedLabel; }

 signals:
  // The user clicked the point of run `runId`.
  void runActivated(qint64 runId);

 private:
  struct ShownRun {
    qint64 id = 0;
    QString name;
    QString method;
    double keepTarget = 0.0;
    double kept = 0.0;
    double metric = 0.0;
  };
  struct Method {
    QString name;
    std::vector<CurvePoint> points;
  };

  void setRunsImpl(const std::vector<api::RunRecord>& runs);
  void applySweepFilter();
  void rebuildSweepBox();
  void rebuildPlot();
  void fitRanges();
  void placeLegend();
  int nearestRun(const QPoint& pixel) const;
  bool better(double a, double b) const;
  void onMouseRelease(QMouseEvent* event);
  void exportWithDialog();

  std::vector<api::RunRecord> m_allRuns;
  QString m_sweep;  // the sweep shown; empty: all runs
  QString m_group;  // api::comparisonGroup of the runs shown
  std::vector<ShownRun> m_runs;
  std::vector<Method> m_methods;
  std::vector<int> m_pareto;  // indices into m_runs
  QString m_metric;
  bool m_lowerIsBetter = true;
  double m_reference = 0.0;
  int m_excluded = 0;
  QPoint m_pressPos;

  QCustomPlot* m_plot = nullptr;
  QCPItemStraightLine* m_referenceLine = nullptr;
  QCPItemText* m_referenceText = nullptr;
  QLabel* m_excludedLabel = nullptr;
  QComboBox* m_sweepBox = nullptr;
  QComboBox* m_groupBox = nullptr;
  QToolButton* m_export = nullptr;
  PlotInteraction* m_interaction = nullptr;
};

}  // namespace ranklab::widgets
