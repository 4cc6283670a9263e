#include "widgets/mask_evolution_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QCoreApplication>
#include <QFontMetrics>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QSlider>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <exception>
#include <iterator>
#include <limits>
#include <numeric>
#include <utility>

#include "widgets/plot_export.h"
#include "widgets/plot_interaction.h"
#include "widgets/plot_theme.h"

namespace ranklab::widgets {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Colour maps grow by doubling from kChunk columns; more columns than kMaxCells would be more than
// a screen has pixels, so the step grid is coarsened instead.
constexpr int kChunk = 64;
constexpr int kMaxCells = 2048;
constexpr int kClickSlop = 3;  // pixels a click may move and still count as a click

enum ExportKind { kFigure, kFramesCsv, kCurvesCsv };

// Runs a data entry point so that nothing it throws (bad_alloc on a huge run) leaves through a slot.
template <typename F>
void guarded(const char* what, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    qWarning("MaskEvolutionView::%s failed: %s", what, e.what());
  } catch (...) {
    qWarning("MaskEvolutionView::%s failed with an unknown exception", what);
  }
}

QCPColorGradient keptGradient() {
  QCPColorGradient gradient = keptFractionGradient();
  gradient.setNanHandling(QCPColorGradient::nhTransparent);
  return gradient;
}

QCPColorGradient bitGradient() {
  QCPColorGradient gradient =
      colorGradient({{0.0, QColor(0xe6, 0xe6, 0xe6)}, {1.0, QColor(0x1f, 0x4e, 0x79)}});
  gradient.setLevelCount(2);
  gradient.setNanHandling(QCPColorGradient::nhTransparent);
  return gradient;
}

QColor seriesColor(int index) {
  static const QColor kColors[] = {
      QColor(0x1f, 0x77, 0xb4), QColor(0xd6, 0x27, 0x28), QColor(0x2c, 0xa0, 0x2c), QColor(0xff, 0x7f, 0x0e),
      QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b), QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f)};
  return kColors[index % int(std::size(kColors))];
}

// Budget-like series share a right-hand axis: they are fractions, the losses are not.
// Fractions of T_total and probabilities go on the right axis; losses and loss terms on the left.
bool onRightAxis(const QString& name) {
  return name.startsWith(QLatin1String("budget")) || name == QLatin1String("mean_prob") ||
         name == QLatin1String("kept");
}

// What a series is called on screen (the stored name is the code's: task_loss, R, ...).
QString seriesLabel(const QString& name) {
  static const QHash<QString, const char*> kLabels = {
      {QStringLiteral("task_loss"), QT_TRANSLATE_NOOP("MaskEvolutionView", "task loss")},
      {QStringLiteral("R"), QT_TRANSLATE_NOOP("MaskEvolutionView", "budget penalty R")},
      {QStringLiteral("R_align"), QT_TRANSLATE_NOOP("MaskEvolutionView", "alignment R_align")},
      {QStringLiteral("mean_prob"), QT_TRANSLATE_NOOP("MaskEvolutionView", "mean keep probability")},
      {QStringLiteral("budget"), QT_TRANSLATE_NOOP("MaskEvolutionView", "kept fraction (sampled)")},
      {QStringLiteral("budget_readoff"), QT_TRANSLATE_NOOP("MaskEvolutionView", "kept fraction (read-off)")},
      {QStringLiteral("kept"), QT_TRANSLATE_NOOP("MaskEvolutionView", "kept fraction (active)")},
      {QStringLiteral("finetune_loss"), QT_TRANSLATE_NOOP("MaskEvolutionView", "fine-tune loss")},
      {QStringLiteral("score_mean"), QT_TRANSLATE_NOOP("MaskEvolutionView", "mean importance score")},
      {QStringLiteral("lr"), QT_TRANSLATE_NOOP("MaskEvolutionView", "learning rate")}};
  const auto it = kLabels.constFind(name);
  return it == kLabels.cend() ? name : QCoreApplication::translate("MaskEvolutionView", it.value());
}

QCPItemStraightLine* makeCursor(QCustomPlot* plot, QCPAxisRect* rect) {
  auto* line = new QCPItemStraightLine(plot);
  line->setClipAxisRect(rect);
  line->setClipToAxisRect(true);
  line->setSelectable(false);
  line->setPen(QPen(QColor(0xd6, 0x27, 0x28), 1.5));
  for (QCPItemPosition* p : {line->point1, line->point2}) {
    p->setType(QCPItemPosition::ptPlotCoords);
    p->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
  }
  line->setVisible(false);
  return line;
}

void placeCursor(QCPItemStraightLine* line, double step, bool visible) {
  if (!line) return;
  line->point1->setCoords(step, 0.0);
  line->point2->setCoords(step, 1.0);
  line->setVisible(visible);
}

void padRange(QCPAxis* axis, double lo, double hi) {
  if (!(hi >= lo)) return;
  const double pad = hi > lo ? 0.05 * (hi - lo) : std::max(0.5, 0.05 * std::abs(hi));
  axis->setRange(lo - pad, hi + pad);
}

}  // namespace

