// TeachReplayView: chapter 6 of the teaching mode, a RankDyna run replayed. Pick a stored RankDyna
// run: the mask evolution view shows every op's kept rank at each reallocation (scrub or Play), and
// the plot below it shows the ranks flowing between layers: each layer's share of the parameters the
// masks keep, sum over the layer's ops of k (M + N), as a fraction of the kept total, against the
// step, with a cursor that follows the scrubber. Without a stored run the view says how to make one
// and offers a short run. GUI thread only; never throws.
#pragma once

#include <QString>
#include <vector>

#include "api/run.h"
#include "widgets/teach_chapter.h"

class QCPItemStraightLine;
class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;

namespace ranklab::widgets {

class MaskEvolutionView;
class PlaceholderStack;

class TeachReplayView : public TeachChapter {
  Q_OBJECT

 public:
  explicit TeachReplayView(QWidget* parent = nullptr);

  QString title() const override;
  QString explanation() const override;
  QString notes() const override;

  // The stored RankDyna runs to offer (newest first). The first is requested with runChosen.
  void setRuns(const std::vector<api::RunRecord>& runs);
  int runCount() const { return int(m_runs.size()); }
  // Shows a run (loaded by the caller after runChosen).
  void setRun(const api::RunData& run);
  qint64 shownRunId() const { return m_run.run.id; }
  void setBusy(bool busy, const QString& status);
  QString status() const;

  int layerCount() const { return int(m_shares.size()); }
  int frameCount() const { return int(m_run.frames.size()); }
  // Layer `layer`'s share of the kept parameters at frame `frame`; NaN out of range.
  double layerShare(int layer, int frame) const;
  // Step coordinate of the flow plot's cursor (the scrubber's step).
  double cursorStep() const;

  MaskEvolutionView* maskView() const { return m_mask; }
  QComboBox* runBox() const { return m_runBox; }
  QPushButton* shortRunButton() const { return m_shortRun; }
  QCustomPlot* flowPlot() const { return m_flow; }

 signals:
  void runChosen(qint64 runId);
  void shortRunRequested();

 protected:
  void applyPresenterMode(bool on) override;

 private:
  void rebuildFlow();

  std::vector<api::RunRecord> m_runs;
  api::RunData m_run;
  std::vector<std::vector<double>> m_shares;  // [layer][frame]

  PlaceholderStack* m_stack = nullptr;
  QComboBox* m_runBox = nullptr;
  QPushButton* m_shortRun = nullptr;
  QLabel* m_status = nullptr;
  MaskEvolutionView* m_mask = nullptr;
  QCustomPlot* m_flow = nullptr;
  QCPItemStraightLine* m_cursor = nullptr;
};

}  // namespace ranklab::widgets
