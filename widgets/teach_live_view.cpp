#include "widgets/teach_live_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "widgets/mask_evolution_view.h"

namespace ranklab::widgets {

TeachLiveView::TeachLiveView(QWidget* parent) : TeachChapter(parent) {
  m_mask = new MaskEvolutionView(this);
  m_mask->setObjectName(QStringLiteral("liveMaskView"));
  m_start = new QPushButton(tr("Start the ARS run"), this);
  m_start->setObjectName(QStringLiteral("startLive"));
  connect(m_start, &QPushButton::clicked, this, &TeachLiveView::startRequested);
  m_cancel = new QPushButton(tr("Cancel"), this);
  m_cancel->setObjectName(QStringLiteral("cancelLive"));
  m_cancel->setEnabled(false);
  connect(m_cancel, &QPushButton::clicked, this, &TeachLiveView::cancelRequested);
  m_config = new QLabel(this);
  m_config->setObjectName(QStringLiteral("liveConfig"));
  m_config->setWordWrap(true);
  m_status = new QLabel(tr("Not started."), this);
  m_status->setObjectName(QStringLiteral("liveStatus"));
  m_status->setWordWrap(true);
  auto* controls = new QHBoxLayout;
  controls->addWidget(m_start);
  controls->addWidget(m_cancel);
  controls->addWidget(m_status, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addWidget(m_config);
  layout->addWidget(m_mask, 1);
}

QString TeachLiveView::title() const { return tr("5. Live: ARS learns the ranks"); }

QString TeachLiveView::explanation() const {
  return tr(
      "<p>ARS keeps the model frozen and trains only a small hypernetwork. It emits a binary mask over "
      "every op's singular triplets; the loss is the model's own next-token loss plus a budget "
      "term &lambda; log(max(T(m), p T) / p T) that bites while the masks keep more than the budget p "
      "(and a term that pulls each mask towards keeping its largest singular values).</p>"
      "<p>Top: kept rank per op (rows) over training steps (columns), brighter = more kept. Bottom: "
      "the task loss and the budget T(m) / T<sub>total</sub>, which starts near 1.5 (a full-rank "
      "factorization stores more than W) and falls to about p as the masks shrink where it hurts "
      "least. The final ranks are read off the trained masks and fitted to the budget exactly.</p>");
}

QString TeachLiveView::notes() const {
  return tr(
      "<ul><li>Press Start before talking: the run takes well under a minute; frames arrive ten "
      "times a second.</li>"
      "<li>Watch which rows darken first: on gpt-mini the mlp.up rows give up most.</li>"
      "<li>When the budget curve reaches p the hinge stops pulling and the task loss takes over; "
      "it often dips below p first, and the task loss then wins a few ranks back.</li>"
      "<li>Afterwards, drag the scrubber or press Play to replay; the run is stored and appears in "
      "chapter 4 and in the main window's run browser.</li></ul>");
}

void TeachLiveView::setConfig(const QString& description, double budgetSeconds) {
  m_budget = budgetSeconds;
  m_config->setText(description);
}

void TeachLiveView::jobStarted(const std::vector<api::OpResult>& ops, double targetBudget) {
  m_mask->clear();
  m_mask->startLive(ops);
  m_mask->setTargetBudget(targetBudget);
  setRunning(true);
  m_status->setText(tr("Starting\u2026"));
}

void TeachLiveView::appendFrames(const std::vector<api::MaskFrame>& frames) {
  for (const auto& f : frames) m_mask->appendFrame(f);
}

void TeachLiveView::appendSeries(const std::vector<api::SeriesPoint>& points) {
  for (const auto& p : points) m_mask->appendSeries(p);
  if (presenterMode()) widenGraphPens(*m_mask->plot(), 1.5);
}

void TeachLiveView::setProgress(const QString& phase, qint64 done, qint64 total, double elapsedSeconds) {
  m_status->setText(tr("%1 %2%3 \u00b7 %4 s of a %5 s budget")
                        .arg(phase)
                        .arg(done)
                        .arg(total > 0 ? QStringLiteral("/%1").arg(total) : QString())
                        .arg(elapsedSeconds, 0, 'f', 1)
                        .arg(m_budget, 0, 'f', 0));
}

void TeachLiveView::jobEnded(const QString& status, double elapsedSeconds, const QString& message) {
  setRunning(false);
  m_lastStatus = status;
  m_lastSeconds = elapsedSeconds;
  m_status->setText(tr("%1 in %2 s (budget %3 s). %4")
                        .arg(status)
                        .arg(elapsedSeconds, 0, 'f', 1)
                        .arg(m_budget, 0, 'f', 0)
                        .arg(message));
}

void TeachLiveView::applyPresenterMode(bool) { widenGraphPens(*m_mask->plot(), 1.5); }

QString TeachLiveView::status() const { return m_status->text(); }

void TeachLiveView::setRunning(bool running) {
  m_running = running;
  m_start->setEnabled(!running);
  m_cancel->setEnabled(running);
}

}  // namespace ranklab::widgets
