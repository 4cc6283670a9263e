// PlotInteraction: the interaction every QCustomPlot view shares, written once. Attached to a plot
// (it becomes the plot's child), it gives
//   - wheel zoom and drag pan (each axis rect's own range-drag and range-zoom directions apply),
//   - double-click reset (the view's handler, else every axis rescaled to its visible data),
//   - a legend click that hides or shows the series (its legend entry greyed while hidden),
//   - a hover read-out: the view's text for the point under the pointer, as a tooltip,
//   - a crosshair linked across the axis rects of one view: a vertical line at the key (step, op)
//     under the pointer, drawn in every linked rect (an overlay; the plot's data are not touched),
//   - optional smoothing of chosen line graphs: an exponential moving average with TensorBoard's
//     debiasing, s_t = (w s_{t-1} + (1 - w) x_t), shown as s_t / (1 - w^t), drawn over the raw
//     curve, which stays faint (weight 0: raw curves only).
// GUI thread only; never throws (a failing hover provider shows nothing).
#pragma once

#include <QList>
#include <QObject>
#include <QPoint>
#include <QPointer>
#include <QString>
#include <QVector>
#include <functional>
#include <vector>

class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QWidget;
class QCPAbstractLegendItem;
class QCPAbstractPlottable;
class QMouseEvent;

namespace ranklab::widgets {

class PlotInteraction : public QObject {
  Q_OBJECT

 public:
  // Text for plot-widget pixel `pixel`; empty: nothing to say there.
  using HoverText = std::function<QString(const QPoint& pixel)>;

  explicit PlotInteraction(QCustomPlot* plot);

  void setHoverText(HoverText text) { m_hover = std::move(text); }
  // What a double click does; without one, every axis is rescaled to its visible plottables.
  void setResetHandler(std::function<void()> reset) { m_reset = std::move(reset); }
  // The axis rects that share the crosshair, asked on every move (rects may come and go). Their
  // bottom axes must show the same quantity.
  void setCrosshairRects(std::function<QList<QCPAxisRect*>()> rects);
  // Moves the crosshair to plot pixel `pixel` (what hovering does); hidden outside the linked rects.
  void moveCrosshair(const QPoint& pixel);
  void hideCrosshair();
  bool crosshairVisible() const;
  // The key under the crosshair and the x pixel of its line in each linked rect shown.
  double crosshairKey() const { return m_crosshairKey; }
  std::vector<int> crosshairPixels() const;

  // The graphs smoothing applies to, asked whenever smoothing is refreshed.
  void setSmoothedGraphs(std::function<QList<QCPGraph*>()> graphs);
  // Smoothing weight w in [0, 0.999]; 0 shows the raw curves alone.
  void setSmoothing(double weight);
  double smoothing() const { return m_smoothing; }
  // Recomputes the smoothed curves from the raw ones (call after the raw data change).
  void refreshSmoothing();
  // The smoothed companion of `raw`; null while smoothing is off.
  QCPGraph* smoothedGraph(const QCPGraph* raw) const;
  // A "Smoothing" label and slider (0 to 0.99) driving setSmoothing, for a view's tool bar.
  QWidget* createSmoothingControl(QWidget* parent);

  // The debiased exponential moving average of `values` with weight `weight` (see above).
  static QVector<double> ema(const QVector<double>& values, double weight);
  // A curve read-out at `pixel`: the key named `keyLabel`, then each visible graph of the axis rect
  // under the pointer at its data point nearest in key; empty outside every axis rect.
  static QString nearestGraphText(const QCustomPlot& plot, const QPoint& pixel, const QString& keyLabel);

  // The hover text at `pixel` (what the tooltip would show).
  QString hoverTextAt(const QPoint& pixel) const;
  // What a double click does.
  void reset();
  // What a click on a legend entry does: hides or shows its plottable; false for an entry without
  // one. Greys the entry's text while the series is hidden.
  bool toggleLegendItem(QCPAbstractLegendItem* item);

 signals:
  void seriesToggled(QCPAbstractPlottable* plottable, bool visible);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  class Overlay;
  struct Smoothed {
    QPointer<QCPGraph> raw;
    QPointer<QCPGraph> smooth;
  };

  void onMove(QMouseEvent* event);
  void dropSmoothed();

  QCustomPlot* m_plot;
  HoverText m_hover;
  std::function<void()> m_reset;
  std::function<QList<QCPAxisRect*>()> m_crosshairRects;
  Overlay* m_overlay = nullptr;
  double m_crosshairKey = 0.0;
  bool m_crosshairShown = false;
  std::function<QList<QCPGraph*>()> m_smoothedGraphs;
  std::vector<Smoothed> m_smoothed;
  double m_smoothing = 0.0;
};

}  // namespace ranklab::widgets