MaskEvolutionView::MaskEvolutionView(QWidget* parent) : QWidget(parent) {
  m_plot = new QCustomPlot(this);
  m_plot->setObjectName(QStringLiteral("maskEvolutionPlot"));
  m_plot->setMinimumHeight(360);
  m_plot->setAutoAddPlottableToLegend(false);
  m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  m_margins = new QCPMarginGroup(m_plot);
  auto* heatRows = new QCPMarginGroup(m_plot);

  m_heatRect = m_plot->axisRect();
  m_heatRect->setRangeDrag(Qt::Horizontal);
  m_heatRect->setRangeZoom(Qt::Horizontal);
  m_heatRect->setMarginGroup(QCP::msLeft | QCP::msRight, m_margins);
  m_heatRect->setMarginGroup(QCP::msTop | QCP::msBottom, heatRows);
  QCPAxis* heatX = m_heatRect->axis(QCPAxis::atBottom);
  QCPAxis* heatY = m_heatRect->axis(QCPAxis::atLeft);
  heatY->setRangeReversed(true);
  m_opTicker = QSharedPointer<QCPAxisTickerText>::create();
  heatY->setTicker(m_opTicker);
  heatY->setSubTicks(false);
  heatY->grid()->setVisible(false);
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.85);
  heatY->setTickLabelFont(small);
  heatY->setRange(-0.5, 0.5);
  heatX->grid()->setVisible(false);

  m_heat = new QCPColorMap(heatX, heatY);
  m_heat->setName(tr("kept rank / full rank"));
  m_heat->setInterpolate(false);
  auto* scale = new QCPColorScale(m_plot);
  m_plot->plotLayout()->addElement(0, 1, scale);
  scale->setType(QCPAxis::atRight);
  scale->setBarWidth(10);
  scale->setLabel(tr("kept / full rank"));
  scale->setMarginGroup(QCP::msTop | QCP::msBottom, heatRows);
  m_heat->setColorScale(scale);
  m_heat->setGradient(keptGradient());
  m_heat->setDataRange(QCPRange(0.0, 1.0));

  m_curveRect = new QCPAxisRect(m_plot);
  m_plot->plotLayout()->addElement(1, 0, m_curveRect);
  m_curveRect->setRangeDrag(Qt::Horizontal);
  m_curveRect->setRangeZoom(Qt::Horizontal);
  m_curveRect->setMarginGroup(QCP::msLeft | QCP::msRight, m_margins);
  m_curveRect->axis(QCPAxis::atBottom)->setLabel(tr("step"));
  m_curveRect->axis(QCPAxis::atLeft)->setLabel(tr("loss"));
  m_curveRect->axis(QCPAxis::atRight)->setLabel(tr("fraction of T_total"));
  m_plot->plotLayout()->setRowStretchFactor(0, 3);
  m_plot->plotLayout()->setRowStretchFactor(1, 2);
  m_heatRect->insetLayout()->take(m_plot->legend);
  // The legend gets a row of its own under the curves, so it never covers them.
  m_plot->plotLayout()->addElement(2, 0, m_plot->legend);
  m_plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  m_plot->legend->setWrap(3);  // two rows of three: the names stay whole in a narrow view
  m_plot->legend->setBorderPen(Qt::NoPen);
  m_plot->legend->setMargins(QMargins(6, 2, 6, 2));
  m_plot->plotLayout()->setRowStretchFactor(2, 0.001);
  m_plot->legend->setFont(small);
  m_plot->legend->setVisible(true);

  m_heatCursor = makeCursor(m_plot, m_heatRect);
  m_curveCursor = makeCursor(m_plot, m_curveRect);
  m_target = new QCPItemStraightLine(m_plot);
  m_target->setClipAxisRect(m_curveRect);
  m_target->setClipToAxisRect(true);
  m_target->setSelectable(false);
  m_target->setPen(QPen(QColor(0x55, 0x55, 0x55), 1.0, Qt::DotLine));
  setThemedAnnotation(m_target);
  for (QCPItemPosition* p : {m_target->point1, m_target->point2}) {
    p->setAxisRect(m_curveRect);
    p->setAxes(m_curveRect->axis(QCPAxis::atBottom), m_curveRect->axis(QCPAxis::atRight));
  }
  m_target->setVisible(false);
  m_targetText = new QCPItemText(m_plot);
  m_targetText->setClipAxisRect(m_curveRect);
  m_targetText->setClipToAxisRect(true);
  m_targetText->setSelectable(false);
  m_targetText->position->setAxisRect(m_curveRect);
  m_targetText->position->setAxes(m_curveRect->axis(QCPAxis::atBottom), m_curveRect->axis(QCPAxis::atRight));
  m_targetText->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
  m_targetText->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
  m_targetText->setColor(QColor(0x55, 0x55, 0x55));
  setThemedAnnotation(m_targetText);
  m_targetText->setFont(small);
  m_targetText->setVisible(false);

  for (QCPAxis* axis : {heatX, m_curveRect->axis(QCPAxis::atBottom)}) {
    connect(axis, QOverload<const QCPRange&>::of(&QCPAxis::rangeChanged), this,
            [this, axis](const QCPRange&) { syncStepAxes(axis); });
  }
  connect(m_plot, &QCustomPlot::afterLayout, this,
          [this] { guarded("updateOpTicks", [this] { updateOpTicks(); }); });
  connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) { onPlotPress(e); });
  connect(m_plot, &QCustomPlot::mouseRelease, this,
          [this](QMouseEvent* e) { guarded("selectOp", [this, e] { onPlotRelease(e); }); });
  connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
    if ((e->buttons() & Qt::LeftButton) &&
        (e->position().toPoint() - m_pressPos).manhattanLength() > kClickSlop) {
      m_autoRange = false;
    }
  });
  connect(m_plot, &QCustomPlot::mouseWheel, this, [this](QWheelEvent*) { m_autoRange = false; });
  m_interaction = new PlotInteraction(m_plot);
  m_interaction->setHoverText([this](const QPoint& pixel) { return hoverText(pixel); });
  m_interaction->setResetHandler([this] {
    m_autoRange = true;
    fitStepRange();
    replot();
  });
  m_interaction->setCrosshairRects([this] {
    QList<QCPAxisRect*> rects{m_heatRect, m_curveRect};
    if (m_bitsRect) rects << m_bitsRect;
    return rects;
  });
  // Losses are noisy; the kept fractions on the right axis are what the budget is read from.
  m_interaction->setSmoothedGraphs([this] {
    QList<QCPGraph*> graphs;
    for (const QString& name : std::as_const(m_seriesNames))
      if (!onRightAxis(name)) graphs << m_graphs.value(name);
    return graphs;
  });

  m_play = new QPushButton(tr("Play"), this);
  m_play->setObjectName(QStringLiteral("playButton"));
  m_play->setEnabled(false);
  connect(m_play, &QPushButton::clicked, this, [this] { isPlaying() ? pause() : play(); });

  m_scrubber = new QSlider(Qt::Horizontal, this);
  m_scrubber->setObjectName(QStringLiteral("stepScrubber"));
  m_scrubber->setRange(0, 0);
  m_scrubber->setEnabled(false);
  connect(m_scrubber, &QSlider::valueChanged, this,
          [this](int index) { guarded("setCurrentFrame", [this, index] { onFrameChanged(index); }); });
  connect(m_scrubber, &QSlider::sliderPressed, this, &MaskEvolutionView::pause);

  m_stepLabel = new QLabel(this);
  m_stepLabel->setObjectName(QStringLiteral("stepLabel"));
  m_stepLabel->setMinimumWidth(QFontMetrics(font()).horizontalAdvance(QStringLiteral("step 0000000")));

  m_opCombo = new QComboBox(this);
  m_opCombo->setObjectName(QStringLiteral("opSelector"));
  m_opCombo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  connect(m_opCombo, QOverload<int>::of(&QComboBox::currentIndexChanged), this,
          [this](int index) { selectOp(index - 1); });

  m_export = new QToolButton(this);
  m_export->setObjectName(QStringLiteral("exportButton"));
  m_export->setText(tr("Export"));
  m_export->setPopupMode(QToolButton::InstantPopup);
  auto* menu = new QMenu(m_export);
  menu->addAction(tr("Figure (PNG/PDF)..."), this, [this] { exportWithDialog(kFigure); });
  menu->addAction(tr("Mask frames (CSV)..."), this, [this] { exportWithDialog(kFramesCsv); });
  menu->addAction(tr("Curves (CSV)..."), this, [this] { exportWithDialog(kCurvesCsv); });
  m_export->setMenu(menu);

  m_timer = new QTimer(this);
  m_timer->setInterval(120);
  connect(m_timer, &QTimer::timeout, this, [this] { guarded("play", [this] { onTick(); }); });

  auto* controls = new QHBoxLayout;
  controls->addWidget(m_play);
  controls->addWidget(m_scrubber, 1);
  controls->addWidget(m_stepLabel);
  controls->addSpacing(12);
  controls->addWidget(new QLabel(tr("Mask bits of:"), this));
  controls->addWidget(m_opCombo);
  controls->addSpacing(12);
  controls->addWidget(m_interaction->createSmoothingControl(this));
  controls->addWidget(m_export);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(m_plot, 1);
  layout->addLayout(controls);

  refreshOpWidgets();
  onFrameChanged(-1);
}

