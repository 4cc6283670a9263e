#include "widgets/rank_allocation_view.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLocale>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>

#include "widgets/placeholder_stack.h"
#include "widgets/plot_export.h"
#include "widgets/plot_interaction.h"
#include "widgets/plot_theme.h"

namespace ranklab::widgets {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kBarWidth = 0.8;

// Qualitative palette (Tableau 10): one colour per op kind, repeating after ten kinds.
const QColor kKindColours[] = {QColor(78, 121, 167),  QColor(242, 142, 43),  QColor(225, 87, 89),
                               QColor(118, 183, 178), QColor(89, 161, 79),   QColor(237, 201, 72),
                               QColor(176, 122, 161), QColor(255, 157, 167), QColor(156, 117, 95),
                               QColor(186, 176, 172)};

QColor kindColour(int kind) { return kKindColours[kind % int(std::size(kKindColours))]; }

QCPColorGradient keptGradient() {
  QCPColorGradient g = keptFractionGradient();
  g.setNanHandling(QCPColorGradient::nhNanColor);
  g.setNanColor(QColor(220, 220, 220));
  return g;
}

// White at the centre so that "no change" reads as neutral; the data range is kept symmetric.
QCPColorGradient differenceGradient() {
  QCPColorGradient g =
      colorGradient({{0.0, QColor(33, 102, 172)}, {0.5, QColor(247, 247, 247)}, {1.0, QColor(178, 24, 43)}});
  g.setNanHandling(QCPColorGradient::nhNanColor);
  g.setNanColor(QColor(200, 200, 200));
  return g;
}

double fraction(int64_t rank, int64_t fullRank) {
  return fullRank > 0 ? double(rank) / double(fullRank) : kNaN;
}

// The exact uniform baseline. Cost is a step function of r that only changes at r = j / K_l, so
// the largest feasible r is one of those fractions; comparing them as integers avoids the
// floor(r * K) rounding a floating-point bisection would get wrong at the steps.
struct Ratio {
  int64_t num = 0;
  int64_t den = 1;
};

int64_t opCost(int64_t k, int64_t m, int64_t n) { return std::min(k * (m + n), m * n); }

std::vector<int64_t> uniformRanksFor(const std::vector<api::OpResult>& ops, double keptFraction,
                                     double* ratio) {
  std::vector<int64_t> ks(ops.size(), 0);
  int64_t total = 0;
  std::set<int64_t> fullRanks;
  for (size_t i = 0; i < ops.size(); ++i) {
    const int64_t m = ops[i].inFeatures, n = ops[i].outFeatures;
    if (m <= 0 || n <= 0) continue;
    ks[i] = std::min(m, n);
    total += m * n;
    fullRanks.insert(ks[i]);
  }
  std::vector<Ratio> candidates;
  for (int64_t k : fullRanks)
    for (int64_t j = 0; j <= k; ++j) candidates.push_back({j, k});
  const auto less = [](const Ratio& a, const Ratio& b) { return a.num * b.den < b.num * a.den; };
  const auto equal = [](const Ratio& a, const Ratio& b) { return a.num * b.den == b.num * a.den; };
  std::sort(candidates.begin(), candidates.end(), less);
  candidates.erase(std::unique(candidates.begin(), candidates.end(), equal), candidates.end());

  const double budget = std::isfinite(keptFraction) ? keptFraction * double(total) : 0.0;
  const auto ranksAt = [&](const Ratio& r) {
    std::vector<int64_t> out(ops.size(), 0);
    for (size_t i = 0; i < ops.size(); ++i) out[i] = ks[i] * r.num / r.den;
    return out;
  };
  const auto fits = [&](const Ratio& r) {
    const std::vector<int64_t> k = ranksAt(r);
    int64_t cost = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ks[i] > 0) cost += opCost(k[i], ops[i].inFeatures, ops[i].outFeatures);
    }
    return double(cost) <= budget;
  };
  if (candidates.empty()) {
    *ratio = kNaN;
    return std::vector<int64_t>(ops.size(), 0);
  }
  // Cost is non-decreasing in r and r = 0 always fits (cost 0) unless the budget is negative.
  size_t lo = 0, hi = candidates.size();
  if (!fits(candidates[0])) {
    *ratio = 0.0;
    return std::vector<int64_t>(ops.size(), 0);
  }
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    if (fits(candidates[mid])) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  *ratio = double(candidates[lo].num) / double(candidates[lo].den);
  return ranksAt(candidates[lo]);
}

}  // namespace

