// RankAllocationView: where a run put its ranks. Top: one bar per op, grouped by op kind (kinds in
// the order they first appear in the run, each kind by layer, one colour per kind), as absolute rank
// or as a fraction of full rank, with an optional uniform-baseline overlay: by default the ranks
// `--select uniform` gives at the run's achieved budget p (every op keeps the fraction p of its own
// parameters), or, as a second named option, one rank ratio r for every op at that budget. Bottom: a layer x
// op-kind heatmap of the kept fraction rank / fullRank. In comparison mode (two runs, ops matched by name)
// both show the difference b - a, the heatmap on a diverging scale centred on 0; ops in only one run are
// marked. A click on a bar or heatmap cell emits opActivated. Empty runs show a placeholder text. GUI thread
// only; never throws.
#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>
#include <cstdint>
#include <vector>

#include "api/run.h"

class QCheckBox;
class QComboBox;
class QCPAxisRect;
class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCPLegend;
class QCPTextElement;
class QCustomPlot;
class QMouseEvent;
class QPushButton;

namespace ranklab::widgets {

class PlaceholderStack;
class PlotInteraction;

class RankAllocationView : public QWidget {
  Q_OBJECT

 public:
  explicit RankAllocationView(QWidget* parent = nullptr);

  // Shows one run. Ops with fullRank <= 0 get NaN fractions (no bar in fraction mode, empty cell).
  void setRun(const api::RunData& run);
  // Shows b - a per op, ops matched by name: rank difference (absolute mode) or kept-fraction
  // difference (fraction mode) in the bars, kept-fraction difference in the heatmap. Ops of b come
  // first, then ops only in a; an op in only one run has a NaN value and a "(A only)" / "(B only)"
  // label. No uniform overlay in this mode.
  void setComparison(const api::RunData& a, const api::RunData& b);
  // Back to the "no run" placeholder.
  void clear();

  // What the baseline overlay shows (BaselineKind::Selector by default).
  enum class BaselineKind { Selector, Ratio };
  void setUniformOverlay(bool on);
  bool uniformOverlay() const { return m_uniformOverlay; }
  void setBaselineKind(BaselineKind kind);
  BaselineKind baselineKind() const { return m_baselineKind; }
  // true: bars show rank / fullRank; false (default): absolute ranks.
  void setShowFraction(bool on);
  bool showFraction() const { return m_showFraction; }

  // Saves by suffix: .png / .pdf (the plot, via PlotExport) or .csv. Single run CSV columns:
  // op,layer,kind,rank,full rank,uniform rank; comparison CSV: op,layer,kind,rank a,rank b,full rank,
  // difference (empty fields where an op is missing). One row per op in display order. Returns
  // false with a one-line reason in `error` on failure.
  bool exportTo(const QString& path, QString* error = nullptr);
  // Asks for a file name and exports; reports a failure in a message box.
  void exportWithDialog();

  // For tests and the main window. Display order is the order of the bars, left to right.
  std::vector<double> barValues() const;
  std::vector<QString> barLabels() const;
  // Run op index behind each bar (index into the shown run's ops; in comparison mode into b's ops,
  // -1 for an op only in a).
  std::vector<int> barOps() const;
  // Baseline ranks in the run's op order. Selector: api::uniformRankAtBudget(M_l, N_l, keptFraction),
  // what `--select uniform --keep keptFraction` chooses. Ratio: k_l = floor(r min(M_l, N_l)) with r
  // the largest ratio whose cost sum_l min(k_l (M_l + N_l), M_l N_l) <= keptFraction * sum_l M_l N_l.
  // Empty in comparison mode or with no run.
  std::vector<int64_t> uniformRanks() const { return m_uniformRanks; }
  // The ratio r above (exactly j / K for some op's K); NaN in Selector mode or with no ranks.
  double uniformRatio() const { return m_uniformRatio; }
  // Heatmap cell value (kept fraction, or its difference b - a); NaN when no op fills the cell.
  double heatmapValue(int layer, const QString& kind) const;
  // Heatmap columns (op kinds, left to right) and rows (layers, bottom to top).
  QStringList heatmapKinds() const { return m_kinds; }
  std::vector<int> heatmapLayers() const { return m_layers; }
  bool comparisonMode() const { return m_comparison; }
  bool placeholderShown() const;
  // The hover read-out at plot pixel `pixel`: a bar's op, rank, full rank, energy kept, storage and
  // baseline; a heatmap cell's layer, kind and kept fraction; empty elsewhere.
  QString hoverText(const QPoint& pixel) const;
  PlotInteraction* interaction() const { return m_interaction; }
  QString placeholderText() const;

  QCustomPlot* plot() const { return m_plot; }
  QCPAxisRect* barRect() const { return m_barRect; }
  QCPColorMap* heatmap() const { return m_heatmap; }

 signals:
  // An op was clicked: index into the shown run's ops (comparison mode: into b's ops).
  void opActivated(int opIndex);

 private:
  // One bar / heatmap entry: an op of the shown run (or of either compared run).
  struct Entry {
    QString name;
    QString kind;
    int layer = 0;
    int opA = -1;  // single run: -1; comparison: index into a's ops
    int opB = -1;  // single run: index into the run's ops; comparison: index into b's ops
    int64_t rankA = 0, rankB = 0, fullA = 0, fullB = 0;
    int64_t uniformRank = -1;
  };

  void rebuild();
  void showPlaceholder(const QString& text);
  double barValue(const Entry& e) const;
  double cellValue(const Entry& e) const;
  int entryAt(const QPoint& pos) const;
  void onMouseRelease(QMouseEvent* event);
  bool writeCsv(const QString& path, QString* error) const;

  api::RunData m_runA;
  api::RunData m_runB;  // the single run when not comparing
  bool m_hasRun = false;
  bool m_comparison = false;
  bool m_uniformOverlay = true;
  BaselineKind m_baselineKind = BaselineKind::Selector;
  bool m_showFraction = false;

  std::vector<Entry> m_entries;  // display order
  QStringList m_kinds;
  std::vector<int> m_layers;
  std::vector<std::vector<int>> m_cellEntry;  // [row][column] -> entry, -1 when empty
  std::vector<int64_t> m_uniformRanks;
  double m_uniformRatio = 0.0;
  QPoint m_pressPos;

  PlaceholderStack* m_stack = nullptr;
  QCheckBox* m_fractionBox = nullptr;
  QCheckBox* m_uniformBox = nullptr;
  QComboBox* m_baselineBox = nullptr;
  QPushButton* m_exportButton = nullptr;
  QCustomPlot* m_plot = nullptr;
  QCPTextElement* m_title = nullptr;
  QCPAxisRect* m_barRect = nullptr;
  QCPAxisRect* m_mapRect = nullptr;
  QCPColorMap* m_heatmap = nullptr;
  QCPColorScale* m_colorScale = nullptr;
  QCPLegend* m_legend = nullptr;
  std::vector<QCPBars*> m_bars;
  QCPGraph* m_uniformGraph = nullptr;
  PlotInteraction* m_interaction = nullptr;
};

}  // namespace ranklab::widgets