MaskEvolutionView::~MaskEvolutionView() = default;

void MaskEvolutionView::setRun(const api::RunData& run) {
  guarded("setRun", [&] { setRunImpl(run); });
}

void MaskEvolutionView::startLive(const std::vector<api::OpResult>& ops) {
  guarded("startLive", [&] { startLiveImpl(ops); });
}

void MaskEvolutionView::appendFrame(const api::MaskFrame& frame) {
  guarded("appendFrame", [&] { appendFrameImpl(frame); });
}

void MaskEvolutionView::appendSeries(const api::SeriesPoint& point) {
  guarded("appendSeries", [&] { appendSeriesImpl(point); });
}

void MaskEvolutionView::clear() {
  guarded("clear", [this] {
    clearData();
    replot();
  });
}

void MaskEvolutionView::clearData() {
  pause();
  m_mode = Mode::Empty;
  m_ops.clear();
  m_frames.clear();
  for (QCPGraph* graph : std::as_const(m_graphs)) m_plot->removeGraph(graph);
  m_graphs.clear();
  m_seriesNames.clear();
  m_interaction->refreshSmoothing();
  m_leftMin = m_rightMin = 0.0;
  m_leftMax = m_rightMax = -1.0;
  m_curveRect->axis(QCPAxis::atRight)->setVisible(false);
  m_selectedOp = -1;
  showBitsPanel(false);
  m_origin = 0;
  m_delta = 1;
  m_exactGrid = true;
  rebuildMaps();
  m_autoRange = true;
  refreshOpWidgets();
  updateScrubber(false);
}

