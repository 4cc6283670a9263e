#include "widgets/budget_curve_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QHash>
#include <QLabel>
#include <QMap>
#include <QSet>
#include <QSignalBlocker>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <exception>
#include <iterator>
#include <limits>
#include <map>

#include "api/protocol.h"
#include "widgets/plot_export.h"
#include "widgets/plot_interaction.h"
#include "widgets/plot_theme.h"

namespace ranklab::widgets {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kPickRadius = 8;  // pixels from a run's point that still hover or click it
constexpr int kClickSlop = 3;   // pixels a click may move and still count as a click
// Keep targets equal to 1e-6 are the same sweep point (0.3 typed vs 0.1 * 3 computed).
constexpr double kKeyScale = 1e6;

QColor methodColor(int index) {
  static const QColor kColors[] = {
      QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e), QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28),
      QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b), QColor(0xe3, 0x77, 0xc2), QColor(0x17, 0xbe, 0xcf)};
  return kColors[index % int(std::size(kColors))];
}

bool lowerIsBetterFor(const QString& metric) {
  return metric == QLatin1String("perplexity") || metric.contains(QLatin1String("loss")) ||
         metric.contains(QLatin1String("error"));
}

QString formatMetric(double v) { return QString::number(v, 'g', 6); }

}  // namespace

BudgetCurveView::BudgetCurveView(QWidget* parent) : QWidget(parent), m_reference(kNaN) {
  m_plot = new QCustomPlot(this);
  m_plot->setObjectName(QStringLiteral("budgetCurvePlot"));
  m_plot->setMinimumHeight(280);
  m_plot->setAutoAddPlottableToLegend(false);
  m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  m_plot->setMouseTracking(true);
  m_plot->xAxis->setLabel(tr("kept fraction p"));
  m_plot->legend->setVisible(true);
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.9);
  m_plot->legend->setFont(small);

  m_referenceLine = new QCPItemStraightLine(m_plot);
  m_referenceLine->setPen(QPen(QColor(0x55, 0x55, 0x55), 1.2, Qt::DashLine));
  setThemedAnnotation(m_referenceLine);
  m_referenceLine->setSelectable(false);
  m_referenceLine->setVisible(false);
  m_referenceText = new QCPItemText(m_plot);
  m_referenceText->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
  m_referenceText->position->setTypeY(QCPItemPosition::ptPlotCoords);
  m_referenceText->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
  m_referenceText->setColor(QColor(0x55, 0x55, 0x55));
  setThemedAnnotation(m_referenceText);
  m_referenceText->setFont(small);
  m_referenceText->setSelectable(false);
  m_referenceText->setVisible(false);

  connect(m_plot, &QCustomPlot::mousePress, this,
          [this](QMouseEvent* e) { m_pressPos = e->position().toPoint(); });
  connect(m_plot, &QCustomPlot::mouseRelease, this, [this](QMouseEvent* e) { onMouseRelease(e); });
  m_interaction = new PlotInteraction(m_plot);
  m_interaction->setHoverText([this](const QPoint& pixel) { return toolTipAt(pixel); });
  m_interaction->setResetHandler([this] { fitRanges(); });

  m_excludedLabel = new QLabel(this);
  m_excludedLabel->setObjectName(QStringLiteral("excludedLabel"));
  m_excludedLabel->setWordWrap(true);
  m_export = new QToolButton(this);
  m_export->setObjectName(QStringLiteral("exportButton"));
  m_export->setText(tr("Export..."));
  connect(m_export, &QToolButton::clicked, this, &BudgetCurveView::exportWithDialog);

  m_sweepBox = new QComboBox(this);
  m_sweepBox->setObjectName(QStringLiteral("sweepBox"));
  m_sweepBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  m_sweepBox->setToolTip(tr("Plot all runs, or only the runs of one sweep"));
  connect(m_sweepBox, &QComboBox::currentIndexChanged, this, [this] {
    m_sweep = m_sweepBox->currentData().toString();
    applySweepFilter();
  });
  auto* top = new QHBoxLayout;
  auto* runsLabel = new QLabel(tr("R&uns:"), this);
  runsLabel->setBuddy(m_sweepBox);
  top->addWidget(runsLabel);
  top->addWidget(m_sweepBox);
  m_groupBox = new QComboBox(this);
  m_groupBox->setObjectName(QStringLiteral("groupBox"));
  m_groupBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  connect(m_groupBox, &QComboBox::currentIndexChanged, this, [this] {
    m_group = m_groupBox->currentData().toString();
    applySweepFilter();
  });
  auto* groupLabel = new QLabel(tr("E&valuated on:"), this);
  groupLabel->setBuddy(m_groupBox);
  top->addSpacing(12);
  top->addWidget(groupLabel);
  top->addWidget(m_groupBox, 1);

  auto* bottom = new QHBoxLayout;
  bottom->addWidget(m_excludedLabel, 1);
  bottom->addWidget(m_export);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(m_plot, 1);
  layout->addLayout(bottom);

  setRunsImpl({});
}

