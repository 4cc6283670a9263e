#include "widgets/teach_model_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "api/protocol.h"
#include "widgets/placeholder_stack.h"
#include "widgets/plot_theme.h"

namespace ranklab::widgets {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QCPAxisRect* mapRect(QCustomPlot* plot, int column, QCPTextElement** title) {
  auto* rect = new QCPAxisRect(plot);
  rect->axis(QCPAxis::atLeft)->setLabel(QObject::tr("layer"));
  rect->axis(QCPAxis::atBottom)->setLabel(QObject::tr("op"));
  for (QCPAxis* axis : rect->axes()) axis->grid()->setVisible(false);
  *title = new QCPTextElement(plot, QString(),
                              QFont(plot->font().family(), plot->font().pointSize() + 1, QFont::Bold));
  plot->plotLayout()->addElement(0, column, *title);
  plot->plotLayout()->addElement(1, column, rect);
  return rect;
}

double keptFraction(const api::OpResult& op) {
  return op.fullRank > 0 ? double(op.rank) / double(op.fullRank) : kNaN;
}

QString perplexityText(double v) {
  return std::isnan(v) ? QObject::tr("not measured") : QString::number(v, 'f', 2);
}

}  // namespace

TeachModelView::TeachModelView(QWidget* parent) : TeachChapter(parent) {
  m_pairBox = new QComboBox(this);
  m_pairBox->setObjectName(QStringLiteral("pairBox"));
  connect(m_pairBox, &QComboBox::currentIndexChanged, this, &TeachModelView::setCurrentPair);
  m_colourBox = new QComboBox(this);
  m_colourBox->setObjectName(QStringLiteral("colourBox"));
  m_colourBox->addItems({tr("kept fraction k / min(M, N)"), tr("energy kept by the cut")});
  connect(m_colourBox, &QComboBox::currentIndexChanged, this, [this](int index) { setStep(index); });
  m_runButton = new QPushButton(tr("Make the two runs (uniform and ARS, p = 0.5)"), this);
  m_runButton->setObjectName(QStringLiteral("runPairButton"));
  connect(m_runButton, &QPushButton::clicked, this, &TeachModelView::runPairRequested);
  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("modelStatus"));
  m_status->setWordWrap(true);
  m_summary = new QLabel(this);
  m_summary->setObjectName(QStringLiteral("modelSummary"));
  m_summary->setWordWrap(true);
  m_summary->setTextFormat(Qt::RichText);

  m_plot = new QCustomPlot(this);
  m_plot->setObjectName(QStringLiteral("modelHeatmaps"));
  m_plot->plotLayout()->clear();
  QCPAxisRect* left = mapRect(m_plot, 0, &m_uniformTitle);
  QCPAxisRect* right = mapRect(m_plot, 1, &m_arsTitle);
  m_uniformMap = new QCPColorMap(left->axis(QCPAxis::atBottom), left->axis(QCPAxis::atLeft));
  m_arsMap = new QCPColorMap(right->axis(QCPAxis::atBottom), right->axis(QCPAxis::atLeft));
  m_scale = new QCPColorScale(m_plot);
  m_plot->plotLayout()->addElement(1, 2, m_scale);
  m_scale->setGradient(keptFractionGradient());
  m_scale->setDataRange(QCPRange(0.0, 1.0));
  for (QCPColorMap* map : {m_uniformMap, m_arsMap}) {
    map->setInterpolate(false);
    map->setColorScale(m_scale);
  }
  auto* margins = new QCPMarginGroup(m_plot);
  left->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  right->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);

  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("runs"), this));
  controls->addWidget(m_pairBox, 1);
  controls->addWidget(new QLabel(tr("colour"), this));
  controls->addWidget(m_colourBox);
  controls->addWidget(m_runButton);
  auto* content = new QWidget(this);
  auto* contentLayout = new QVBoxLayout(content);
  contentLayout->setContentsMargins(0, 0, 0, 0);
  contentLayout->addWidget(m_plot, 1);
  contentLayout->addWidget(m_summary);
  m_stack = new PlaceholderStack(content, QStringLiteral("modelPlaceholder"), this);
  m_stack->showPlaceholder(tr(
      "No matching pair of runs in the database yet: a uniform and an ARS run of the same model, "
      "decomposition, budget and evaluation text. Press \u201cMake the two runs\u201d (about a minute on a "
      "laptop CPU), or run them with ranklab-cli compress ... --select uniform and --select ars."));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addWidget(m_status);
  layout->addWidget(m_stack, 1);
}