RankAllocationView::RankAllocationView(QWidget* parent) : QWidget(parent) {
  m_fractionBox = new QCheckBox(tr("Fraction of full rank"), this);
  m_fractionBox->setObjectName(QStringLiteral("fractionToggle"));
  m_uniformBox = new QCheckBox(tr("Baseline:"), this);
  m_uniformBox->setObjectName(QStringLiteral("uniformToggle"));
  m_uniformBox->setChecked(m_uniformOverlay);
  m_uniformBox->setToolTip(tr("Mark the ranks a uniform allocation gets at this run's achieved budget"));
  m_baselineBox = new QComboBox(this);
  m_baselineBox->setObjectName(QStringLiteral("baselineKind"));
  m_baselineBox->addItem(tr("uniform selector (same p)"), int(BaselineKind::Selector));
  m_baselineBox->setItemData(
      0,
      tr("What ranklab-cli compress --select uniform --keep p gives at this run's achieved p: every op "
         "keeps the fraction p of its own parameters, k = floor(p M N / (M + N))"),
      Qt::ToolTipRole);
  m_baselineBox->addItem(tr("uniform rank ratio r"), int(BaselineKind::Ratio));
  m_baselineBox->setItemData(1,
                             tr("One rank ratio for every op, k = floor(r min(M, N)), with the largest r "
                                "that fits this run's achieved budget"),
                             Qt::ToolTipRole);
  connect(m_baselineBox, &QComboBox::currentIndexChanged, this,
          [this](int index) { setBaselineKind(BaselineKind(m_baselineBox->itemData(index).toInt())); });
  m_exportButton = new QPushButton(tr("Export..."), this);
  m_exportButton->setObjectName(QStringLiteral("exportButton"));
  connect(m_fractionBox, &QCheckBox::toggled, this, &RankAllocationView::setShowFraction);
  connect(m_uniformBox, &QCheckBox::toggled, this, &RankAllocationView::setUniformOverlay);
  connect(m_exportButton, &QPushButton::clicked, this, &RankAllocationView::exportWithDialog);

  m_plot = new QCustomPlot(this);
  m_plot->setObjectName(QStringLiteral("rankPlot"));
  PlotExport::addExportMenu(*m_plot, [this] { exportWithDialog(); });
  connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) { m_pressPos = event->pos(); });
  connect(m_plot, &QCustomPlot::mouseRelease, this, &RankAllocationView::onMouseRelease);
  m_interaction = new PlotInteraction(m_plot);
  m_interaction->setHoverText([this](const QPoint& pixel) { return hoverText(pixel); });
  m_interaction->setResetHandler([this] { rebuild(); });

  // Layout: title / legend / bars / heatmap in column 0, the heatmap's colour scale in column 1.
  // The legend gets its own row so that it never hides the tops of bars or the uniform markers.
  m_plot->setAutoAddPlottableToLegend(false);
  QCPLayoutGrid* grid = m_plot->plotLayout();
  grid->clear();
  m_title = new QCPTextElement(m_plot, QString(), QFont(font().family(), 11, QFont::Bold));
  m_legend = new QCPLegend;
  m_barRect = new QCPAxisRect(m_plot);
  m_barRect->setRangeDrag(Qt::Horizontal);  // pan and zoom along the ops; ranks keep their scale
  m_barRect->setRangeZoom(Qt::Horizontal);
  m_mapRect = new QCPAxisRect(m_plot);
  m_mapRect->setRangeDrag({});
  m_mapRect->setRangeZoom({});
  m_colorScale = new QCPColorScale(m_plot);
  grid->addElement(0, 0, m_title);
  grid->addElement(1, 0, m_legend);
  grid->addElement(2, 0, m_barRect);
  grid->addElement(3, 0, m_mapRect);
  grid->addElement(3, 1, m_colorScale);
  grid->setRowStretchFactor(0, 0.01);
  grid->setRowStretchFactor(1, 0.01);
  grid->setRowStretchFactor(2, 3);
  grid->setRowStretchFactor(3, 2);
  grid->setColumnStretchFactor(1, 0.01);
  m_legend->setFont(QFont(font().family(), 8));
  m_legend->setBorderPen(Qt::NoPen);
  m_legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  m_legend->setWrap(0);  // one row
  m_legend->setMargins(QMargins(0, 0, 0, 0));
  auto* margins = new QCPMarginGroup(m_plot);
  m_barRect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  m_mapRect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  auto* mapMargins = new QCPMarginGroup(m_plot);
  m_mapRect->setMarginGroup(QCP::msTop | QCP::msBottom, mapMargins);
  m_colorScale->setMarginGroup(QCP::msTop | QCP::msBottom, mapMargins);

  QCPAxis* barX = m_barRect->axis(QCPAxis::atBottom);
  barX->setTicker(QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText));
  barX->setTickLabelRotation(-90);
  barX->grid()->setVisible(false);

  m_uniformGraph = m_plot->addGraph(barX, m_barRect->axis(QCPAxis::atLeft));
  m_uniformGraph->setName(tr("uniform baseline"));
  m_uniformGraph->setPen(QPen(QColor(40, 40, 40), 1.2, Qt::DashLine));
  m_uniformGraph->setScatterStyle(
      QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(QColor(40, 40, 40)), QBrush(Qt::white), 6));

  QCPAxis* mapX = m_mapRect->axis(QCPAxis::atBottom);
  QCPAxis* mapY = m_mapRect->axis(QCPAxis::atLeft);
  mapX->setTicker(QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText));
  mapY->setTicker(QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText));
  mapX->setLabel(tr("op kind"));
  mapY->setLabel(tr("layer"));
  mapX->grid()->setVisible(false);
  mapY->grid()->setVisible(false);
  m_heatmap = new QCPColorMap(mapX, mapY);
  m_heatmap->setInterpolate(false);
  m_heatmap->setTightBoundary(false);
  m_heatmap->setColorScale(m_colorScale);
  m_colorScale->setType(QCPAxis::atRight);

  m_stack = new PlaceholderStack(m_plot, QStringLiteral("placeholder"), this);

  auto* controls = new QHBoxLayout;
  controls->addWidget(m_fractionBox);
  controls->addWidget(m_uniformBox);
  controls->addWidget(m_baselineBox);
  controls->addStretch(1);
  controls->addWidget(m_exportButton);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(controls);
  layout->addWidget(m_stack, 1);

  clear();
}

