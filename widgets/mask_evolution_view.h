// MaskEvolutionView: how the learned rank masks of an ARS or RankDyna run moved during training. One
// figure, three stacked panels sharing the step axis: an op x step heatmap of kept rank / full rank
// (ops top to bottom, labelled by name), the loss and budget curves below it (budget-like series on a
// right-hand axis), and, once an op is selected (combo box or a click on its heatmap row), that op's
// mask bits as a rank-index x step map (1 kept, 0 dropped). A step scrubber with Play/Pause moves a
// cursor line across all panels.
//
// Fed either a whole stored run (setRun) or a running job (startLive, then appendFrame/appendSeries
// as progress arrives, about 10 times a second): live appends write new heatmap columns and graph
// points in place; the colour maps grow by doubling, so an append costs O(ops) amortised, not a
// rebuild. Steps need not be evenly spaced (RankDyna logs a frame per reallocation): each map column
// is one cell of a step grid spaced by the gcd of the frame spacings (at most 2 048 columns, about a
// screen's width; beyond that cells are coarsened and the latest frame in a cell is drawn); a column
// shows the latest frame at or before it.
//
// GUI thread only. No member throws: the data entry points catch and log (qWarning) any failure.
#pragma once

#include <QHash>
#include <QPoint>
#include <QSharedPointer>
#include <QStringList>
#include <QWidget>
#include <cstdint>
#include <limits>
#include <vector>

#include "api/run.h"

class QAbstractButton;
class QComboBox;
class QCPAxis;
class QCPAxisRect;
class QCPAxisTickerText;
class QCPColorMap;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCPMarginGroup;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QPushButton;
class QSlider;
class QTimer;
class QToolButton;

namespace ranklab::widgets {

class PlotInteraction;

class MaskEvolutionView : public QWidget {
  Q_OBJECT

 public:
  explicit MaskEvolutionView(QWidget* parent = nullptr);
  ~MaskEvolutionView() override;

  // Shows a stored run: its ops (names, full ranks), frames (sorted by step) and series. The scrubber
  // starts on the last frame. Replaces whatever was shown.
  void setRun(const api::RunData& run);
  // Names the ops of a running job (names, full ranks), whenever they are known: at job start or
  // just before the first frame. Called on a view showing a stored run, it clears it first; live
  // frames or series that arrived since clear() are kept and redrawn with the given full ranks. A
  // new job therefore starts with clear().
  void startLive(const std::vector<api::OpResult>& ops);
  // Live data. A frame with more ranks than known ops adds placeholder ops ("op N", full rank
  // unknown: drawn blank until startLive names them). A frame whose step is not after the last one
  // replaces the frame at that step or is inserted in order. If the scrubber was on the last frame it
  // moves to the new one; otherwise it stays where the user put it.
  void appendFrame(const api::MaskFrame& frame);
  void appendSeries(const api::SeriesPoint& point);
  void clear();
  // A dotted line at the target kept fraction p on the curves' fraction axis (setRun takes the
  // run's keepTarget; a live job's caller sets it). NaN or <= 0 hides it.
  void setTargetBudget(double p);
  double targetBudget() const { return m_targetBudget; }
  // The hover read-out at plot pixel `pixel`: a heatmap cell's op, step and kept rank; on the curves,
  // every shown series' value at the nearest logged step; empty elsewhere.
  QString hoverText(const QPoint& pixel) const;
  PlotInteraction* interaction() const { return m_interaction; }

  int frameCount() const { return static_cast<int>(m_frames.size()); }
  int opCount() const { return static_cast<int>(m_ops.size()); }
  // Step of the frame under the scrubber; -1 when there are no frames.
  int64_t currentStep() const;
  int currentFrame() const { return m_current; }
  // Moves the scrubber (clamped to the frames); the same as dragging it.
  void setCurrentFrame(int index);
  // Value the heatmap draws for op `opIndex` at frame `frameIndex`'s step: kept rank / full rank in
  // [0, 1]; NaN when out of range or the full rank is unknown.
  double heatmapValue(int opIndex, int frameIndex) const;
  // Mask bit `rankIndex` of op `opIndex` at frame `frameIndex`: 1 kept, 0 dropped, -1 not recorded or
  // out of range. For the selected op this is the value the mask-bits panel draws; for the others it
  // is decoded from the stored frame (bit i = byte i/8, bit i%8, LSB first).
  int bitValue(int opIndex, int rankIndex, int frameIndex) const;
  // Series names in the order they first appeared; one graph each.
  QStringList seriesNames() const { return m_seriesNames; }
  int seriesPointCount(const QString& name) const;
  // Step coordinate of the cursor line in each shown panel (heatmap, curves, then mask bits if
  // shown); empty when there are no frames.
  std::vector<double> cursorPositions() const;