QString TeachModelView::title() const { return tr("4. The whole model: where the ranks go"); }

QString TeachModelView::explanation() const {
  return tr(
      "<p>Compressing a model means choosing a rank for every op under one parameter budget. "
      "The simplest choice, equal (uniform) ranks, gives every op the same share of its own "
      "parameters.</p>"
      "<p>But a rank is not worth the same everywhere. How much energy a cut keeps depends on how "
      "fast the op's spectrum falls, and how much the model's loss suffers depends on the op: "
      "some tolerate a deep cut, others break. Equal ranks pay the same price for the last ranks "
      "of every op, also where they buy nothing: that is budget wasted.</p>"
      "<p>ARS learns the allocation: a small network proposes masks over every op's singular "
      "values, trained on the model's own loss under the budget. Same parameter count, other "
      "places; the titles say whether that bought a lower perplexity here (a short ARS run may "
      "not).</p>");
}

QString TeachModelView::notes() const {
  return tr(
      "<ul><li>Step 1 colours by kept fraction: the uniform map has one colour per op shape (at p = 0.5 "
      "a square 256 &times; 256 op keeps 64 of 256 ranks, a 256 &times; 1024 one 102: k(M + N) = p M N), "
      "ARS varies by op kind and depth.</li>"
      "<li>Step 2 colours by energy kept: same ranks, different spectra, so the uniform map varies "
      "too. ARS does not maximise energy: it gives energy up where the loss does not need it and "
      "keeps ops whole where it does.</li>"
      "<li>Compare the perplexities in the titles; both runs have the same achieved budget p.</li>"
      "<li>No pair yet? The button runs both jobs in the background (a short ARS run); the chapter "
      "fills in when they finish.</li></ul>");
}

QString TeachModelView::stepCaption(int step) const {
  return step == 0 ? tr("colour: kept fraction of each op's rank")
                   : tr("colour: share of each op's energy kept");
}

void TeachModelView::setPairs(const std::vector<Pair>& pairs) {
  m_pairs = pairs;
  {
    const QSignalBlocker blocker(m_pairBox);
    m_pairBox->clear();
    for (const Pair& p : m_pairs) {
      const auto& r = p.ars.run;
      m_pairBox->addItem(tr("%1 \u00b7 %2 \u00b7 p = %3 (runs %4 and %5, both evaluated on %6)")
                             .arg(QFileInfo(QString::fromStdString(r.modelPath)).fileName(),
                                  QString::fromStdString(r.decomposition))
                             .arg(r.keepTarget, 0, 'f', 2)
                             .arg(p.uniform.run.id)
                             .arg(r.id)
                             .arg(QString::fromStdString(api::protocolLabel(r.protocol))));
    }
  }
  m_current = -1;
  if (m_pairs.empty()) {
    m_stack->showPlaceholder(m_stack->placeholderText());
    return;
  }
  setCurrentPair(0);
}

void TeachModelView::setCurrentPair(int index) {
  if (index < 0 || index >= pairCount()) return;
  m_current = index;
  if (m_pairBox->currentIndex() != index) {
    const QSignalBlocker blocker(m_pairBox);
    m_pairBox->setCurrentIndex(index);
  }
  rebuild();
}

void TeachModelView::setBusy(bool busy, const QString& status) {
  m_runButton->setEnabled(!busy);
  m_status->setText(status);
}

QString TeachModelView::status() const { return m_status->text(); }

const api::OpResult* TeachModelView::opAt(bool ars, int layer, const QString& kind) const {
  if (m_current < 0) return nullptr;
  const api::RunData& run = ars ? m_pairs[size_t(m_current)].ars : m_pairs[size_t(m_current)].uniform;
  for (const auto& op : run.ops)
    if (op.layer == layer && QString::fromStdString(op.kind) == kind) return &op;
  return nullptr;
}

double TeachModelView::cellValue(bool ars, int layer, const QString& kind) const {
  const api::OpResult* op = opAt(ars, layer, kind);
  if (!op) return kNaN;
  return colourByEnergy() ? op->energyKept : keptFraction(*op);
}

double TeachModelView::perplexity(bool ars) const {
  if (m_current < 0) return kNaN;
  const auto& run = (ars ? m_pairs[size_t(m_current)].ars : m_pairs[size_t(m_current)].uniform).run;
  return run.metric == "perplexity" ? run.metricAfter : kNaN;
}