void RankAllocationView::setRun(const api::RunData& run) {
  m_runA = api::RunData();
  m_runB = run;
  m_hasRun = true;
  m_comparison = false;
  rebuild();
}

void RankAllocationView::setComparison(const api::RunData& a, const api::RunData& b) {
  m_runA = a;
  m_runB = b;
  m_hasRun = true;
  m_comparison = true;
  rebuild();
}

void RankAllocationView::clear() {
  m_runA = api::RunData();
  m_runB = api::RunData();
  m_hasRun = false;
  m_comparison = false;
  rebuild();
}

void RankAllocationView::setUniformOverlay(bool on) {
  if (m_uniformBox->isChecked() != on) {
    m_uniformBox->setChecked(on);  // re-enters through toggled
    return;
  }
  if (m_uniformOverlay == on) return;
  m_uniformOverlay = on;
  rebuild();
}

void RankAllocationView::setBaselineKind(BaselineKind kind) {
  const int index = m_baselineBox->findData(int(kind));
  if (m_baselineBox->currentIndex() != index) {
    m_baselineBox->setCurrentIndex(index);  // re-enters through currentIndexChanged
    return;
  }
  if (m_baselineKind == kind) return;
  m_baselineKind = kind;
  rebuild();
}

void RankAllocationView::setShowFraction(bool on) {
  if (m_fractionBox->isChecked() != on) {
    m_fractionBox->setChecked(on);
    return;
  }
  if (m_showFraction == on) return;
  m_showFraction = on;
  rebuild();
}

