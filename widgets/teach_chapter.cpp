#include "widgets/teach_chapter.h"

#include <qcustomplot.h>

#include <algorithm>

namespace ranklab::widgets {

TeachChapter::TeachChapter(QWidget* parent) : QWidget(parent) {}

QString TeachChapter::stepCaption(int step) const {
  return tr("Step %1 of %2").arg(step + 1).arg(stepCount());
}

void TeachChapter::setStep(int step) {
  const int clamped = std::clamp(step, 0, std::max(0, stepCount() - 1));
  if (clamped == m_step) return;
  m_step = clamped;
  applyStep(clamped);
  emit stepChanged(clamped);
}

void TeachChapter::setPresenterMode(bool on) {
  if (on == m_presenter) return;
  m_presenter = on;
  applyPresenterMode(on);
}

void TeachChapter::widenGraphPens(QCustomPlot& plot, double normal) const {
  for (int i = 0; i < plot.graphCount(); ++i) {
    QPen pen = plot.graph(i)->pen();
    pen.setWidthF(lineWidth(normal));
    plot.graph(i)->setPen(pen);
  }
  plot.replot(QCustomPlot::rpQueuedReplot);
}

void TeachChapter::applyStep(int) {}

void TeachChapter::applyPresenterMode(bool) {}

}  // namespace ranklab::widgets