BudgetCurveView::~BudgetCurveView() = default;

void BudgetCurveView::setRuns(const std::vector<api::RunRecord>& runs) {
  try {
    m_allRuns = runs;
    rebuildSweepBox();
    applySweepFilter();
  } catch (const std::exception& e) {
    qWarning("BudgetCurveView::setRuns failed: %s", e.what());
  } catch (...) {
    qWarning("BudgetCurveView::setRuns failed with an unknown exception");
  }
}

void BudgetCurveView::clear() { setRuns({}); }

void BudgetCurveView::setSweep(const QString& id) {
  m_sweep = id;
  rebuildSweepBox();
  applySweepFilter();
}

void BudgetCurveView::rebuildSweepBox() {
  // Runs, not records: a run that measured several metrics comes as one record per metric.
  QMap<QString, QSet<qint64>> counts;
  QSet<qint64> all;
  for (const auto& r : m_allRuns) {
    all.insert(qint64(r.id));
    if (!r.sweepId.empty()) counts[QString::fromStdString(r.sweepId)].insert(qint64(r.id));
  }
  // A sweep chosen before its first run is stored (just queued) stays listed, with 0 runs.
  if (!m_sweep.isEmpty() && !counts.contains(m_sweep)) counts[m_sweep] = {};
  const QSignalBlocker block(m_sweepBox);
  m_sweepBox->clear();
  m_sweepBox->addItem(tr("All runs (%1)").arg(all.size()), QString());
  for (auto it = counts.cbegin(); it != counts.cend(); ++it)
    m_sweepBox->addItem(tr("Sweep %1 (%2 runs)").arg(it.key()).arg(it.value().size()), it.key());
  m_sweepBox->setCurrentIndex(std::max(0, m_sweepBox->findData(m_sweep)));
  m_sweepBox->setEnabled(!counts.isEmpty());
}

QString BudgetCurveView::sweep() const { return m_sweep; }

void BudgetCurveView::setGroup(const QString& key) {
  m_group = key;
  applySweepFilter();
}

QStringList BudgetCurveView::groupKeys() const {
  QStringList keys;
  for (int i = 0; i < m_groupBox->count(); ++i) keys << m_groupBox->itemData(i).toString();
  return keys;
}

QString BudgetCurveView::groupText(const QString& key) const {
  const int i = m_groupBox->findData(key);
  return i < 0 ? QString() : m_groupBox->itemText(i);
}

QStringList BudgetCurveView::sweepIds() const {
  QStringList ids;
  for (int i = 1; i < m_sweepBox->count(); ++i) ids << m_sweepBox->itemData(i).toString();
  return ids;
}

void BudgetCurveView::applySweepFilter() {
  const std::string id = m_sweep.toStdString();
  if (id.empty()) {
    setRunsImpl(m_allRuns);
    return;
  }
  std::vector<api::RunRecord> runs;
  for (const auto& r : m_allRuns)
    if (r.sweepId == id) runs.push_back(r);
  setRunsImpl(runs);
}

