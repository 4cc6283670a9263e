#include "widgets/teach_layer_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QSignalBlocker>
#include <QSlider>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "widgets/placeholder_stack.h"

namespace ranklab::widgets {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const QColor kPlainColour(78, 121, 167);
const QColor kFisherColour(225, 87, 89);
const QColor kActivationColour(89, 161, 79);
const QColor kWhitenedColour(176, 122, 161);
const QColor kCutColour(242, 142, 43);

QCustomPlot* logPlot(QWidget* parent, const QString& name, const QString& yLabel) {
  auto* plot = new QCustomPlot(parent);
  plot->setObjectName(name);
  plot->xAxis->setLabel(QObject::tr("index i (0 = largest)"));
  plot->yAxis->setLabel(yLabel);
  plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
  plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  plot->yAxis->setNumberFormat(QStringLiteral("g"));
  plot->yAxis->setNumberPrecision(2);
  plot->legend->setVisible(true);
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  return plot;
}

QCPItemStraightLine* cutLine(QCustomPlot* plot) {
  auto* line = new QCPItemStraightLine(plot);
  line->point1->setCoords(0, 1);
  line->point2->setCoords(0, 2);
  return line;
}

// Fraction of sum s_i^2 in s_k, s_{k+1}, ...; NaN for an empty spectrum.
double tailFraction(const std::vector<float>& s, int k) {
  if (s.empty()) return kNaN;
  double total = 0.0, tail = 0.0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double e = double(s[i]) * double(s[i]);
    total += e;
    if (int(i) >= k) tail += e;
  }
  return total > 0.0 ? tail / total : 0.0;
}

void setScaled(QCPGraph* graph, const std::vector<float>& s) {
  QVector<double> x, y;
  const double top = s.empty() ? 0.0 : double(s.front());
  for (size_t i = 0; i < s.size() && top > 0.0; ++i) {
    x.append(double(i));
    y.append(s[i] > 0.0f ? double(s[i]) / top : kNaN);
  }
  graph->setData(x, y, true);
  graph->setVisible(!s.empty());
}

QString percent(double v) {
  return std::isnan(v) ? QStringLiteral("\u2013") : QString::number(100.0 * v, 'f', 2) + QLatin1Char('%');
}
QString count(int64_t n) { return QLocale().toString(qlonglong(n)); }

}  // namespace