  // Shows op `opIndex`'s mask bits in the third panel; -1 (or out of range) hides the panel.
  void selectOp(int opIndex);
  int selectedOp() const { return m_selectedOp; }

  bool isPlaying() const;
  // Plays from the current frame (from the first one when at the end) to the last frame, then stops.
  void play();
  void pause();
  // Time between frames during playback, in milliseconds (default 120).
  void setPlayInterval(int milliseconds);

  // Saves by suffix: .png / .pdf the whole figure (PlotExport), .csv the frames as a table
  // `step,op,rank`, one row per op per frame (frames in order, ops in run order).
  bool exportTo(const QString& path, QString* error = nullptr);
  // The curves as a tidy CSV `series,step,value`.
  bool exportSeriesCsv(const QString& path, QString* error = nullptr);

  QAbstractButton* playButton() const;
  QSlider* scrubber() const { return m_scrubber; }
  QComboBox* opSelector() const { return m_opCombo; }
  QLabel* stepLabel() const { return m_stepLabel; }
  QCustomPlot* plot() const { return m_plot; }

 signals:
  // The scrubber moved to another frame (user, playback, live follow or setCurrentFrame).
  void currentStepChanged(qint64 step);

 private:
  enum class Mode { Empty, Stored, Live };
  struct OpRow {
    QString name;
    int64_t fullRank = 0;
  };

  void setRunImpl(const api::RunData& run);
  void startLiveImpl(const std::vector<api::OpResult>& ops);
  void appendFrameImpl(const api::MaskFrame& frame);
  void appendSeriesImpl(const api::SeriesPoint& point);
  void clearData();

  void setOps(const std::vector<api::OpResult>& ops);
  bool ensureOpCount(size_t count);
  void refreshOpWidgets();
  int64_t bitRows() const;
  int decodeBit(int opIndex, int rankIndex, int frameIndex) const;

  int cellOf(int64_t step) const;
  int nearestFrame(double step) const;  // index of the frame whose step is nearest; -1 without frames
  void rebuildMaps();
  bool appendColumns();
  void fillColumn(int cell, int frameIndex);

  QCPGraph* graphFor(const QString& name);
  void addSeriesPoint(QCPGraph* graph, double step, double value);
  // Widens the value range of the axis `graph` is drawn against to `value` (non-finite: no change).
  void includeValue(const QCPGraph& graph, double value);
  void updateValueRanges();

  void showBitsPanel(bool show);
  void updateScrubber(bool follow);
  void onFrameChanged(int index);
  void updateCursors();
  void fitStepRange();
  void syncStepAxes(const QCPAxis* source);
  void updateOpTicks();
  void onPlotPress(QMouseEvent* event);
  void onPlotRelease(QMouseEvent* event);
  void onTick();
  void exportWithDialog(int what);
  void replot();

  Mode m_mode = Mode::Empty;
  std::vector<OpRow> m_ops;
  std::vector<api::MaskFrame> m_frames;
  QStringList m_seriesNames;
  QHash<QString, QCPGraph*> m_graphs;
  double m_leftMin = 0.0, m_leftMax = -1.0, m_rightMin = 0.0, m_rightMax = -1.0;

  // Step grid shared by both colour maps: column c is step m_origin + c * m_delta.
  int64_t m_origin = 0;
  int64_t m_delta = 1;
  int m_capacity = 0;
  int m_lastCell = -1;
  bool m_exactGrid = true;

  int m_current = -1;
  int m_selectedOp = -1;
  int m_tickStride = 0;
  bool m_autoRange = true;
  bool m_syncing = false;
  QPoint m_pressPos;

  QCustomPlot* m_plot = nullptr;
  QCPMarginGroup* m_margins = nullptr;
  QCPAxisRect* m_heatRect = nullptr;
  QCPAxisRect* m_curveRect = nullptr;
  QCPAxisRect* m_bitsRect = nullptr;
  QCPColorMap* m_heat = nullptr;
  QCPColorMap* m_bits = nullptr;
  QCPItemStraightLine* m_heatCursor = nullptr;
  QCPItemStraightLine* m_curveCursor = nullptr;
  QCPItemStraightLine* m_target = nullptr;
  QCPItemText* m_targetText = nullptr;
  double m_targetBudget = std::numeric_limits<double>::quiet_NaN();
  PlotInteraction* m_interaction = nullptr;
  QCPItemStraightLine* m_bitsCursor = nullptr;
  QSharedPointer<QCPAxisTickerText> m_opTicker;

  QSlider* m_scrubber = nullptr;
  QPushButton* m_play = nullptr;
  QLabel* m_stepLabel = nullptr;
  QComboBox* m_opCombo = nullptr;
  QToolButton* m_export = nullptr;
  QTimer* m_timer = nullptr;
};

}  // namespace ranklab::widgets