void BudgetCurveView::setRunsImpl(const std::vector<api::RunRecord>& runs) {
  m_runs.clear();
  m_methods.clear();
  m_pareto.clear();
  m_metric.clear();
  m_reference = kNaN;

  // Left out, by run id: a run that measured several metrics comes as one record per metric and is
  // left out only when none of its records is shown, for the first reason found.
  QSet<qint64> notFinishedIds, noMetricIds, otherProtocolIds;
  std::vector<const api::RunRecord*> candidates;
  for (const api::RunRecord& run : runs) {
    if (run.status != "succeeded") {
      notFinishedIds.insert(qint64(run.id));
    } else if (!std::isfinite(run.metricAfter) || !std::isfinite(run.keptFraction) || run.metric.empty()) {
      noMetricIds.insert(qint64(run.id));
    } else {
      candidates.push_back(&run);
    }
  }
  // Comparison groups (base model and evaluation protocol, api/protocol.h): the largest first, a tie
  // to the group of the newest run. One group is shown at a time; nothing is pooled across them.
  struct Group {
    QString key, label;
    int count = 0;
    int64_t newest = 0;
  };
  std::vector<Group> protocols;
  for (const api::RunRecord* run : candidates) {
    const QString key = QString::fromStdString(api::comparisonGroup(*run));
    auto it = std::find_if(protocols.begin(), protocols.end(), [&](const Group& g) { return g.key == key; });
    if (it == protocols.end()) {
      protocols.push_back({key, QString::fromStdString(api::groupLabel(*run)), 0, 0});
      it = std::prev(protocols.end());
    }
    ++it->count;
    it->newest = std::max(it->newest, run->id);
  }
  std::sort(protocols.begin(), protocols.end(), [](const Group& a, const Group& b) {
    return a.count != b.count ? a.count > b.count : a.newest > b.newest;
  });
  if (std::none_of(protocols.begin(), protocols.end(), [this](const Group& g) { return g.key == m_group; }))
    m_group = protocols.empty() ? QString() : protocols.front().key;
  {
    const QSignalBlocker block(m_groupBox);
    m_groupBox->clear();
    for (const Group& g : protocols)
      m_groupBox->addItem(g.count == 1 ? tr("%1 (1 run)").arg(g.label)
                                       : tr("%1 (%2 runs)").arg(g.label, QString::number(g.count)),
                          g.key);
    m_groupBox->setCurrentIndex(std::max(0, m_groupBox->findData(m_group)));
    m_groupBox->setEnabled(protocols.size() > 1);
    m_groupBox->setToolTip(protocols.size() > 1 ? tr("These runs were evaluated in %1 different ways (model, "
                                                     "evaluation file, documents, tokens, context...). Only "
                                                     "runs evaluated the same way are plotted together.")
                                                      .arg(protocols.size())
                                                : tr("How the plotted runs were evaluated"));
  }

  double referenceSum = 0.0;
  int referenceCount = 0;
  for (const api::RunRecord* run : candidates) {
    if (QString::fromStdString(api::comparisonGroup(*run)) != m_group) {
      otherProtocolIds.insert(qint64(run->id));
      continue;
    }
    m_metric = QString::fromStdString(run->metric);
    ShownRun shown;
    shown.id = qint64(run->id);
    shown.name = QString::fromStdString(run->name);
    shown.method =
        QString::fromStdString(run->decomposition) + QLatin1Char('+') + QString::fromStdString(run->selector);
    shown.keepTarget = run->keepTarget;
    shown.kept = run->keptFraction;
    shown.metric = run->metricAfter;
    m_runs.push_back(shown);
    if (std::isfinite(run->metricBefore)) {
      referenceSum += run->metricBefore;
      ++referenceCount;
    }
  }
  m_lowerIsBetter = lowerIsBetterFor(m_metric);
  QSet<qint64> shownIds;
  for (const ShownRun& run : m_runs) shownIds.insert(run.id);
  notFinishedIds -= shownIds;
  otherProtocolIds -= shownIds;
  otherProtocolIds -= notFinishedIds;
  noMetricIds -= shownIds;
  noMetricIds -= notFinishedIds;
  noMetricIds -= otherProtocolIds;
  const int notFinished = int(notFinishedIds.size()), otherProtocol = int(otherProtocolIds.size()),
            noMetric = int(noMetricIds.size());
  m_excluded = notFinished + noMetric + otherProtocol;
  if (referenceCount > 0) m_reference = referenceSum / referenceCount;

  std::map<QString, std::map<long long, std::vector<const ShownRun*>>> groups;
  for (const ShownRun& run : m_runs)
    groups[run.method][std::llround(run.keepTarget * kKeyScale)].push_back(&run);
  for (const auto& [name, byKeep] : groups) {
    Method method;
    method.name = name;
    for (const auto& [key, members] : byKeep) {
      CurvePoint p{0.0, 0.0, std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity(), int(members.size())};
      for (const ShownRun* run : members) {
        p.keep += run->kept;
        p.mean += run->metric;
        p.min = std::min(p.min, run->metric);
        p.max = std::max(p.max, run->metric);
      }
      p.keep /= p.count;
      p.mean /= p.count;
      method.points.push_back(p);
    }
    std::sort(method.points.begin(), method.points.end(),
              [](const CurvePoint& a, const CurvePoint& b) { return a.keep < b.keep; });
    m_methods.push_back(std::move(method));
  }

  for (int i = 0; i < shownCount(); ++i) {
    const ShownRun& a = m_runs[size_t(i)];
    bool dominated = false;
    for (int j = 0; j < shownCount() && !dominated; ++j) {
      const ShownRun& b = m_runs[size_t(j)];
      dominated = j != i && b.kept <= a.kept && !better(a.metric, b.metric) &&
                  (b.kept < a.kept || better(b.metric, a.metric));
    }
    if (!dominated) m_pareto.push_back(i);
  }
  std::sort(m_pareto.begin(), m_pareto.end(), [this](int a, int b) {
    const ShownRun& ra = m_runs[size_t(a)];
    const ShownRun& rb = m_runs[size_t(b)];
    return ra.kept != rb.kept ? ra.kept < rb.kept : ra.id < rb.id;
  });

  QString text = runs.empty() ? tr("No runs to plot.") : tr("%n run(s) shown", nullptr, shownCount());
  if (m_excluded > 0) {
    QStringList why;
    if (notFinished > 0) why << tr("%n failed or running", nullptr, notFinished);
    if (otherProtocol > 0)
      why << tr("%n evaluated differently: pick them under Evaluated on", nullptr, otherProtocol);
    if (noMetric > 0) why << tr("%n without a metric", nullptr, noMetric);
    text += tr("; %n left out (%1)", nullptr, m_excluded).arg(why.join(QStringLiteral(", ")));
  }
  m_excludedLabel->setText(text);
  rebuildPlot();
}