void TeachModelView::rebuild() {
  if (m_current < 0) return;
  const Pair& pair = m_pairs[size_t(m_current)];
  m_kinds.clear();
  m_layers = 0;
  for (const api::RunData* run : {&pair.uniform, &pair.ars}) {
    for (const auto& op : run->ops) {
      const QString kind = QString::fromStdString(op.kind);
      if (!m_kinds.contains(kind)) m_kinds << kind;
      m_layers = std::max(m_layers, op.layer + 1);
    }
  }
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  for (int i = 0; i < m_kinds.size(); ++i) ticker->addTick(i, m_kinds[i]);
  for (bool ars : {false, true}) {
    QCPColorMap* map = ars ? m_arsMap : m_uniformMap;
    map->data()->setSize(int(m_kinds.size()), m_layers);
    map->data()->setRange(QCPRange(0, std::max<int>(1, int(m_kinds.size())) - 1),
                          QCPRange(0, std::max(1, m_layers) - 1));
    for (int layer = 0; layer < m_layers; ++layer)
      for (int k = 0; k < m_kinds.size(); ++k)
        map->data()->setCell(k, layer, cellValue(ars, layer, m_kinds[k]));
    map->keyAxis()->setTicker(ticker);
    map->keyAxis()->setRange(-0.5, m_kinds.size() - 0.5);
    map->valueAxis()->setRange(-0.5, m_layers - 0.5);
    const auto& run = (ars ? pair.ars : pair.uniform).run;
    (ars ? m_arsTitle : m_uniformTitle)
        ->setText(
            tr("%1: perplexity %2, p = %3")
                .arg(ars ? tr("ARS ranks") : tr("Equal ranks (uniform)"), perplexityText(perplexity(ars)))
                .arg(run.keptFraction, 0, 'f', 3));
  }
  m_scale->axis()->setLabel(colourByEnergy() ? tr("energy kept") : tr("kept fraction"));
  m_summary->setText(summaryText());
  m_stack->showContent();
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString TeachModelView::summaryText() const {
  if (m_current < 0) return {};
  const Pair& pair = m_pairs[size_t(m_current)];
  auto range = [](const api::RunData& run) {
    double lo = 1.0, hi = 0.0;
    for (const auto& op : run.ops) {
      lo = std::min(lo, op.energyKept);
      hi = std::max(hi, op.energyKept);
    }
    return std::make_pair(lo, hi);
  };
  const auto [ulo, uhi] = range(pair.uniform);
  const auto [alo, ahi] = range(pair.ars);
  const double pu = perplexity(false), pa = perplexity(true);
  // The ops ARS kept most and least of (kept fraction).
  const api::OpResult* most = nullptr;
  const api::OpResult* least = nullptr;
  for (const auto& op : pair.ars.ops) {
    if (op.fullRank <= 0) continue;
    if (!most || keptFraction(op) > keptFraction(*most)) most = &op;
    if (!least || keptFraction(op) < keptFraction(*least)) least = &op;
  }
  const QString extremes = most && least ? tr(" ARS keeps %1 of %2's %3 ranks and %4 of %5's %6.")
                                               .arg(most->rank)
                                               .arg(QString::fromStdString(most->name))
                                               .arg(most->fullRank)
                                               .arg(least->rank)
                                               .arg(QString::fromStdString(least->name))
                                               .arg(least->fullRank)
                                         : QString();
  return tr("Equal ranks keep between %1% and %2% of an op's energy; ARS between %3% and %4%. "
            "Perplexity %5 (uniform) vs %6 (ARS)%7; achieved p %8 vs %9.")
             .arg(100.0 * ulo, 0, 'f', 1)
             .arg(100.0 * uhi, 0, 'f', 1)
             .arg(100.0 * alo, 0, 'f', 1)
             .arg(100.0 * ahi, 0, 'f', 1)
             .arg(perplexityText(pu), perplexityText(pa))
             .arg(std::isnan(pu) || std::isnan(pa)
                      ? QString()
                      : tr(", %1% %2")
                            .arg(std::abs(100.0 * (pa - pu) / pu), 0, 'f', 1)
                            .arg(pa < pu ? tr("lower with ARS") : tr("higher with ARS")))
             .arg(pair.uniform.run.keptFraction, 0, 'f', 3)
             .arg(pair.ars.run.keptFraction, 0, 'f', 3) +
         extremes;
}

void TeachModelView::applyStep(int step) {
  if (m_colourBox->currentIndex() != step) {
    const QSignalBlocker blocker(m_colourBox);
    m_colourBox->setCurrentIndex(step);
  }
  rebuild();
}

}  // namespace ranklab::widgets
