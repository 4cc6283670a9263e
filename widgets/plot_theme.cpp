#include "widgets/plot_theme.h"

#include <qcustomplot.h>

#include <QPalette>

namespace ranklab::widgets {

void applyPlotTheme(QCustomPlot& plot) {
  const QPalette palette = plot.palette();
  const QColor base = palette.color(QPalette::Base);
  const QColor text = palette.color(QPalette::WindowText);
  QColor grid = text;
  grid.setAlpha(45);
  QColor subGrid = text;
  subGrid.setAlpha(20);
  plot.setBackground(base);
  for (QCPAxisRect* rect : plot.axisRects()) {
    rect->setBackground(base);
    for (QCPAxis* axis : rect->axes()) {
      axis->setBasePen(QPen(text));
      axis->setTickPen(QPen(text));
      axis->setSubTickPen(QPen(text));
      axis->setTickLabelColor(text);
      axis->setLabelColor(text);
      axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
      axis->grid()->setSubGridPen(QPen(subGrid, 1, Qt::DotLine));
      axis->grid()->setZeroLinePen(QPen(grid));
    }
  }
  for (QCPLegend* legend : plot.findChildren<QCPLegend*>()) {
    legend->setBrush(base);
    legend->setTextColor(text);
    legend->setBorderPen(QPen(grid));
  }
  for (int i = 0; i < plot.plotLayout()->elementCount(); ++i)
    if (auto* title = qobject_cast<QCPTextElement*>(plot.plotLayout()->elementAt(i)))
      title->setTextColor(text);
  plot.replot(QCustomPlot::rpQueuedReplot);
}

void applyPlotThemeTree(QWidget& root) {
  if (auto* plot = qobject_cast<QCustomPlot*>(&root)) applyPlotTheme(*plot);
  for (QCustomPlot* plot : root.findChildren<QCustomPlot*>()) applyPlotTheme(*plot);
}

QCPColorGradient colorGradient(std::initializer_list<std::pair<double, QColor>> stops) {
  QCPColorGradient gradient;
  gradient.clearColorStops();
  for (const auto& [position, colour] : stops) gradient.setColorStopAt(position, colour);
  return gradient;
}

QCPColorGradient keptFractionGradient() {
  return colorGradient({{0.0, QColor(68, 1, 84)},
                        {0.25, QColor(59, 82, 139)},
                        {0.5, QColor(33, 145, 140)},
                        {0.75, QColor(94, 201, 98)},
                        {1.0, QColor(253, 231, 37)}});
}

}  // namespace ranklab::widgets
