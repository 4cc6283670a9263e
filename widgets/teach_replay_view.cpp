#include "widgets/teach_replay_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>
#include <limits>

#include "widgets/mask_evolution_view.h"
#include "widgets/placeholder_stack.h"

namespace ranklab::widgets {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const QColor kLayerColours[] = {QColor(78, 121, 167),  QColor(242, 142, 43), QColor(225, 87, 89),
                                QColor(118, 183, 178), QColor(89, 161, 79),  QColor(237, 201, 72),
                                QColor(176, 122, 161), QColor(255, 157, 167)};

}  // namespace

TeachReplayView::TeachReplayView(QWidget* parent) : TeachChapter(parent) {
  m_runBox = new QComboBox(this);
  m_runBox->setObjectName(QStringLiteral("replayRunBox"));
  connect(m_runBox, &QComboBox::currentIndexChanged, this, [this](int index) {
    if (index >= 0 && index < runCount()) emit runChosen(m_runs[size_t(index)].id);
  });
  m_shortRun = new QPushButton(tr("Make a short RankDyna run"), this);
  m_shortRun->setObjectName(QStringLiteral("shortRankDyna"));
  connect(m_shortRun, &QPushButton::clicked, this, &TeachReplayView::shortRunRequested);
  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("replayStatus"));
  m_status->setWordWrap(true);

  m_mask = new MaskEvolutionView(this);
  m_mask->setObjectName(QStringLiteral("replayMaskView"));
  m_flow = new QCustomPlot(this);
  m_flow->setObjectName(QStringLiteral("flowPlot"));
  m_flow->xAxis->setLabel(tr("fine-tuning step"));
  m_flow->yAxis->setLabel(tr("layer's share of kept parameters"));
  m_flow->legend->setVisible(true);
  m_flow->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  m_cursor = new QCPItemStraightLine(m_flow);
  m_cursor->setPen(QPen(QColor(0xd6, 0x27, 0x28), 1.5));
  m_cursor->point1->setCoords(0, 0);
  m_cursor->point2->setCoords(0, 1);
  connect(m_mask, &MaskEvolutionView::currentStepChanged, this, [this](qint64 step) {
    m_cursor->point1->setCoords(double(step), 0);
    m_cursor->point2->setCoords(double(step), 1);
    m_flow->replot(QCustomPlot::rpQueuedReplot);
  });

  auto* content = new QSplitter(Qt::Vertical, this);
  content->addWidget(m_mask);
  content->addWidget(m_flow);
  content->setStretchFactor(0, 3);
  content->setStretchFactor(1, 2);
  content->setSizes({700, 260});
  m_stack = new PlaceholderStack(content, QStringLiteral("replayPlaceholder"), this);
  m_stack->showPlaceholder(tr(
      "No RankDyna run in the database yet. Press \u201cMake a short RankDyna run\u201d (gpt-mini, under a "
      "minute), or run one with the CLI, e.g.\n\nranklab-cli compress resources/models/gpt-mini --select "
      "rankdyna "
      "--keep 0.5 --calib resources/data/lm/valid.txt --finetune-steps 300 --batch 8 --calib-len 128\n\n"
      "and reopen the teaching mode on the same database."));
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("run"), this));
  controls->addWidget(m_runBox, 1);
  controls->addWidget(m_shortRun);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addWidget(m_status);
  layout->addWidget(m_stack, 1);
}

QString TeachReplayView::title() const { return tr("6. RankDyna: ranks that move while fine-tuning"); }

QString TeachReplayView::explanation() const {
  return tr(
      "<p>RankDyna (RankLab's reading of Hua et al., 2023) compresses while it fine-tunes. Every op "
      "is trained in its SVD form; each singular triplet gets a smoothed sensitivity score built "
      "from |&theta; &middot; &part;L/&part;&theta;| over its parameters.</p>"
      "<p>Every few steps all triplets of all ops are ranked by score per parameter and the "
      "lowest are masked until the budget b(t) is met; b(t) falls from full rank to p. A masked "
      "triplet whose score rises comes back, so ranks can flow from one layer to another as the "
      "task reshapes the model.</p>"
      "<p>Top: kept rank per op at each reallocation. Bottom: each layer's share of the kept "
      "parameters.</p>");
}

QString TeachReplayView::notes() const {
  return tr(
      "<ul><li>Press Play under the heatmap: the budget schedule first holds, then tightens "
      "cubically, then freezes.</li>"
      "<li>In the bottom plot, a rising line is a layer that wins ranks from the others.</li>"
      "<li>Click an op's row to see its individual triplets switch off (and sometimes back on).</li>"
      "<li>This is RankLab's reading of the method (the paper's full text was not at hand); "
      "docs/METHODS.md (section 5) says what is assumed.</li></ul>");
}