bool BudgetCurveView::better(double a, double b) const { return m_lowerIsBetter ? a < b : a > b; }

void BudgetCurveView::rebuildPlot() {
  m_plot->clearGraphs();
  for (size_t k = 0; k < m_methods.size(); ++k) {
    const Method& method = m_methods[k];
    const QColor color = methodColor(int(k));
    QVector<double> keep, mean, low, high;
    for (const CurvePoint& p : method.points) {
      keep.append(p.keep);
      mean.append(p.mean);
      low.append(p.min);
      high.append(p.max);
    }
    QCPGraph* lower = m_plot->addGraph();
    lower->setName(method.name + tr(" min"));
    lower->setPen(Qt::NoPen);
    lower->setData(keep, low, true);
    QCPGraph* upper = m_plot->addGraph();
    upper->setName(method.name + tr(" max"));
    upper->setPen(Qt::NoPen);
    QColor band = color;
    band.setAlpha(45);
    upper->setBrush(band);
    upper->setChannelFillGraph(lower);
    upper->setData(keep, high, true);

    QCPGraph* curve = m_plot->addGraph();
    curve->setName(method.name);
    curve->setPen(QPen(color, 2.0));
    curve->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, Qt::white, 7));
    curve->setData(keep, mean, true);
    curve->addToLegend();

    QCPGraph* dots = m_plot->addGraph();
    dots->setName(method.name + tr(" runs"));
    dots->setLineStyle(QCPGraph::lsNone);
    QColor dot = color;
    dot.setAlpha(170);
    dots->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, dot, dot, 4));
    for (const ShownRun& run : m_runs) {
      if (run.method == method.name) dots->addData(run.kept, run.metric);
    }
  }
  if (!m_pareto.empty()) {
    QCPGraph* front = m_plot->addGraph();
    front->setName(tr("Pareto front"));
    front->setLineStyle(QCPGraph::lsStepLeft);
    front->setPen(QPen(QColor(0x22, 0x22, 0x22), 1.2, Qt::DotLine));
    front->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(QColor(0x22, 0x22, 0x22), 2.0), Qt::NoBrush, 12));
    for (int i : m_pareto) front->addData(m_runs[size_t(i)].kept, m_runs[size_t(i)].metric);
    front->addToLegend();
  }

  const bool hasReference = std::isfinite(m_reference);
  m_referenceLine->point1->setCoords(0.0, hasReference ? m_reference : 0.0);
  m_referenceLine->point2->setCoords(1.0, hasReference ? m_reference : 0.0);
  m_referenceLine->setVisible(hasReference);
  m_referenceText->position->setCoords(0.99, hasReference ? m_reference : 0.0);
  m_referenceText->setText(tr("uncompressed %1").arg(hasReference ? formatMetric(m_reference) : QString()));
  m_referenceText->setVisible(hasReference);

  m_plot->yAxis->setLabel(m_metric.isEmpty() ? tr("metric")
                          : m_lowerIsBetter  ? tr("%1 (lower is better)").arg(m_metric)
                                             : tr("%1 (higher is better)").arg(m_metric));
  fitRanges();
  placeLegend();
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