void MaskEvolutionView::setRunImpl(const api::RunData& run) {
  clearData();
  m_mode = Mode::Stored;
  setTargetBudget(run.run.keepTarget);
  setOps(run.ops);
  m_frames = run.frames;
  std::stable_sort(m_frames.begin(), m_frames.end(),
                   [](const api::MaskFrame& a, const api::MaskFrame& b) { return a.step < b.step; });
  // Two frames at one step: the later one stored wins, as it would for a live append.
  std::vector<api::MaskFrame> unique;
  unique.reserve(m_frames.size());
  for (auto& frame : m_frames) {
    if (!unique.empty() && unique.back().step == frame.step) {
      unique.back() = std::move(frame);
    } else {
      unique.push_back(std::move(frame));
    }
  }
  m_frames = std::move(unique);
  size_t maxOps = 0;
  for (const auto& frame : m_frames) maxOps = std::max({maxOps, frame.ranks.size(), frame.bits.size()});
  ensureOpCount(maxOps);

  QHash<QCPGraph*, std::pair<QVector<double>, QVector<double>>> points;
  for (const api::SeriesPoint& p : run.series) {
    QCPGraph* graph = graphFor(QString::fromStdString(p.name));
    auto& [keys, values] = points[graph];
    keys.append(double(p.step));
    values.append(p.value);
  }
  for (auto it = points.begin(); it != points.end(); ++it) {
    it.key()->setData(it.value().first, it.value().second);
    for (double v : it.value().second) includeValue(*it.key(), v);
  }
  m_interaction->refreshSmoothing();

  refreshOpWidgets();
  rebuildMaps();
  updateValueRanges();
  updateScrubber(true);
  fitStepRange();
  replot();
}

void MaskEvolutionView::startLiveImpl(const std::vector<api::OpResult>& ops) {
  if (m_mode == Mode::Stored) clearData();
  m_mode = Mode::Live;
  const int selected = m_selectedOp;
  setOps(ops);
  size_t maxOps = 0;
  for (const auto& frame : m_frames) maxOps = std::max({maxOps, frame.ranks.size(), frame.bits.size()});
  ensureOpCount(maxOps);
  refreshOpWidgets();
  if (selected >= opCount()) selectOp(-1);
  rebuildMaps();
  fitStepRange();
  replot();
}

void MaskEvolutionView::appendFrameImpl(const api::MaskFrame& frame) {
  if (m_mode == Mode::Stored) clearData();
  m_mode = Mode::Live;
  const bool wasAtEnd = m_frames.empty() || m_current >= frameCount() - 1;
  const bool opsGrew = ensureOpCount(std::max(frame.ranks.size(), frame.bits.size()));
  if (opsGrew) refreshOpWidgets();

  bool inPlace = false;
  if (m_frames.empty() || frame.step > m_frames.back().step) {
    m_frames.push_back(frame);
    inPlace = !opsGrew && appendColumns();
  } else {
    auto it = std::lower_bound(m_frames.begin(), m_frames.end(), frame.step,
                               [](const api::MaskFrame& f, int64_t step) { return f.step < step; });
    if (it != m_frames.end() && it->step == frame.step) {
      *it = frame;
    } else {
      m_frames.insert(it, frame);
    }
  }
  if (!inPlace) rebuildMaps();
  updateScrubber(wasAtEnd);
  fitStepRange();
  replot();
}

void MaskEvolutionView::appendSeriesImpl(const api::SeriesPoint& point) {
  if (m_mode == Mode::Stored) clearData();
  m_mode = Mode::Live;
  addSeriesPoint(graphFor(QString::fromStdString(point.name)), double(point.step), point.value);
  m_interaction->refreshSmoothing();
  updateValueRanges();
  fitStepRange();
  replot();
}

void MaskEvolutionView::setOps(const std::vector<api::OpResult>& ops) {
  m_ops.clear();
  m_ops.reserve(ops.size());
  for (const api::OpResult& op : ops) {
    m_ops.push_back(
        {op.name.empty() ? tr("op %1").arg(m_ops.size()) : QString::fromStdString(op.name), op.fullRank});
  }
}

bool MaskEvolutionView::ensureOpCount(size_t count) {
  if (count <= m_ops.size()) return false;
  while (m_ops.size() < count) m_ops.push_back({tr("op %1").arg(m_ops.size()), 0});
  return true;
}

void MaskEvolutionView::refreshOpWidgets() {
  {
    const QSignalBlocker block(m_opCombo);
    m_opCombo->clear();
    m_opCombo->addItem(tr("none"));
    for (const OpRow& op : m_ops) m_opCombo->addItem(op.name);
    m_opCombo->setCurrentIndex(m_selectedOp + 1);
  }
  m_opCombo->setEnabled(!m_ops.empty());
  m_tickStride = 0;
  m_opTicker->clear();
  m_heatRect->axis(QCPAxis::atLeft)->setRange(-0.5, std::max(1, opCount()) - 0.5);
}