bool RankAllocationView::placeholderShown() const { return m_stack->placeholderShown(); }

QString RankAllocationView::placeholderText() const { return m_stack->placeholderText(); }

double RankAllocationView::barValue(const Entry& e) const {
  if (!m_comparison) return m_showFraction ? fraction(e.rankB, e.fullB) : double(e.rankB);
  if (e.opA < 0 || e.opB < 0) return kNaN;
  return m_showFraction ? fraction(e.rankB, e.fullB) - fraction(e.rankA, e.fullA) : double(e.rankB - e.rankA);
}

double RankAllocationView::cellValue(const Entry& e) const {
  if (!m_comparison) return fraction(e.rankB, e.fullB);
  if (e.opA < 0 || e.opB < 0) return kNaN;
  return fraction(e.rankB, e.fullB) - fraction(e.rankA, e.fullA);
}

std::vector<double> RankAllocationView::barValues() const {
  std::vector<double> values;
  values.reserve(m_entries.size());
  for (const Entry& e : m_entries) values.push_back(barValue(e));
  return values;
}

std::vector<QString> RankAllocationView::barLabels() const {
  std::vector<QString> labels;
  labels.reserve(m_entries.size());
  for (const Entry& e : m_entries) {
    QString label = QStringLiteral("%1 %2").arg(e.kind).arg(e.layer);
    if (m_comparison && e.opB < 0) label += tr(" (A only)");
    if (m_comparison && e.opA < 0) label += tr(" (B only)");
    labels.push_back(label);
  }
  return labels;
}

std::vector<int> RankAllocationView::barOps() const {
  std::vector<int> ops;
  ops.reserve(m_entries.size());
  for (const Entry& e : m_entries) ops.push_back(e.opB);
  return ops;
}

double RankAllocationView::heatmapValue(int layer, const QString& kind) const {
  const int column = int(m_kinds.indexOf(kind));
  const auto row = std::find(m_layers.begin(), m_layers.end(), layer);
  if (column < 0 || row == m_layers.end()) return kNaN;
  // Each cell is stored as 2 x 2 map cells (see rebuild()).
  return m_heatmap->data()->cell(2 * column, 2 * int(row - m_layers.begin()));
}

void RankAllocationView::showPlaceholder(const QString& text) {
  m_entries.clear();
  m_kinds.clear();
  m_layers.clear();
  m_cellEntry.clear();
  m_uniformRanks.clear();
  m_uniformRatio = kNaN;
  m_stack->showPlaceholder(text);
  m_fractionBox->setEnabled(false);
  m_uniformBox->setEnabled(false);
  m_baselineBox->setEnabled(false);
  m_exportButton->setEnabled(false);
}