// Puts the legend in the corner of the plot that holds the fewest runs, so it hides no point.
void BudgetCurveView::placeLegend() {
  const QCPRange x = m_plot->xAxis->range(), y = m_plot->yAxis->range();
  const bool logY = m_plot->yAxis->scaleType() == QCPAxis::stLogarithmic;
  auto fraction = [](double v, double lo, double hi) { return hi > lo ? (v - lo) / (hi - lo) : 0.5; };
  const Qt::Alignment corners[] = {Qt::AlignTop | Qt::AlignRight, Qt::AlignTop | Qt::AlignLeft,
                                   Qt::AlignBottom | Qt::AlignRight, Qt::AlignBottom | Qt::AlignLeft};
  int best = 0, fewest = std::numeric_limits<int>::max();
  for (int c = 0; c < 4; ++c) {
    int inside = 0;
    for (const ShownRun& run : m_runs) {
      const double fx = fraction(run.kept, x.lower, x.upper);
      const double fy = logY && run.metric > 0 && y.lower > 0
                            ? fraction(std::log(run.metric), std::log(y.lower), std::log(y.upper))
                            : fraction(run.metric, y.lower, y.upper);
      const bool right = corners[c] & Qt::AlignRight, top = corners[c] & Qt::AlignTop;
      if ((right ? fx > 0.6 : fx < 0.4) && (top ? fy > 0.6 : fy < 0.4)) ++inside;
    }
    if (inside < fewest) {
      fewest = inside;
      best = c;
    }
  }
  m_plot->axisRect()->insetLayout()->setInsetAlignment(0, corners[best]);
}

void BudgetCurveView::fitRanges() {
  double xLo = std::numeric_limits<double>::infinity(), xHi = -xLo;
  double yLo = xLo, yHi = -xLo;
  for (const ShownRun& run : m_runs) {
    xLo = std::min(xLo, run.kept);
    xHi = std::max(xHi, run.kept);
    yLo = std::min(yLo, run.metric);
    yHi = std::max(yHi, run.metric);
  }
  if (std::isfinite(m_reference)) {
    yLo = std::min(yLo, m_reference);
    yHi = std::max(yHi, m_reference);
  }
  const bool log = m_metric == QLatin1String("perplexity") && yLo > 0.0 && yHi > 10.0 * yLo;
  if (log) {
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
  } else if (m_plot->yAxis->scaleType() != QCPAxis::stLinear) {
    m_plot->yAxis->setScaleType(QCPAxis::stLinear);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
  }
  if (!(xHi >= xLo)) {
    m_plot->xAxis->setRange(0.0, 1.0);
    m_plot->yAxis->setRange(log ? 1.0 : 0.0, log ? 10.0 : 1.0);
    return;
  }
  const double xPad = xHi > xLo ? 0.06 * (xHi - xLo) : 0.05;
  m_plot->xAxis->setRange(xLo - xPad, xHi + xPad);
  if (log) {
    m_plot->yAxis->setRange(yLo / 1.15, yHi * 1.15);
  } else {
    const double yPad = yHi > yLo ? 0.08 * (yHi - yLo) : std::max(1e-3, 0.05 * std::abs(yHi));
    m_plot->yAxis->setRange(yLo - yPad, yHi + yPad);
  }
}