int64_t MaskEvolutionView::bitRows() const {
  if (m_selectedOp < 0 || m_selectedOp >= opCount()) return 0;
  if (m_ops[size_t(m_selectedOp)].fullRank > 0) return m_ops[size_t(m_selectedOp)].fullRank;
  size_t bytes = 0;
  for (const auto& frame : m_frames) {
    if (size_t(m_selectedOp) < frame.bits.size())
      bytes = std::max(bytes, frame.bits[size_t(m_selectedOp)].size());
  }
  return int64_t(bytes) * 8;
}

int MaskEvolutionView::decodeBit(int opIndex, int rankIndex, int frameIndex) const {
  if (opIndex < 0 || opIndex >= opCount() || frameIndex < 0 || frameIndex >= frameCount() || rankIndex < 0)
    return -1;
  const int64_t fullRank = m_ops[size_t(opIndex)].fullRank;
  if (fullRank > 0 && rankIndex >= fullRank) return -1;
  const auto& bits = m_frames[size_t(frameIndex)].bits;
  if (size_t(opIndex) >= bits.size()) return -1;
  const auto& bytes = bits[size_t(opIndex)];
  if (size_t(rankIndex / 8) >= bytes.size()) return -1;
  return (bytes[size_t(rankIndex / 8)] >> (rankIndex % 8)) & 1;
}

int MaskEvolutionView::cellOf(int64_t step) const { return int((step - m_origin) / m_delta); }

void MaskEvolutionView::rebuildMaps() {
  const int n = frameCount();
  if (n == 0 || m_ops.empty()) {
    m_heat->data()->clear();
    if (m_bits) m_bits->data()->clear();
    m_capacity = 0;
    m_lastCell = -1;
    return;
  }
  m_origin = m_frames.front().step;
  int64_t gcd = 0;
  for (int f = 1; f < n; ++f) gcd = std::gcd(gcd, m_frames[size_t(f)].step - m_frames[size_t(f - 1)].step);
  m_delta = gcd > 0 ? gcd : 1;
  m_exactGrid = true;
  const int64_t span = m_frames.back().step - m_origin;
  if (span / m_delta + 1 > kMaxCells) {
    m_delta = (span + kMaxCells - 2) / (kMaxCells - 1);
    m_exactGrid = false;
  }
  const int cells = cellOf(m_frames.back().step) + 1;
  int capacity = kChunk;
  while (capacity < cells) capacity *= 2;
  m_capacity = capacity;

  const QCPRange keys(double(m_origin), double(m_origin + int64_t(capacity - 1) * m_delta));
  // A colour map with one row has zero height; a spare blank row keeps a single op visible.
  const int opRows = std::max(opCount(), 2);
  m_heat->data()->setSize(capacity, opRows);
  m_heat->data()->setRange(keys, QCPRange(0.0, opRows - 1.0));
  m_heat->data()->fill(kNaN);
  if (m_bits) {
    const int rows = int(std::max<int64_t>(bitRows(), 2));
    m_bits->data()->setSize(capacity, rows);
    m_bits->data()->setRange(keys, QCPRange(0.0, rows - 1.0));
    m_bits->data()->fill(kNaN);
    m_bitsRect->axis(QCPAxis::atLeft)->setRange(-0.5, std::max<int64_t>(bitRows(), 1) - 0.5);
  }
  for (int f = 0; f < n; ++f) {
    const int from = cellOf(m_frames[size_t(f)].step);
    const int to = f + 1 < n ? cellOf(m_frames[size_t(f + 1)].step) - 1 : from;
    for (int c = from; c <= to; ++c) fillColumn(c, f);
  }
  m_lastCell = cells - 1;
}

bool MaskEvolutionView::appendColumns() {
  const int n = frameCount();
  // With one frame the grid spacing was a guess; the second frame fixes it.
  if (n < 3 || m_capacity == 0) return false;
  const int64_t previous = m_frames[size_t(n - 2)].step;
  const int64_t step = m_frames[size_t(n - 1)].step;
  if (m_exactGrid && (step - previous) % m_delta != 0) return false;
  const int64_t cell = (step - m_origin) / m_delta;
  if (cell >= m_capacity) return false;
  for (int c = m_lastCell + 1; c < int(cell); ++c) fillColumn(c, n - 2);
  fillColumn(int(cell), n - 1);
  m_lastCell = int(cell);
  return true;
}

void MaskEvolutionView::fillColumn(int cell, int frameIndex) {
  const api::MaskFrame& frame = m_frames[size_t(frameIndex)];
  QCPColorMapData* heat = m_heat->data();
  for (int op = 0; op < opCount(); ++op) {
    const int64_t fullRank = m_ops[size_t(op)].fullRank;
    const double value = size_t(op) < frame.ranks.size() && fullRank > 0
                             ? double(frame.ranks[size_t(op)]) / double(fullRank)
                             : kNaN;
    heat->setCell(cell, op, value);
  }
  if (m_bits && m_selectedOp >= 0) {
    QCPColorMapData* bits = m_bits->data();
    for (int r = 0; r < bits->valueSize(); ++r) {
      const int bit = decodeBit(m_selectedOp, r, frameIndex);
      bits->setCell(cell, r, bit < 0 ? kNaN : double(bit));
    }
  }
}