void TeachReplayView::setRuns(const std::vector<api::RunRecord>& runs) {
  m_runs = runs;
  {
    const QSignalBlocker blocker(m_runBox);
    m_runBox->clear();
    for (const auto& r : m_runs)
      m_runBox->addItem(tr("run %1 \u00b7 %2 \u00b7 p = %3 \u00b7 %4")
                            .arg(r.id)
                            .arg(QString::fromStdString(r.name))
                            .arg(r.keepTarget, 0, 'f', 2)
                            .arg(QString::fromStdString(r.createdAt)));
  }
  if (m_runs.empty()) {
    m_run = {};
    m_shares.clear();
    m_stack->showPlaceholder(m_stack->placeholderText());
    return;
  }
  emit runChosen(m_runs.front().id);
}

void TeachReplayView::setRun(const api::RunData& run) {
  m_run = run;
  std::sort(m_run.frames.begin(), m_run.frames.end(),
            [](const api::MaskFrame& a, const api::MaskFrame& b) { return a.step < b.step; });
  for (int i = 0; i < runCount(); ++i) {
    if (m_runs[size_t(i)].id == run.run.id && m_runBox->currentIndex() != i) {
      const QSignalBlocker blocker(m_runBox);
      m_runBox->setCurrentIndex(i);
    }
  }
  if (m_run.frames.empty()) {
    m_stack->showPlaceholder(tr("Run %1 has no reallocation frames to replay.").arg(run.run.id));
    return;
  }
  m_mask->setRun(m_run);
  rebuildFlow();
  m_stack->showContent();
}

void TeachReplayView::setBusy(bool busy, const QString& status) {
  m_shortRun->setEnabled(!busy);
  m_status->setText(status);
}

QString TeachReplayView::status() const { return m_status->text(); }

double TeachReplayView::layerShare(int layer, int frame) const {
  if (layer < 0 || layer >= layerCount() || frame < 0 || frame >= int(m_shares[size_t(layer)].size()))
    return kNaN;
  return m_shares[size_t(layer)][size_t(frame)];
}

double TeachReplayView::cursorStep() const { return m_cursor->point1->coords().x(); }

void TeachReplayView::rebuildFlow() {
  int layers = 0;
  for (const auto& op : m_run.ops) layers = std::max(layers, op.layer + 1);
  m_shares.assign(size_t(layers), std::vector<double>(m_run.frames.size(), 0.0));
  for (size_t f = 0; f < m_run.frames.size(); ++f) {
    const auto& ranks = m_run.frames[f].ranks;
    std::vector<double> kept(size_t(layers), 0.0);
    double total = 0.0;
    for (size_t i = 0; i < ranks.size() && i < m_run.ops.size(); ++i) {
      const auto& op = m_run.ops[i];
      const double params = double(ranks[i]) * double(op.inFeatures + op.outFeatures);
      kept[size_t(op.layer)] += params;
      total += params;
    }
    for (int l = 0; l < layers; ++l) m_shares[size_t(l)][f] = total > 0.0 ? kept[size_t(l)] / total : kNaN;
  }
  m_flow->clearGraphs();
  double top = 0.0;
  for (int l = 0; l < layers; ++l) {
    QCPGraph* g = m_flow->addGraph();
    g->setName(tr("layer %1").arg(l));
    g->setPen(QPen(kLayerColours[size_t(l) % std::size(kLayerColours)], lineWidth(2.0)));
    QVector<double> x, y;
    for (size_t f = 0; f < m_run.frames.size(); ++f) {
      x.append(double(m_run.frames[f].step));
      y.append(m_shares[size_t(l)][f]);
      top = std::max(top, m_shares[size_t(l)][f]);
    }
    g->setData(x, y, true);
  }
  m_flow->xAxis->setRange(double(m_run.frames.front().step),
                          double(std::max(m_run.frames.back().step, m_run.frames.front().step + 1)));
  m_flow->yAxis->setRange(0.0, std::max(0.05, top * 1.15));
  const double step = double(m_mask->currentStep());
  m_cursor->point1->setCoords(step, 0);
  m_cursor->point2->setCoords(step, 1);
  m_flow->replot(QCustomPlot::rpQueuedReplot);
}

void TeachReplayView::applyPresenterMode(bool) {
  widenGraphPens(*m_flow, 2.0);
  widenGraphPens(*m_mask->plot(), 1.5);
}

}  // namespace ranklab::widgets