QStringList BudgetCurveView::methodNames() const {
  QStringList names;
  for (const Method& method : m_methods) names.append(method.name);
  return names;
}

std::vector<BudgetCurveView::CurvePoint> BudgetCurveView::curve(const QString& method) const {
  for (const Method& m : m_methods) {
    if (m.name == method) return m.points;
  }
  return {};
}

std::vector<qint64> BudgetCurveView::paretoRunIds() const {
  std::vector<qint64> ids;
  ids.reserve(m_pareto.size());
  for (int i : m_pareto) ids.push_back(m_runs[size_t(i)].id);
  return ids;
}

bool BudgetCurveView::logScale() const { return m_plot->yAxis->scaleType() == QCPAxis::stLogarithmic; }

int BudgetCurveView::nearestRun(const QPoint& pixel) const {
  if (!m_plot->axisRect()->rect().contains(pixel)) return -1;
  int best = -1;
  double bestDistance = double(kPickRadius) * kPickRadius;
  for (int i = 0; i < shownCount(); ++i) {
    const double dx = m_plot->xAxis->coordToPixel(m_runs[size_t(i)].kept) - pixel.x();
    const double dy = m_plot->yAxis->coordToPixel(m_runs[size_t(i)].metric) - pixel.y();
    const double distance = dx * dx + dy * dy;
    if (distance <= bestDistance) {
      bestDistance = distance;
      best = i;
    }
  }
  return best;
}

qint64 BudgetCurveView::runIdAt(const QPoint& pixel) const {
  const int i = nearestRun(pixel);
  return i < 0 ? -1 : m_runs[size_t(i)].id;
}

QString BudgetCurveView::toolTipAt(const QPoint& pixel) const {
  const int i = nearestRun(pixel);
  if (i < 0) return {};
  const ShownRun& run = m_runs[size_t(i)];
  return tr("%1\nrun %2, %3\np = %4 (target %5)\n%6 = %7")
      .arg(run.name)
      .arg(run.id)
      .arg(run.method)
      .arg(QString::number(run.kept, 'f', 4), QString::number(run.keepTarget, 'g', 4), m_metric,
           formatMetric(run.metric));
}

void BudgetCurveView::onMouseRelease(QMouseEvent* event) {
  const QPoint pos = event->position().toPoint();
  if (event->button() != Qt::LeftButton || (pos - m_pressPos).manhattanLength() > kClickSlop) return;
  const int i = nearestRun(pos);
  if (i >= 0) emit runActivated(m_runs[size_t(i)].id);
}

bool BudgetCurveView::exportTo(const QString& path, QString* error) {
  try {
    if (!PlotExport::isCsvPath(path)) return PlotExport::save(*m_plot, path, error);
    std::vector<const ShownRun*> sorted;
    for (const ShownRun& run : m_runs) sorted.push_back(&run);
    std::stable_sort(sorted.begin(), sorted.end(), [](const ShownRun* a, const ShownRun* b) {
      return a->method != b->method ? a->method < b->method : a->kept < b->kept;
    });
    QVector<QStringList> rows;
    rows.reserve(qsizetype(sorted.size()));
    for (const ShownRun* run : sorted) {
      rows.append({run->method, QString::number(run->id), PlotExport::csvNumber(run->kept),
                   PlotExport::csvNumber(run->metric)});
    }
    const QStringList header{QStringLiteral("method"), QStringLiteral("run_id"),
                             QStringLiteral("kept_fraction"),
                             m_metric.isEmpty() ? QStringLiteral("metric") : m_metric};
    return PlotExport::saveTable(path, header, rows, error);
  } catch (const std::exception& e) {
    if (error) *error = tr("exporting %1: %2").arg(path, QString::fromLocal8Bit(e.what()));
    return false;
  }
}

void BudgetCurveView::exportWithDialog() {
  PlotExport::exportWithDialog(this, QStringLiteral("budget_curves"), PlotExport::Formats::FigureAndCsv,
                               tr("Export budget curves"),
                               [this](const QString& path, QString* error) { return exportTo(path, error); });
}

}  // namespace ranklab::widgets