QCPGraph* MaskEvolutionView::graphFor(const QString& name) {
  if (QCPGraph* graph = m_graphs.value(name)) return graph;
  const bool right = onRightAxis(name);
  QCPAxis* valueAxis = m_curveRect->axis(right ? QCPAxis::atRight : QCPAxis::atLeft);
  if (right) valueAxis->setVisible(true);
  QCPGraph* graph = m_plot->addGraph(m_curveRect->axis(QCPAxis::atBottom), valueAxis);
  graph->setName(seriesLabel(name));
  graph->setProperty("series", name);
  QPen pen(seriesColor(int(m_seriesNames.size())), 1.5);
  if (right) pen.setStyle(Qt::DashLine);
  graph->setPen(pen);
  graph->addToLegend();
  m_graphs.insert(name, graph);
  m_seriesNames.append(name);
  return graph;
}

void MaskEvolutionView::addSeriesPoint(QCPGraph* graph, double step, double value) {
  graph->addData(step, value);
  includeValue(*graph, value);
}

void MaskEvolutionView::includeValue(const QCPGraph& graph, double value) {
  if (!std::isfinite(value)) return;
  const bool right = graph.valueAxis() == m_curveRect->axis(QCPAxis::atRight);
  double& lo = right ? m_rightMin : m_leftMin;
  double& hi = right ? m_rightMax : m_leftMax;
  if (hi < lo) {
    lo = hi = value;
  } else {
    lo = std::min(lo, value);
    hi = std::max(hi, value);
  }
}

void MaskEvolutionView::updateValueRanges() {
  padRange(m_curveRect->axis(QCPAxis::atLeft), m_leftMin, m_leftMax);
  padRange(m_curveRect->axis(QCPAxis::atRight), m_rightMin, m_rightMax);
}

int MaskEvolutionView::seriesPointCount(const QString& name) const {
  const QCPGraph* graph = m_graphs.value(name);
  return graph ? graph->dataCount() : 0;
}

int64_t MaskEvolutionView::currentStep() const {
  return m_current >= 0 && m_current < frameCount() ? m_frames[size_t(m_current)].step : -1;
}

void MaskEvolutionView::setCurrentFrame(int index) {
  if (m_frames.empty()) return;
  m_scrubber->setValue(std::clamp(index, 0, frameCount() - 1));
}

void MaskEvolutionView::setTargetBudget(double p) {
  m_targetBudget = p;
  const bool shown = std::isfinite(p) && p > 0.0;
  m_target->setVisible(shown);
  m_targetText->setVisible(shown);
  if (shown) {
    m_target->point1->setCoords(0.0, p);
    m_target->point2->setCoords(1.0, p);
    m_targetText->position->setCoords(0.01, p);
    m_targetText->setText(tr("target p = %1").arg(p, 0, 'f', 2));
  }
}

QString MaskEvolutionView::hoverText(const QPoint& pixel) const {
  if (m_frames.empty() && m_graphs.isEmpty()) return {};
  if (m_heatRect->rect().contains(pixel)) {
    const int op = int(std::lround(m_heatRect->axis(QCPAxis::atLeft)->pixelToCoord(pixel.y())));
    const int frame = nearestFrame(m_heatRect->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x()));
    if (op < 0 || op >= opCount() || frame < 0) return {};
    const auto& f = m_frames[size_t(frame)];
    const double value = heatmapValue(op, frame);
    QString text = tr("%1 \u00b7 step %2").arg(m_ops[size_t(op)].name).arg(f.step);
    if (size_t(op) < f.ranks.size())
      text +=
          tr("\nkept rank %1%2")
              .arg(f.ranks[size_t(op)])
              .arg(m_ops[size_t(op)].fullRank > 0 ? tr(" of %1").arg(m_ops[size_t(op)].fullRank) : QString());
    if (std::isfinite(value)) text += tr(" (%1%)").arg(100.0 * value, 0, 'f', 1);
    return text;
  }
  if (m_curveRect->rect().contains(pixel)) {
    const double step = m_curveRect->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x());
    QStringList lines;
    for (const QString& name : m_seriesNames) {
      const QCPGraph* graph = m_graphs.value(name);
      if (!graph || !graph->visible() || graph->data()->isEmpty()) continue;
      auto it = graph->data()->findBegin(step, true);
      if (it == graph->data()->constEnd()) continue;
      auto next = it + 1;
      if (next != graph->data()->constEnd() && std::abs(next->key - step) < std::abs(it->key - step))
        it = next;
      QString line = tr("%1 at step %2: %3").arg(graph->name()).arg(it->key).arg(it->value, 0, 'g', 5);
      if (const QCPGraph* smooth = m_interaction->smoothedGraph(graph)) {
        const auto s = smooth->data()->findBegin(it->key, false);
        if (s != smooth->data()->constEnd() && s->key == it->key)
          line += tr(" (smoothed %1)").arg(s->value, 0, 'g', 5);
      }
      lines << line;
    }
    return lines.join(QLatin1Char('\n'));
  }
  return {};
}

int MaskEvolutionView::nearestFrame(double step) const {
  if (m_frames.empty()) return -1;
  auto it = std::lower_bound(m_frames.begin(), m_frames.end(), step,
                             [](const api::MaskFrame& f, double s) { return double(f.step) < s; });
  if (it == m_frames.end()) return frameCount() - 1;
  if (it != m_frames.begin() && std::abs(double((it - 1)->step) - step) < std::abs(double(it->step) - step))
    --it;
  return int(it - m_frames.begin());
}

