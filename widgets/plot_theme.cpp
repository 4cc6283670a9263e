#include "widgets/plot_theme.h"

#include <qcustomplot.h>

#include <QPalette>
#include <cmath>

namespace ranklab::widgets {
namespace {
const char kThemedAnnotation[] = "ranklabThemedAnnotation";

double luminance(const QColor& c) {
  const auto channel = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF());
}
}  // namespace

// Themes its plot again whenever the plot's palette changes (the application's theme switched, or a
// window set a palette of its own). Qt delivers that change to each widget after
// QApplication::setPalette returns, so theming from the caller would read the old palette.
class PaletteFollower : public QObject {
 public:
  explicit PaletteFollower(QCustomPlot* plot) : QObject(plot) { plot->installEventFilter(this); }

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override {
    if (event->type() == QEvent::PaletteChange)
      if (auto* plot = qobject_cast<QCustomPlot*>(watched)) applyPlotTheme(*plot);
    return QObject::eventFilter(watched, event);
  }
};

void setThemedAnnotation(QCPAbstractItem* item) {
  if (item) item->setProperty(kThemedAnnotation, true);
}

double contrastRatio(const QColor& a, const QColor& b) {
  const double la = luminance(a), lb = luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

void applyPlotTheme(QCustomPlot& plot) {
  const QPalette palette = plot.palette();
  const QColor base = palette.color(QPalette::Base);
  const QColor text = palette.color(QPalette::WindowText);
  QColor grid = text;
  grid.setAlpha(45);
  QColor subGrid = text;
  subGrid.setAlpha(20);
  if (!plot.property("ranklabFollowsPalette").toBool()) {
    plot.setProperty("ranklabFollowsPalette", true);
    new PaletteFollower(&plot);
  }
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
  for (int i = 0; i < plot.itemCount(); ++i) {
    QCPAbstractItem* item = plot.item(i);
    if (!item->property(kThemedAnnotation).toBool()) continue;
    if (auto* label = qobject_cast<QCPItemText*>(item)) label->setColor(text);
    QColor lineColour = text;
    lineColour.setAlpha(170);
    if (auto* line = qobject_cast<QCPItemStraightLine*>(item)) {
      QPen pen = line->pen();
      pen.setColor(lineColour);
      line->setPen(pen);
    }
    if (auto* line = qobject_cast<QCPItemLine*>(item)) {
      QPen pen = line->pen();
      pen.setColor(lineColour);
      line->setPen(pen);
    }
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