TeachLayerView::TeachLayerView(QWidget* parent) : TeachChapter(parent) {
  m_modelBox = new QComboBox(this);
  m_modelBox->setObjectName(QStringLiteral("modelBox"));
  m_modelBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  connect(m_modelBox, &QComboBox::currentIndexChanged, this, [this](int) {
    m_spectra = {};
    m_op = -1;
    m_stack->showPlaceholder(tr("Reading %1\u2026").arg(m_modelBox->currentText()));
    emit modelChosen(currentModelPath());
  });
  m_opBox = new QComboBox(this);
  m_opBox->setObjectName(QStringLiteral("opBox"));
  m_opBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  connect(m_opBox, &QComboBox::currentIndexChanged, this, &TeachLayerView::setCurrentOp);
  m_slider = new QSlider(Qt::Horizontal, this);
  m_slider->setObjectName(QStringLiteral("whatIfRank"));
  m_slider->setRange(1, 1);
  connect(m_slider, &QSlider::valueChanged, this, &TeachLayerView::setRank);
  m_rankLabel = new QLabel(this);
  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("layerStatus"));
  m_status->setWordWrap(true);
  m_numbers = new QLabel(this);
  m_numbers->setObjectName(QStringLiteral("layerNumbers"));
  m_numbers->setTextFormat(Qt::RichText);
  m_numbers->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_numbers->setWordWrap(true);

  m_plainPlot = logPlot(this, QStringLiteral("plainSpectrumPlot"), tr("singular value of W"));
  m_plain = m_plainPlot->addGraph();
  m_plain->setName(tr("plain W"));
  m_cut = cutLine(m_plainPlot);
  m_weightedPlot = logPlot(this, QStringLiteral("weightedSpectrumPlot"), tr("s\u1d62 / s\u2080"));
  m_plainScaled = m_weightedPlot->addGraph();
  m_plainScaled->setName(tr("plain W"));
  m_fisher = m_weightedPlot->addGraph();
  m_fisher->setName(tr("Fisher-weighted (FWSVD)"));
  m_activation = m_weightedPlot->addGraph();
  m_activation->setName(tr("activation-scaled (ASVD)"));
  m_whitened = m_weightedPlot->addGraph();
  m_whitened->setName(tr("whitened (SVD-LLM)"));
  m_weightedCut = cutLine(m_weightedPlot);

  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("model"), this));
  controls->addWidget(m_modelBox);
  controls->addWidget(new QLabel(tr("op"), this));
  controls->addWidget(m_opBox);
  controls->addWidget(new QLabel(tr("what-if rank"), this));
  controls->addWidget(m_slider, 1);
  controls->addWidget(m_rankLabel);
  auto* content = new QWidget(this);
  auto* plots = new QHBoxLayout;
  plots->addWidget(m_plainPlot);
  plots->addWidget(m_weightedPlot);
  auto* contentLayout = new QVBoxLayout(content);
  contentLayout->setContentsMargins(0, 0, 0, 0);
  contentLayout->addLayout(plots, 1);
  contentLayout->addWidget(m_numbers);
  m_stack = new PlaceholderStack(content, QStringLiteral("layerPlaceholder"), this);
  m_stack->showPlaceholder(tr("Reading the model\u2026"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addWidget(m_status);
  layout->addWidget(m_stack, 1);
  applyPresenterMode(false);
}

QString TeachLayerView::title() const { return tr("3. A real layer"); }

QString TeachLayerView::explanation() const {
  return tr(
      "<p>A transformer's linear layers are matrices too. Left: the singular values of one "
      "op's weight W; cutting at rank k keeps the energy left of the line.</p>"
      "<p>But W's own error is the wrong yardstick: what matters is the error of the layer's "
      "<i>output</i> on real inputs X. Right: the plain spectrum beside spectra that weight W "
      "by what the model sees (Fisher: gradient size; activation: input size; whitened: "
      "the input's covariance). The whitened one answers exactly: dropping its s<sub>i</sub> "
      "costs s<sub>i</sub>\u00b2 of &#8214;X W &minus; X W<sub>k</sub>&#8214;\u00b2 on the "
      "calibration text.</p>"
      "<p>A flatter weighted spectrum means the layer is harder to compress than W suggests.</p>");
}

QString TeachLayerView::notes() const {
  return tr(
      "<ul><li>Start with layers.0.attn.q of gpt-mini, then compare mlp.up (first value "
      "dominates) and attn.v (flat).</li>"
      "<li>Drag the what-if rank: the numbers update instantly because they come from the "
      "spectra alone, no model evaluation.</li>"
      "<li>Point out where the weight error and the whitened output error disagree: that gap is "
      "why RankLab offers weighted decompositions.</li>"
      "<li>Weighted spectra need a calibration pass (a few seconds on a worker thread; the "
      "status line says when they are ready).</li></ul>");
}

void TeachLayerView::setModels(const QStringList& names, const QStringList& paths) {
  const QSignalBlocker blocker(m_modelBox);
  m_modelBox->clear();
  for (int i = 0; i < names.size() && i < paths.size(); ++i) m_modelBox->addItem(names[i], paths[i]);
}

QString TeachLayerView::currentModelPath() const { return m_modelBox->currentData().toString(); }

void TeachLayerView::setSpectra(const api::ModelSpectra& spectra) {
  // Spectra of a model the user has since switched away from arrive late: drop them.
  const QString source = QFileInfo(QString::fromStdString(spectra.summary.source)).canonicalFilePath();
  if (!currentModelPath().isEmpty() && source != QFileInfo(currentModelPath()).canonicalFilePath()) return;
  const QString previous = op() ? QString::fromStdString(op()->op.name) : QString();
  m_spectra = spectra;
  {
    const QSignalBlocker blocker(m_opBox);
    m_opBox->clear();
    for (const auto& o : m_spectra.ops) m_opBox->addItem(QString::fromStdString(o.op.name));
  }
  if (m_spectra.ops.empty()) {
    showProblem(tr("This model has no compressible ops."));
    return;
  }
  m_stack->showContent();
  const int keep = m_opBox->findText(previous);
  m_op = -1;
  setCurrentOp(keep >= 0 ? keep : 0);
}

void TeachLayerView::setStatus(const QString& text) { m_status->setText(text); }

QString TeachLayerView::status() const { return m_status->text(); }

void TeachLayerView::showProblem(const QString& message) {
  m_spectra = {};
  m_op = -1;
  m_stack->showPlaceholder(message);
}

const api::OpSpectra* TeachLayerView::op() const {
  return m_op >= 0 && m_op < opCount() ? &m_spectra.ops[size_t(m_op)] : nullptr;
}

void TeachLayerView::setCurrentOp(int index) {
  if (index < 0 || index >= opCount()) return;
  const bool changed = index != m_op;
  m_op = index;
  if (m_opBox->currentIndex() != index) {
    const QSignalBlocker blocker(m_opBox);
    m_opBox->setCurrentIndex(index);
  }
  showOp();
  if (changed || m_rank > int(op()->plain.size())) {
    const int full = int(op()->plain.size());
    const QSignalBlocker blocker(m_slider);
    m_slider->setRange(1, std::max(1, full));
    m_rank = std::clamp(m_rank <= 1 ? full / 4 : m_rank, 1, std::max(1, full));
    m_slider->setValue(m_rank);
  }
  update();
}

void TeachLayerView::setRank(int k) {
  if (!op()) return;
  k = std::clamp(k, 1, std::max(1, int(op()->plain.size())));
  m_rank = k;
  if (m_slider->value() != k) {
    const QSignalBlocker blocker(m_slider);
    m_slider->setValue(k);
  }
  update();
}

bool TeachLayerView::hasWeightedSpectra() const { return op() && !op()->whitened.empty(); }

double TeachLayerView::energyKept() const { return op() ? 1.0 - tailFraction(op()->plain, m_rank) : kNaN; }
double TeachLayerView::weightError() const {
  return op() ? std::sqrt(tailFraction(op()->plain, m_rank)) : kNaN;
}
double TeachLayerView::fisherError() const {
  return op() ? std::sqrt(tailFraction(op()->fisher, m_rank)) : kNaN;
}
double TeachLayerView::activationError() const {
  return op() ? std::sqrt(tailFraction(op()->activation, m_rank)) : kNaN;
}
double TeachLayerView::whitenedError() const {
  return op() ? std::sqrt(tailFraction(op()->whitened, m_rank)) : kNaN;
}
int64_t TeachLayerView::storedParams() const {
  return op() ? int64_t(m_rank) * (op()->op.inFeatures + op()->op.outFeatures) : 0;
}
int64_t TeachLayerView::denseParams() const { return op() ? op()->op.params() : 0; }

int TeachLayerView::weightedCurveCount() const {
  int n = 0;
  for (const QCPGraph* g : {m_fisher, m_activation, m_whitened}) n += g->visible() && !g->data()->isEmpty();
  return n;
}

void TeachLayerView::showOp() {
  const api::OpSpectra* o = op();
  QVector<double> x, y;
  for (size_t i = 0; i < o->plain.size(); ++i) {
    x.append(double(i));
    y.append(o->plain[i] > 0.0f ? double(o->plain[i]) : kNaN);
  }
  m_plain->setData(x, y, true);
  m_plainPlot->rescaleAxes();
  setScaled(m_plainScaled, o->plain);
  setScaled(m_fisher, o->fisher);
  setScaled(m_activation, o->activation);
  setScaled(m_whitened, o->whitened);
  for (QCPGraph* g : {m_fisher, m_activation, m_whitened}) {
    if (g->visible())
      g->addToLegend();
    else
      g->removeFromLegend();
  }
  m_weightedPlot->rescaleAxes();
}

void TeachLayerView::update() {
  const api::OpSpectra* o = op();
  if (!o) return;
  for (QCPItemStraightLine* cut : {m_cut, m_weightedCut}) {
    cut->point1->setCoords(m_rank - 0.5, 1.0);
    cut->point2->setCoords(m_rank - 0.5, 2.0);
  }
  m_rankLabel->setText(tr("k = %1 of %2").arg(m_rank).arg(o->plain.size()));
  m_numbers->setText(numbersText());
  m_plainPlot->replot(QCustomPlot::rpQueuedReplot);
  m_weightedPlot->replot(QCustomPlot::rpQueuedReplot);
}

QString TeachLayerView::numbersText() const {
  const api::OpSpectra* o = op();
  if (!o) return {};
  const QString calib = m_spectra.calibPath.empty()
                            ? tr("(weighted spectra: waiting for the calibration pass)")
                            : tr("(on %1 calibration windows, %2 tokens)")
                                  .arg(m_spectra.calibSamples)
                                  .arg(count(m_spectra.calibTokens));
  return tr("<table cellspacing='6'>"
            "<tr><td>%1: W is %2 &times; %3 (in &times; out)</td><td>storage k(M + N) = %4 vs M N = %5 "
            "(<b>%6</b>)</td></tr>"
            "<tr><td>energy kept <b>%7</b></td><td>weight error &#8214;W &minus; W<sub>k</sub>&#8214; / "
            "&#8214;W&#8214; = <b>%8</b></td></tr>"
            "<tr><td>Fisher-weighted error <b>%9</b>; activation-scaled <b>%10</b></td>"
            "<td>whitened output error &#8214;XW &minus; XW<sub>k</sub>&#8214; / &#8214;XW&#8214; = "
            "<b>%11</b> %12</td></tr></table>")
      .arg(QString::fromStdString(o->op.name))
      .arg(o->op.inFeatures)
      .arg(o->op.outFeatures)
      .arg(count(storedParams()), count(denseParams()))
      .arg(percent(double(storedParams()) / double(std::max<int64_t>(1, denseParams()))))
      .arg(percent(energyKept()), percent(weightError()), percent(fisherError()), percent(activationError()),
           percent(whitenedError()), calib);
}

void TeachLayerView::applyPresenterMode(bool) {
  m_plain->setPen(QPen(kPlainColour, lineWidth(1.6)));
  m_plainScaled->setPen(QPen(kPlainColour, lineWidth(1.4), Qt::DashLine));
  m_fisher->setPen(QPen(kFisherColour, lineWidth(1.6)));
  m_activation->setPen(QPen(kActivationColour, lineWidth(1.6)));
  m_whitened->setPen(QPen(kWhitenedColour, lineWidth(1.6)));
  m_cut->setPen(QPen(kCutColour, lineWidth(1.5)));
  m_weightedCut->setPen(QPen(kCutColour, lineWidth(1.5)));
  m_plainPlot->replot(QCustomPlot::rpQueuedReplot);
  m_weightedPlot->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace ranklab::widgets
