// TeachLiveView: chapter 5 of the teaching mode, a live ARS run. Start runs a short mask-training
// job on a shipped model (TeachSession sets it up and feeds the live data); the mask evolution view
// animates the kept rank of every op as the frames arrive and the loss and budget curves grow below
// it, the budget term falling to the target. A status line shows the phase and the time against the
// chapter's time budget. GUI thread only; never throws.
#pragma once

#include <QString>
#include <vector>

#include "api/run.h"
#include "widgets/teach_chapter.h"

class QLabel;
class QPushButton;

namespace ranklab::widgets {

class MaskEvolutionView;

class TeachLiveView : public TeachChapter {
  Q_OBJECT

 public:
  explicit TeachLiveView(QWidget* parent = nullptr);

  QString title() const override;
  QString explanation() const override;
  QString notes() const override;

  // What the run does (model, steps, batch, budget), and the time it should take at most.
  void setConfig(const QString& description, double budgetSeconds);
  double timeBudget() const { return m_budget; }

  // The job started: clears the view, names the ops (full ranks) the frames refer to and marks the
  // run's target budget p on the curves (NaN: none).
  void jobStarted(const std::vector<api::OpResult>& ops, double targetBudget);
  void appendFrames(const std::vector<api::MaskFrame>& frames);
  void appendSeries(const std::vector<api::SeriesPoint>& points);
  void setProgress(const QString& phase, qint64 done, qint64 total, double elapsedSeconds);
  // The job ended: `status` succeeded | cancelled | failed, `message` the result or the error.
  void jobEnded(const QString& status, double elapsedSeconds, const QString& message);

  bool isRunning() const { return m_running; }
  // Wall time of the last finished run in seconds (-1 before one has finished).
  double lastSeconds() const { return m_lastSeconds; }
  QString lastStatus() const { return m_lastStatus; }
  QString status() const;

  MaskEvolutionView* maskView() const { return m_mask; }
  QPushButton* startButton() const { return m_start; }
  QPushButton* cancelButton() const { return m_cancel; }

 signals:
  void startRequested();
  void cancelRequested();

 protected:
  void applyPresenterMode(bool on) override;

 private:
  void setRunning(bool running);

  double m_budget = 60.0;
  bool m_running = false;
  double m_lastSeconds = -1.0;
  QString m_lastStatus;

  MaskEvolutionView* m_mask = nullptr;
  QPushButton* m_start = nullptr;
  QPushButton* m_cancel = nullptr;
  QLabel* m_config = nullptr;
  QLabel* m_status = nullptr;
};

}  // namespace ranklab::widgets
