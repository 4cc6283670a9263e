// TeachModelView: chapter 4 of the teaching mode, the whole model. Two stored runs of the same
// model at the same budget, one with equal (uniform) ranks and one with ARS ranks, drawn as two
// layer x op-kind heatmaps on one colour scale, each titled with its perplexity and achieved budget.
// The colour is the kept fraction k / min(M, N) (step 1) or the share of each op's spectral energy
// the cut keeps (step 2): equal ranks keep nearly everything of some ops and too little of others;
// ARS moves the same budget to where it buys the most. The pairs come from the run database
// (TeachSession finds them); with none, a button asks for the two runs. GUI thread only; never throws.
#pragma once

#include <QString>
#include <QStringList>
#include <vector>

#include "api/run.h"
#include "widgets/teach_chapter.h"

class QCPColorMap;
class QCPColorScale;
class QCPTextElement;
class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;

namespace ranklab::widgets {

class PlaceholderStack;

class TeachModelView : public TeachChapter {
  Q_OBJECT

 public:
  struct Pair {
    api::RunData uniform;
    api::RunData ars;
  };

  explicit TeachModelView(QWidget* parent = nullptr);

  QString title() const override;
  QString explanation() const override;
  QString notes() const override;
  int stepCount() const override { return 2; }
  QString stepCaption(int step) const override;

  // Replaces the pairs offered (newest first is the caller's order); shows the first.
  void setPairs(const std::vector<Pair>& pairs);
  int pairCount() const { return int(m_pairs.size()); }
  int currentPair() const { return m_current; }
  void setCurrentPair(int index);
  // While the two runs are being made: the button is disabled and `status` is shown.
  void setBusy(bool busy, const QString& status);
  QString status() const;

  bool colourByEnergy() const { return currentStep() == 1; }
  // Heatmap cell of the uniform (ars = false) or ARS run: the value drawn (kept fraction or energy
  // kept); NaN when no op fills it or there is no pair.
  double cellValue(bool ars, int layer, const QString& kind) const;
  // The run's perplexity after compression (NaN when not measured).
  double perplexity(bool ars) const;
  QStringList heatmapKinds() const { return m_kinds; }
  int layerCount() const { return m_layers; }
  QString summaryText() const;

  QPushButton* runButton() const { return m_runButton; }
  QComboBox* pairBox() const { return m_pairBox; }
  QComboBox* colourBox() const { return m_colourBox; }
  QCustomPlot* plot() const { return m_plot; }

 signals:
  // "Make the two runs" was pressed.
  void runPairRequested();

 protected:
  void applyStep(int step) override;

 private:
  const api::OpResult* opAt(bool ars, int layer, const QString& kind) const;
  void rebuild();

  std::vector<Pair> m_pairs;
  int m_current = -1;
  QStringList m_kinds;
  int m_layers = 0;

  PlaceholderStack* m_stack = nullptr;
  QComboBox* m_pairBox = nullptr;
  QComboBox* m_colourBox = nullptr;
  QPushButton* m_runButton = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_summary = nullptr;
  QCustomPlot* m_plot = nullptr;
  QCPColorMap* m_uniformMap = nullptr;
  QCPColorMap* m_arsMap = nullptr;
  QCPColorScale* m_scale = nullptr;
  QCPTextElement* m_uniformTitle = nullptr;
  QCPTextElement* m_arsTitle = nullptr;
};

}  // namespace ranklab::widgets