double MaskEvolutionView::heatmapValue(int opIndex, int frameIndex) const {
  if (opIndex < 0 || opIndex >= opCount() || frameIndex < 0 || frameIndex >= frameCount() || m_capacity == 0)
    return kNaN;
  const int cell = cellOf(m_frames[size_t(frameIndex)].step);
  if (cell < 0 || cell >= m_capacity) return kNaN;
  return m_heat->data()->cell(cell, opIndex);
}

int MaskEvolutionView::bitValue(int opIndex, int rankIndex, int frameIndex) const {
  if (opIndex != m_selectedOp || !m_bits) return decodeBit(opIndex, rankIndex, frameIndex);
  if (frameIndex < 0 || frameIndex >= frameCount() || rankIndex < 0 || rankIndex >= bitRows() ||
      m_capacity == 0)
    return -1;
  const int cell = cellOf(m_frames[size_t(frameIndex)].step);
  if (cell < 0 || cell >= m_capacity) return -1;
  const double value = m_bits->data()->cell(cell, rankIndex);
  return std::isnan(value) ? -1 : int(value);
}

std::vector<double> MaskEvolutionView::cursorPositions() const {
  std::vector<double> positions;
  if (m_frames.empty()) return positions;
  for (const QCPItemStraightLine* line : {m_heatCursor, m_curveCursor, m_bitsCursor}) {
    if (line && line->visible()) positions.push_back(line->point1->coords().x());
  }
  return positions;
}

void MaskEvolutionView::selectOp(int opIndex) {
  guarded("selectOp", [this, opIndex] {
    const int index = opIndex >= 0 && opIndex < opCount() ? opIndex : -1;
    if (m_opCombo->currentIndex() != index + 1) {
      const QSignalBlocker block(m_opCombo);
      m_opCombo->setCurrentIndex(index + 1);
    }
    if (index == m_selectedOp) return;
    m_selectedOp = index;
    showBitsPanel(index >= 0);
    if (index >= 0) {
      m_bitsRect->axis(QCPAxis::atLeft)->setLabel(tr("rank index, %1").arg(m_ops[size_t(index)].name));
      rebuildMaps();
    }
    updateCursors();
    replot();
  });
}

void MaskEvolutionView::showBitsPanel(bool show) {
  if (show && !m_bitsRect) {
    m_bitsRect = new QCPAxisRect(m_plot);
    m_plot->plotLayout()->addElement(3, 0, m_bitsRect);
    m_plot->plotLayout()->setRowStretchFactor(3, 2);
    m_bitsRect->setRangeDrag(Qt::Horizontal);
    m_bitsRect->setRangeZoom(Qt::Horizontal);
    m_bitsRect->setMarginGroup(QCP::msLeft | QCP::msRight, m_margins);
    QCPAxis* x = m_bitsRect->axis(QCPAxis::atBottom);
    x->setRange(m_heatRect->axis(QCPAxis::atBottom)->range());
    x->setLabel(tr("step"));
    connect(x, QOverload<const QCPRange&>::of(&QCPAxis::rangeChanged), this,
            [this, x](const QCPRange&) { syncStepAxes(x); });
    m_bits = new QCPColorMap(x, m_bitsRect->axis(QCPAxis::atLeft));
    m_bits->setName(tr("mask bit (1 kept, 0 dropped)"));
    m_bits->setInterpolate(false);
    m_bits->setGradient(bitGradient());
    m_bits->setDataRange(QCPRange(0.0, 1.0));
    m_bitsCursor = makeCursor(m_plot, m_bitsRect);
  } else if (!show && m_bitsRect) {
    // Plottables and items hold their axes; drop them before the axis rect that owns the axes.
    m_plot->removeItem(m_bitsCursor);
    m_plot->removePlottable(m_bits);
    m_plot->plotLayout()->remove(m_bitsRect);
    m_plot->plotLayout()->simplify();
    m_bitsCursor = nullptr;
    m_bits = nullptr;
    m_bitsRect = nullptr;
  }
}

void MaskEvolutionView::updateScrubber(bool follow) {
  const int n = frameCount();
  {
    const QSignalBlocker block(m_scrubber);
    m_scrubber->setRange(0, std::max(0, n - 1));
    if (follow && n > 0) m_scrubber->setValue(n - 1);
  }
  m_scrubber->setEnabled(n > 0);
  m_play->setEnabled(n > 1);
  onFrameChanged(n > 0 ? m_scrubber->value() : -1);
}

void MaskEvolutionView::onFrameChanged(int index) {
  const int n = frameCount();
  const int frame = n == 0 ? -1 : std::clamp(index, 0, n - 1);
  const int64_t before = currentStep();
  m_current = frame;
  const int64_t step = currentStep();
  m_stepLabel->setText(step >= 0 ? tr("step %1").arg(step) : tr("step \u2013"));
  updateCursors();
  replot();
  if (step >= 0 && step != before) emit currentStepChanged(qint64(step));
}

void MaskEvolutionView::updateCursors() {
  const int64_t step = currentStep();
  for (QCPItemStraightLine* line : {m_heatCursor, m_curveCursor, m_bitsCursor})
    placeCursor(line, double(step), step >= 0);
}

