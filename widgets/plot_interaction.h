// PlotInteraction: the interaction every QCustomPlot view shares, written once. Attached to a plot
// (it becomes the plot's child), it gives
//   - wheel zoom and drag pan (each axis rect's own range-drag and range-zoom directions apply),
//   - double-click reset (the view's handler, else every axis rescaled to its visible data),
//   - a legend click that hides or shows the series (its legend entry greyed while hidden),
//   - a hover read-out: the view's text for the point under the pointer, as a tooltip.
// GUI thread only; never throws (a failing hover provider shows nothing).
#pragma once

#include <QObject>
#include <QPoint>
#include <QString>
#include <functional>

class QCustomPlot;
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

  // The hover text at `pixel` (what the tooltip would show).
  QString hoverTextAt(const QPoint& pixel) const;
  // What a double click does.
  void reset();
  // What a click on a legend entry does: hides or shows its plottable; false for an entry without
  // one. Greys the entry's text while the series is hidden.
  bool toggleLegendItem(QCPAbstractLegendItem* item);

 signals:
  void seriesToggled(QCPAbstractPlottable* plottable, bool visible);

 private:
  void onMove(QMouseEvent* event);

  QCustomPlot* m_plot;
  HoverText m_hover;
  std::function<void()> m_reset;
};

}  // namespace ranklab::widgets