void RankAllocationView::rebuild() {
  if (!m_hasRun) {
    showPlaceholder(tr("No run selected."));
    return;
  }
  if (m_runB.ops.empty() && (!m_comparison || m_runA.ops.empty())) {
    showPlaceholder(tr("This run has no rank allocation (no compressible ops were stored)."));
    return;
  }
  // Rebuilding allocates; a failure must not escape into whatever slot called a setter.
  try {
    // Entries: the run's ops (comparison: b's ops, then ops only in a), grouped by kind in the
    // order kinds first appear, each kind by layer, ties in op order.
    m_entries.clear();
    std::unordered_map<std::string, int> indexInA;
    if (m_comparison) {
      for (size_t i = 0; i < m_runA.ops.size(); ++i) indexInA.emplace(m_runA.ops[i].name, int(i));
    }
    std::set<int> matchedA;
    const auto fromB = [&](int i) {
      const api::OpResult& op = m_runB.ops[size_t(i)];
      Entry e;
      e.name = QString::fromStdString(op.name);
      e.kind = QString::fromStdString(op.kind);
      e.layer = op.layer;
      e.opB = i;
      e.rankB = op.rank;
      e.fullB = op.fullRank;
      if (m_comparison) {
        const auto it = indexInA.find(op.name);
        if (it != indexInA.end() && matchedA.insert(it->second).second) {
          e.opA = it->second;
          e.rankA = m_runA.ops[size_t(e.opA)].rank;
          e.fullA = m_runA.ops[size_t(e.opA)].fullRank;
        }
      }
      return e;
    };
    for (size_t i = 0; i < m_runB.ops.size(); ++i) m_entries.push_back(fromB(int(i)));
    if (m_comparison) {
      for (size_t i = 0; i < m_runA.ops.size(); ++i) {
        if (matchedA.count(int(i))) continue;
        const api::OpResult& op = m_runA.ops[i];
        Entry e;
        e.name = QString::fromStdString(op.name);
        e.kind = QString::fromStdString(op.kind);
        e.layer = op.layer;
        e.opA = int(i);
        e.rankA = op.rank;
        e.fullA = op.fullRank;
        m_entries.push_back(e);
      }
    }
    m_kinds.clear();
    std::set<int> layerSet;
    for (const Entry& e : m_entries) {
      if (!m_kinds.contains(e.kind)) m_kinds.append(e.kind);
      layerSet.insert(e.layer);
    }
    m_layers.assign(layerSet.begin(), layerSet.end());
    std::stable_sort(m_entries.begin(), m_entries.end(), [this](const Entry& a, const Entry& b) {
      const qsizetype ka = m_kinds.indexOf(a.kind), kb = m_kinds.indexOf(b.kind);
      return ka != kb ? ka < kb : a.layer < b.layer;
    });

    if (m_comparison) {
      m_uniformRanks.clear();
      m_uniformRatio = kNaN;
    } else {
      if (m_baselineKind == BaselineKind::Ratio) {
        m_uniformRanks = uniformRanksFor(m_runB.ops, m_runB.run.keptFraction, &m_uniformRatio);
      } else {
        m_uniformRatio = kNaN;
        m_uniformRanks.clear();
        for (const api::OpResult& op : m_runB.ops)
          m_uniformRanks.push_back(
              api::uniformRankAtBudget(op.inFeatures, op.outFeatures, m_runB.run.keptFraction));
      }
      for (Entry& e : m_entries) e.uniformRank = m_uniformRanks[size_t(e.opB)];
    }

    // Bars: one QCPBars per kind so that each kind has its colour and legend entry.
    QCPAxis* barX = m_barRect->axis(QCPAxis::atBottom);
    QCPAxis* barY = m_barRect->axis(QCPAxis::atLeft);
    // Legend items point at their plottable: drop them before the bars they show.
    m_legend->clearItems();
    for (QCPBars* bars : m_bars) m_plot->removePlottable(bars);
    m_bars.clear();
    for (int k = 0; k < m_kinds.size(); ++k) {
      auto* bars = new QCPBars(barX, barY);
      bars->setName(m_kinds[k]);
      bars->setWidth(kBarWidth);
      bars->setPen(QPen(kindColour(k).darker(130)));
      bars->setBrush(kindColour(k));
      m_bars.push_back(bars);
    }
    auto ticker = barX->ticker().dynamicCast<QCPAxisTickerText>();
    ticker->clear();
    const std::vector<QString> labels = barLabels();
    QVector<double> uniformKeys, uniformValues;
    double lowest = 0.0, highest = 0.0;
    for (size_t i = 0; i < m_entries.size(); ++i) {
      const Entry& e = m_entries[i];
      const double value = barValue(e);
      ticker->addTick(double(i), labels[i]);
      if (std::isfinite(value)) {
        m_bars[size_t(m_kinds.indexOf(e.kind))]->addData(double(i), value);
        lowest = std::min(lowest, value);
        highest = std::max(highest, value);
      }
      if (!m_comparison) {
        const double uniform = m_showFraction ? fraction(e.uniformRank, e.fullB) : double(e.uniformRank);
        if (std::isfinite(uniform)) {
          uniformKeys.append(double(i));
          uniformValues.append(uniform);
          highest = std::max(highest, uniform);
        }
      }
    }
    m_uniformGraph->setData(uniformKeys, uniformValues, true);
    const bool overlay = !m_comparison && m_uniformOverlay;
    m_uniformGraph->setName(m_baselineKind == BaselineKind::Selector
                                ? tr("uniform selector at p = %1").arg(m_runB.run.keptFraction, 0, 'f', 3)
                                : tr("uniform ratio r = %1").arg(m_uniformRatio, 0, 'f', 3));
    m_uniformGraph->setVisible(overlay);
    for (QCPBars* bars : m_bars) m_legend->addItem(new QCPPlottableLegendItem(m_legend, bars));
    if (overlay) m_legend->addItem(new QCPPlottableLegendItem(m_legend, m_uniformGraph));

    barX->setRange(-0.5, double(m_entries.size()) - 0.5);
    barX->setTickLabelFont(QFont(font().family(), m_entries.size() > 48 ? 6 : 8));
    const double pad = 0.08 * std::max(highest - lowest, m_showFraction ? 0.1 : 1.0);
    barY->setRange(lowest < 0 ? lowest - pad : 0.0, highest + pad);
    if (m_comparison) {
      barY->setLabel(m_showFraction ? tr("kept fraction, B \u2212 A") : tr("rank, B \u2212 A"));
    } else {
      barY->setLabel(m_showFraction ? tr("rank / full rank") : tr("rank"));
    }

    // Heatmap. A colour map with n cells spans n - 1 cell widths between its first and last cell
    // centre and draws nothing along an axis with one cell, so every cell is stored as 2 x 2 map
    // cells spanning [-0.25, n - 0.75]: cell centres land on integers and n = 1 works.
    const int columns = int(m_kinds.size());
    const int rows = int(m_layers.size());
    m_heatmap->data()->setSize(2 * columns, 2 * rows);
    m_heatmap->data()->setRange(QCPRange(-0.25, columns - 0.75), QCPRange(-0.25, rows - 0.75));
    m_heatmap->data()->fill(kNaN);
    m_cellEntry.assign(size_t(rows), std::vector<int>(size_t(columns), -1));
    double maxAbs = 0.0;
    for (size_t i = 0; i < m_entries.size(); ++i) {
      const Entry& e = m_entries[i];
      const int c = int(m_kinds.indexOf(e.kind));
      const int r = int(std::find(m_layers.begin(), m_layers.end(), e.layer) - m_layers.begin());
      if (m_cellEntry[size_t(r)][size_t(c)] >= 0) continue;  // first op of a (layer, kind) wins
      m_cellEntry[size_t(r)][size_t(c)] = int(i);
      const double value = cellValue(e);
      for (int dx = 0; dx < 2; ++dx)
        for (int dy = 0; dy < 2; ++dy) m_heatmap->data()->setCell(2 * c + dx, 2 * r + dy, value);
      if (std::isfinite(value)) maxAbs = std::max(maxAbs, std::abs(value));
    }
    QCPAxis* mapX = m_mapRect->axis(QCPAxis::atBottom);
    QCPAxis* mapY = m_mapRect->axis(QCPAxis::atLeft);
    auto kindTicker = mapX->ticker().dynamicCast<QCPAxisTickerText>();
    kindTicker->clear();
    for (int c = 0; c < columns; ++c) kindTicker->addTick(c, m_kinds[c]);
    auto layerTicker = mapY->ticker().dynamicCast<QCPAxisTickerText>();
    layerTicker->clear();
    const int layerStep = std::max(1, rows / 24);
    for (int r = 0; r < rows; r += layerStep) layerTicker->addTick(r, QString::number(m_layers[size_t(r)]));
    mapX->setRange(-0.5, columns - 0.5);
    mapY->setRange(-0.5, rows - 0.5);
    if (m_comparison) {
      m_heatmap->setGradient(differenceGradient());
      const double half = maxAbs > 0.0 ? maxAbs : 1.0;
      m_heatmap->setDataRange(QCPRange(-half, half));
      m_colorScale->setLabel(tr("kept fraction, B \u2212 A"));
    } else {
      m_heatmap->setGradient(keptGradient());
      m_heatmap->setDataRange(QCPRange(0.0, 1.0));
      m_colorScale->setLabel(tr("rank / full rank"));
    }

    const QString nameB = QString::fromStdString(m_runB.run.name);
    if (m_comparison) {
      m_title->setText(tr("Rank difference B \u2212 A    A: %1    B: %2")
                           .arg(QString::fromStdString(m_runA.run.name), nameB));
    } else {
      QString title = tr("%1    kept %2% of compressible parameters")
                          .arg(nameB)
                          .arg(100.0 * m_runB.run.keptFraction, 0, 'f', 1);
      if (std::isfinite(m_uniformRatio)) title += tr("    uniform r = %1").arg(m_uniformRatio, 0, 'f', 3);
      m_title->setText(title);
    }

    m_fractionBox->setEnabled(true);
    m_uniformBox->setEnabled(!m_comparison);
    m_baselineBox->setEnabled(!m_comparison && m_uniformOverlay);
    m_exportButton->setEnabled(true);
    m_stack->showContent();
    m_plot->replot();
  } catch (const std::exception& e) {
    showPlaceholder(tr("Cannot show this run: %1").arg(QString::fromLocal8Bit(e.what())));
  }
}

