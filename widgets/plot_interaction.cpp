#include "widgets/plot_interaction.h"

#include <qcustomplot.h>

#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QSlider>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <exception>

namespace ranklab::widgets {

// Draws the crosshair over the plot without touching its layers or items, so that rects and items
// a view removes can never leave a line pointing at freed axes.
class PlotInteraction::Overlay : public QWidget {
 public:
  explicit Overlay(QWidget* parent) : QWidget(parent) {
    setAttribute(Qt::WA_TransparentForMouseEvents);
    setAttribute(Qt::WA_NoSystemBackground);
    setGeometry(parent->rect());
  }
  std::vector<QLine> lines;

 protected:
  void paintEvent(QPaintEvent*) override {
    if (lines.empty()) return;
    QPainter painter(this);
    QColor colour = palette().color(QPalette::WindowText);
    colour.setAlpha(150);
    painter.setPen(QPen(colour, 1, Qt::DashLine));
    for (const QLine& line : lines) painter.drawLine(line);
  }
};

PlotInteraction::PlotInteraction(QCustomPlot* plot) : QObject(plot), m_plot(plot) {
  m_plot->setInteractions(m_plot->interactions() | QCP::iRangeDrag | QCP::iRangeZoom);
  m_plot->setMouseTracking(true);
  m_plot->installEventFilter(this);
  connect(m_plot, &QCustomPlot::mouseMove, this, &PlotInteraction::onMove);
  connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { reset(); });
  connect(m_plot, &QCustomPlot::legendClick, this,
          [this](QCPLegend*, QCPAbstractLegendItem* item, QMouseEvent*) {
            if (item && toggleLegendItem(item)) m_plot->replot(QCustomPlot::rpQueuedReplot);
          });
  // Panning or zooming moves the data under a still pointer: the crosshair would lie.
  connect(m_plot, &QCustomPlot::mouseWheel, this, [this](QWheelEvent*) { hideCrosshair(); });
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
  for (const Smoothed& s : m_smoothed)
    if (s.raw == plottable && s.smooth) s.smooth->setVisible(visible);
  entry->setTextColor(visible ? entry->parentLegend()->textColor() : QColor(150, 150, 150));
  QFont font = entry->font();
  font.setStrikeOut(!visible);
  entry->setFont(font);
  emit seriesToggled(plottable, visible);
  return true;
}

// ---- crosshair ----

void PlotInteraction::setCrosshairRects(std::function<QList<QCPAxisRect*>()> rects) {
  m_crosshairRects = std::move(rects);
  if (!m_overlay) m_overlay = new Overlay(m_plot);
  m_overlay->raise();
  m_overlay->show();
}

void PlotInteraction::moveCrosshair(const QPoint& pixel) {
  if (!m_overlay || !m_crosshairRects) return;
  const QList<QCPAxisRect*> rects = m_crosshairRects();
  const QCPAxisRect* source = nullptr;
  for (QCPAxisRect* rect : rects)
    if (rect && rect->rect().contains(pixel)) source = rect;
  if (!source) {
    hideCrosshair();
    return;
  }
  m_crosshairKey = source->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x());
  m_overlay->lines.clear();
  for (QCPAxisRect* rect : rects) {
    if (!rect || !rect->visible()) continue;
    const double x = rect->axis(QCPAxis::atBottom)->coordToPixel(m_crosshairKey);
    const QRect r = rect->rect();
    if (!std::isfinite(x) || x < r.left() || x > r.right()) continue;
    const int px = int(std::lround(x));
    m_overlay->lines.emplace_back(px, r.top(), px, r.bottom());
  }
  m_crosshairShown = !m_overlay->lines.empty();
  m_overlay->update();
}

void PlotInteraction::hideCrosshair() {
  m_crosshairShown = false;
  if (!m_overlay || m_overlay->lines.empty()) return;
  m_overlay->lines.clear();
  m_overlay->update();
}

bool PlotInteraction::crosshairVisible() const { return m_crosshairShown; }

std::vector<int> PlotInteraction::crosshairPixels() const {
  std::vector<int> pixels;
  if (m_overlay && m_crosshairShown)
    for (const QLine& line : m_overlay->lines) pixels.push_back(line.x1());
  return pixels;
}

bool PlotInteraction::eventFilter(QObject* watched, QEvent* event) {
  if (watched == m_plot) {
    if (event->type() == QEvent::Resize && m_overlay) m_overlay->setGeometry(m_plot->rect());
    if (event->type() == QEvent::Leave) hideCrosshair();
  }
  return QObject::eventFilter(watched, event);
}

// ---- smoothing ----

QVector<double> PlotInteraction::ema(const QVector<double>& values, double weight) {
  QVector<double> out;
  out.reserve(values.size());
  double last = 0.0, decay = 1.0;
  for (double v : values) {
    if (!std::isfinite(v)) {  // a gap stays a gap and does not poison what follows
      out << v;
      continue;
    }
    last = weight * last + (1.0 - weight) * v;
    decay *= weight;
    out << (decay < 1.0 ? last / (1.0 - decay) : v);
  }
  return out;
}

void PlotInteraction::setSmoothedGraphs(std::function<QList<QCPGraph*>()> graphs) {
  m_smoothedGraphs = std::move(graphs);
  refreshSmoothing();
}

