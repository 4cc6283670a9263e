#include "widgets/plot_interaction.h"

#include <qcustomplot.h>

#include <QToolTip>
#include <exception>

namespace ranklab::widgets {

PlotInteraction::PlotInteraction(QCustomPlot* plot) : QObject(plot), m_plot(plot) {
  m_plot->setInteractions(m_plot->interactions() | QCP::iRangeDrag | QCP::iRangeZoom);
  m_plot->setMouseTracking(true);
  connect(m_plot, &QCustomPlot::mouseMove, this, &PlotInteraction::onMove);
  connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { reset(); });
  connect(m_plot, &QCustomPlot::legendClick, this,
          [this](QCPLegend*, QCPAbstractLegendItem* item, QMouseEvent*) {
            if (item && toggleLegendItem(item)) m_plot->replot(QCustomPlot::rpQueuedReplot);
          });
}

QString PlotInteraction::hoverTextAt(const QPoint& pixel) const {
  if (!m_hover) return {};
  try {
    return m_hover(pixel);
  } catch (const std::exception& e) {
    qWarning("PlotInteraction: hover text failed: %s", e.what());
    return {};
  }
}

void PlotInteraction::reset() {
  if (m_reset) {
    m_reset();
  } else {
    m_plot->rescaleAxes(true);
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool PlotInteraction::toggleLegendItem(QCPAbstractLegendItem* item) {
  auto* entry = qobject_cast<QCPPlottableLegendItem*>(item);
  if (!entry || !entry->plottable()) return false;
  QCPAbstractPlottable* plottable = entry->plottable();
  const bool visible = !plottable->visible();
  plottable->setVisible(visible);
  entry->setTextColor(visible ? entry->parentLegend()->textColor() : QColor(150, 150, 150));
  QFont font = entry->font();
  font.setStrikeOut(!visible);
  entry->setFont(font);
  emit seriesToggled(plottable, visible);
  return true;
}

void PlotInteraction::onMove(QMouseEvent* event) {
  if (event->buttons() != Qt::NoButton) return;  // dragging pans; no read-out meanwhile
  const QPoint pixel = event->position().toPoint();
  const QString text = hoverTextAt(pixel);
  if (text.isEmpty()) {
    QToolTip::hideText();
    return;
  }
  QToolTip::showText(m_plot->mapToGlobal(pixel), text, m_plot);
}

}  // namespace ranklab::widgets