int RankAllocationView::entryAt(const QPoint& pos) const {
  if (m_barRect->rect().contains(pos)) {
    const double key = m_barRect->axis(QCPAxis::atBottom)->pixelToCoord(pos.x());
    const double slot = std::round(key);
    if (std::abs(key - slot) > kBarWidth / 2 || slot < 0 || slot >= double(m_entries.size())) return -1;
    return int(slot);
  }
  if (m_mapRect->rect().contains(pos)) {
    const double x = m_mapRect->axis(QCPAxis::atBottom)->pixelToCoord(pos.x());
    const double y = m_mapRect->axis(QCPAxis::atLeft)->pixelToCoord(pos.y());
    const int c = int(std::floor(x + 0.5)), r = int(std::floor(y + 0.5));
    if (c < 0 || r < 0 || r >= int(m_cellEntry.size()) || c >= int(m_cellEntry[size_t(r)].size())) return -1;
    return m_cellEntry[size_t(r)][size_t(c)];
  }
  return -1;
}

QString RankAllocationView::hoverText(const QPoint& pixel) const {
  if (!m_hasRun || placeholderShown()) return {};
  const int index = entryAt(pixel);
  if (index < 0) return {};
  const Entry& e = m_entries[size_t(index)];
  const bool bar = m_barRect->rect().contains(pixel);
  if (m_comparison) {
    const auto rank = [](int op, int64_t r, int64_t full) {
      return op < 0 ? tr("absent") : tr("rank %1 of %2").arg(r).arg(full);
    };
    return tr("%1\nA: %2\nB: %3").arg(e.name, rank(e.opA, e.rankA, e.fullA), rank(e.opB, e.rankB, e.fullB)) +
           (e.opA >= 0 && e.opB >= 0 ? tr("\nB \u2212 A: %1").arg(e.rankB - e.rankA) : QString());
  }
  const api::OpResult& op = m_runB.ops[size_t(e.opB)];
  const int64_t m = op.inFeatures, n = op.outFeatures;
  const QString fraction =
      QString::number(100.0 * double(op.rank) / double(std::max<int64_t>(1, op.fullRank)), 'f', 1);
  if (!bar)
    return tr("layer %1 \u00b7 %2 (%3)\nkept %4% of full rank (rank %5 of %6)")
        .arg(e.layer)
        .arg(e.kind, e.name, fraction)
        .arg(op.rank)
        .arg(op.fullRank);
  const QString storage =
      op.factorized
          ? tr("stored factorized: k(M+N) = %1, %2% of MN")
                .arg(QLocale().toString(qlonglong(op.rank * (m + n))))
                .arg(100.0 * double(op.rank * (m + n)) / double(std::max<int64_t>(1, m * n)), 0, 'f', 1)
          : tr("stored dense: MN = %1").arg(QLocale().toString(qlonglong(m * n)));
  QString text = tr("%1 (%2 \u00d7 %3)\nrank %4 of %5 \u00b7 energy kept %6%\n%7")
                     .arg(e.name)
                     .arg(m)
                     .arg(n)
                     .arg(op.rank)
                     .arg(op.fullRank)
                     .arg(100.0 * op.energyKept, 0, 'f', 1)
                     .arg(storage);
  if (e.uniformRank >= 0) text += tr("\nuniform baseline: rank %1").arg(e.uniformRank);
  return text;
}