void PlotInteraction::setSmoothing(double weight) {
  const double w = std::clamp(std::isfinite(weight) ? weight : 0.0, 0.0, 0.999);
  if (w == m_smoothing) return;
  m_smoothing = w;
  refreshSmoothing();
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotInteraction::dropSmoothed() {
  for (Smoothed& s : m_smoothed) {
    if (s.smooth) m_plot->removeGraph(s.smooth);
    if (s.raw) {
      QPen pen = s.raw->pen();
      QColor colour = pen.color();
      colour.setAlpha(255);
      pen.setColor(colour);
      s.raw->setPen(pen);
    }
  }
  m_smoothed.clear();
}

void PlotInteraction::refreshSmoothing() {
  if (m_smoothing <= 0.0 || !m_smoothedGraphs) {
    dropSmoothed();
    return;
  }
  // Companions whose raw graph is gone go too.
  for (auto it = m_smoothed.begin(); it != m_smoothed.end();) {
    if (!it->raw) {
      if (it->smooth) m_plot->removeGraph(it->smooth);
      it = m_smoothed.erase(it);
    } else {
      ++it;
    }
  }
  for (QCPGraph* raw : m_smoothedGraphs()) {
    if (!raw) continue;
    auto found =
        std::find_if(m_smoothed.begin(), m_smoothed.end(), [raw](const Smoothed& s) { return s.raw == raw; });
    if (found == m_smoothed.end()) {
      QCPGraph* smooth = m_plot->addGraph(raw->keyAxis(), raw->valueAxis());
      smooth->removeFromLegend();
      smooth->setName(tr("%1 (smoothed)").arg(raw->name()));
      smooth->setSelectable(QCP::stNone);
      m_smoothed.push_back({raw, smooth});
      found = m_smoothed.end() - 1;
    }
    QPen pen = raw->pen();
    QColor colour = pen.color();
    colour.setAlpha(255);
    pen.setColor(colour);
    found->smooth->setPen(pen);
    colour.setAlpha(70);
    pen.setColor(colour);
    raw->setPen(pen);
    found->smooth->setVisible(raw->visible());
    QVector<double> keys, values;
    for (auto p = raw->data()->constBegin(); p != raw->data()->constEnd(); ++p) {
      keys << p->key;
      values << p->value;
    }
    found->smooth->setData(keys, ema(values, m_smoothing), true);
  }
}

QCPGraph* PlotInteraction::smoothedGraph(const QCPGraph* raw) const {
  for (const Smoothed& s : m_smoothed)
    if (s.raw == raw) return s.smooth;
  return nullptr;
}

QWidget* PlotInteraction::createSmoothingControl(QWidget* parent) {
  auto* box = new QWidget(parent);
  auto* layout = new QHBoxLayout(box);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* label = new QLabel(tr("Smoothing"), box);
  auto* slider = new QSlider(Qt::Horizontal, box);
  slider->setObjectName(QStringLiteral("smoothingSlider"));
  slider->setRange(0, 99);
  slider->setValue(int(std::lround(m_smoothing * 100.0)));
  slider->setFixedWidth(110);
  slider->setFocusPolicy(Qt::StrongFocus);  // the wheel over an unfocused slider scrolls the page
  auto* value = new QLabel(box);
  value->setMinimumWidth(value->fontMetrics().horizontalAdvance(QStringLiteral("0.00")));
  const auto show = [value, slider](int v) {
    value->setText(QString::number(v / 100.0, 'f', 2));
    slider->setToolTip(
        v == 0 ? tr("Raw curves")
               : tr("Exponential moving average, weight %1; raw curves faint").arg(v / 100.0, 0, 'f', 2));
  };
  show(slider->value());
  label->setBuddy(slider);
  connect(slider, &QSlider::valueChanged, this, [this, show](int v) {
    show(v);
    setSmoothing(v / 100.0);
  });
  layout->addWidget(label);
  layout->addWidget(slider);
  layout->addWidget(value);
  return box;
}

// ---- read-outs ----

QString PlotInteraction::nearestGraphText(const QCustomPlot& plot, const QPoint& pixel,
                                          const QString& keyLabel) {
  QCPAxisRect* rect = nullptr;
  for (QCPAxisRect* r : plot.axisRects())
    if (r->rect().contains(pixel)) rect = r;
  if (!rect) return {};
  const double key = rect->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x());
  QStringList lines;
  double shownKey = std::nan("");
  for (int i = 0; i < plot.graphCount(); ++i) {
    const QCPGraph* graph = plot.graph(i);
    if (!graph->visible() || graph->keyAxis()->axisRect() != rect || graph->data()->isEmpty()) continue;
    auto it = graph->data()->findBegin(key, true);
    if (it == graph->data()->constEnd()) continue;
    const auto next = it + 1;
    if (next != graph->data()->constEnd() && std::abs(next->key - key) < std::abs(it->key - key)) it = next;
    if (std::isnan(shownKey)) shownKey = it->key;
    QString line = QStringLiteral("%1: %2").arg(graph->name()).arg(it->value, 0, 'g', 5);
    if (it->key != shownKey) line += QStringLiteral(" (%1 %2)").arg(keyLabel).arg(it->key, 0, 'g', 10);
    lines << line;
  }
  if (lines.isEmpty()) return {};
  lines.prepend(QStringLiteral("%1 %2").arg(keyLabel).arg(shownKey, 0, 'g', 10));
  return lines.join(QLatin1Char('\n'));
}

void PlotInteraction::onMove(QMouseEvent* event) {
  if (event->buttons() != Qt::NoButton) {  // dragging pans; no read-out meanwhile
    hideCrosshair();
    return;
  }
  const QPoint pixel = event->position().toPoint();
  moveCrosshair(pixel);
  const QString text = hoverTextAt(pixel);
  if (text.isEmpty()) {
    QToolTip::hideText();
    return;
  }
  QToolTip::showText(m_plot->mapToGlobal(pixel), text, m_plot);
}

}  // namespace ranklab::widgets