void MaskEvolutionView::fitStepRange() {
  if (!m_autoRange) return;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  if (!m_frames.empty()) {
    lo = double(m_frames.front().step);
    hi = double(m_frames.back().step);
  }
  for (const QCPGraph* graph : std::as_const(m_graphs)) {
    if (graph->data()->isEmpty()) continue;
    lo = std::min(lo, graph->data()->constBegin()->key);
    hi = std::max(hi, (graph->data()->constEnd() - 1)->key);
  }
  if (!(hi >= lo)) return;
  double pad = m_frames.empty() ? 0.0 : 0.5 * double(m_delta);
  if (hi - lo + 2 * pad <= 0.0) pad = 0.5;
  m_heatRect->axis(QCPAxis::atBottom)->setRange(lo - pad, hi + pad);
}

void MaskEvolutionView::syncStepAxes(const QCPAxis* source) {
  if (m_syncing) return;
  m_syncing = true;
  for (QCPAxisRect* rect : {m_heatRect, m_curveRect, m_bitsRect}) {
    if (rect && rect->axis(QCPAxis::atBottom) != source)
      rect->axis(QCPAxis::atBottom)->setRange(source->range());
  }
  m_syncing = false;
}

void MaskEvolutionView::updateOpTicks() {
  const int n = opCount();
  if (n == 0) return;
  // Label every op when the rows are tall enough for the text, else every stride-th op.
  const int line = QFontMetrics(m_heatRect->axis(QCPAxis::atLeft)->tickLabelFont()).height();
  const int height = std::max(1, m_heatRect->height());
  const int stride = std::max(1, (n * line + height - 1) / height);
  if (stride == m_tickStride) return;
  m_tickStride = stride;
  QMap<double, QString> ticks;
  for (int i = 0; i < n; i += stride) ticks.insert(double(i), m_ops[size_t(i)].name);
  m_opTicker->setTicks(ticks);
  // Ticks were laid out already for this pass; draw once more with the new ones.
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MaskEvolutionView::onPlotPress(QMouseEvent* event) { m_pressPos = event->position().toPoint(); }

void MaskEvolutionView::onPlotRelease(QMouseEvent* event) {
  const QPoint pos = event->position().toPoint();
  if (event->button() != Qt::LeftButton || (pos - m_pressPos).manhattanLength() > kClickSlop) return;
  if (m_ops.empty() || !m_heatRect->rect().contains(pos)) return;
  const int row = qRound(m_heatRect->axis(QCPAxis::atLeft)->pixelToCoord(pos.y()));
  if (row >= 0 && row < opCount()) selectOp(row);
}

bool MaskEvolutionView::isPlaying() const { return m_timer->isActive(); }

void MaskEvolutionView::play() {
  if (frameCount() < 2) return;
  if (m_current >= frameCount() - 1) setCurrentFrame(0);
  m_timer->start();
  m_play->setText(tr("Pause"));
}

void MaskEvolutionView::pause() {
  m_timer->stop();
  m_play->setText(tr("Play"));
}

void MaskEvolutionView::setPlayInterval(int milliseconds) { m_timer->setInterval(std::max(1, milliseconds)); }

void MaskEvolutionView::onTick() {
  if (m_current + 1 < frameCount()) setCurrentFrame(m_current + 1);
  if (m_current >= frameCount() - 1) pause();
}

QAbstractButton* MaskEvolutionView::playButton() const { return m_play; }

bool MaskEvolutionView::exportTo(const QString& path, QString* error) {
  try {
    if (!PlotExport::isCsvPath(path)) return PlotExport::save(*m_plot, path, error);
    QVector<QStringList> rows;
    for (const api::MaskFrame& frame : m_frames) {
      const QString step = QString::number(frame.step);
      for (size_t op = 0; op < frame.ranks.size() && op < m_ops.size(); ++op)
        rows.append({step, m_ops[op].name, QString::number(frame.ranks[op])});
    }
    return PlotExport::saveTable(path, {QStringLiteral("step"), QStringLiteral("op"), QStringLiteral("rank")},
                                 rows, error);
  } catch (const std::exception& e) {
    if (error) *error = tr("exporting %1: %2").arg(path, QString::fromLocal8Bit(e.what()));
    return false;
  }
}

bool MaskEvolutionView::exportSeriesCsv(const QString& path, QString* error) {
  try {
    return PlotExport::saveCsv(path, PlotExport::graphSeries(*m_plot), error, QStringLiteral("step"),
                               QStringLiteral("value"));
  } catch (const std::exception& e) {
    if (error) *error = tr("exporting %1: %2").arg(path, QString::fromLocal8Bit(e.what()));
    return false;
  }
}

void MaskEvolutionView::exportWithDialog(int what) {
  const auto formats = what == kFigure ? PlotExport::Formats::Figure : PlotExport::Formats::Csv;
  const QString base = what == kCurvesCsv ? QStringLiteral("curves")
                       : what == kFigure  ? QStringLiteral("mask_evolution")
                                          : QStringLiteral("mask_frames");
  PlotExport::exportWithDialog(
      this, base, formats, tr("Export"), [this, what](const QString& path, QString* error) {
        return what == kCurvesCsv ? exportSeriesCsv(path, error) : exportTo(path, error);
      });
}

void MaskEvolutionView::replot() { m_plot->replot(QCustomPlot::rpQueuedReplot); }

}  // namespace ranklab::widgets