void RankAllocationView::onMouseRelease(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton || placeholderShown()) return;
  if ((event->pos() - m_pressPos).manhattanLength() > 3) return;  // a drag, not a click
  const int entry = entryAt(event->pos());
  if (entry < 0) return;
  const int op = m_entries[size_t(entry)].opB;
  if (op >= 0) emit opActivated(op);
}

bool RankAllocationView::writeCsv(const QString& path, QString* error) const {
  const auto optional = [](bool present, int64_t value) {
    return present ? QString::number(value) : QString();
  };
  const QStringList header =
      (m_comparison ? QStringLiteral("op,layer,kind,rank a,rank b,full rank,difference")
                    : QStringLiteral("op,layer,kind,rank,full rank,uniform rank"))
          .split(QLatin1Char(','));
  QVector<QStringList> rows;
  rows.reserve(qsizetype(m_entries.size()));
  for (const Entry& e : m_entries) {
    QStringList row{e.name, QString::number(e.layer), e.kind};
    if (m_comparison) {
      const bool inA = e.opA >= 0, inB = e.opB >= 0;
      row << optional(inA, e.rankA) << optional(inB, e.rankB) << QString::number(inB ? e.fullB : e.fullA)
          << optional(inA && inB, e.rankB - e.rankA);
    } else {
      row << QString::number(e.rankB) << QString::number(e.fullB) << QString::number(e.uniformRank);
    }
    rows.append(row);
  }
  return PlotExport::saveTable(path, header, rows, error);
}

bool RankAllocationView::exportTo(const QString& path, QString* error) {
  try {
    if (placeholderShown()) {
      if (error) *error = tr("exporting %1: no run is shown").arg(path);
      return false;
    }
    if (PlotExport::isCsvPath(path)) return writeCsv(path, error);
    return PlotExport::saveFigure(*m_plot, path, error);
  } catch (const std::exception& e) {
    if (error) *error = tr("exporting %1: %2").arg(path, QString::fromLocal8Bit(e.what()));
    return false;
  }
}

void RankAllocationView::exportWithDialog() {
  if (placeholderShown()) return;
  PlotExport::exportWithDialog(this, QStringLiteral("rank_allocation"), PlotExport::Formats::FigureAndCsv,
                               tr("Export rank allocation"),
                               [this](const QString& path, QString* error) { return exportTo(path, error); });
}

}  // namespace ranklab::widgets
