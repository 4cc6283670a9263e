// TeachLayerView: chapter 3 of the teaching mode, one real layer. Pick a shipped model and one of its
// compressible ops: the left plot shows the singular spectrum of its weight W (log scale) with the cut
// at the what-if rank k; the right one sets the plain spectrum beside the weighted ones (Fisher-
// weighted, activation-scaled, whitened; each divided by its largest value so that their shapes
// compare). Moving the rank slider updates at once, from the spectra alone:
//  - energy kept and the relative weight error ||W - W_k||_F / ||W||_F = sqrt(sum_{i>=k} s_i^2 / sum s_i^2);
//  - the Fisher-weighted error, the same formula on the Fisher spectrum;
//  - the whitened output error ||X W - X W'_k||_F / ||X W||_F of the whitened rank-k truncation
//    (SVD-LLM) on the calibration windows, exact by construction;
//  - storage k (M + N) against M N.
// The spectra come from core (teach::modelSpectra, on a worker): setSpectra is called once with the
// plain spectra and again when the weighted ones are ready. GUI thread only; never throws.
#pragma once

#include <QString>
#include <QStringList>

#include "api/teach.h"
#include "widgets/teach_chapter.h"

class QComboBox;
class QCPGraph;
class QCPItemStraightLine;
class QCustomPlot;
class QLabel;
class QSlider;

namespace ranklab::widgets {

class PlaceholderStack;

class TeachLayerView : public TeachChapter {
  Q_OBJECT

 public:
  explicit TeachLayerView(QWidget* parent = nullptr);

  QString title() const override;
  QString explanation() const override;
  QString notes() const override;

  // The models offered (display names and paths); the first is selected without emitting modelChosen.
  void setModels(const QStringList& names, const QStringList& paths);
  QString currentModelPath() const;
  // Shows `spectra` when they belong to the selected model; keeps the selected op (by name) and rank.
  void setSpectra(const api::ModelSpectra& spectra);
  // One line under the controls: what is being computed, or what failed.
  void setStatus(const QString& text);
  QString status() const;
  // Shows a message in place of the plots (the model could not be read).
  void showProblem(const QString& message);

  int opCount() const { return int(m_spectra.ops.size()); }
  int currentOp() const { return m_op; }
  void setCurrentOp(int index);
  int rank() const { return m_rank; }
  // Clamped to [1, full rank].
  void setRank(int k);
  bool hasWeightedSpectra() const;

  // At the current op and rank (NaN when unavailable):
  double energyKept() const;
  double weightError() const;
  double fisherError() const;
  double activationError() const;
  double whitenedError() const;
  int64_t storedParams() const;
  int64_t denseParams() const;
  // Weighted-spectrum curves drawn in the right plot (0 until the weighted spectra arrive).
  int weightedCurveCount() const;
  QString numbersText() const;

  QComboBox* modelBox() const { return m_modelBox; }
  QComboBox* opBox() const { return m_opBox; }
  QSlider* rankSlider() const { return m_slider; }
  QCustomPlot* plainPlot() const { return m_plainPlot; }
  QCustomPlot* weightedPlot() const { return m_weightedPlot; }

 signals:
  // The user picked another model: its spectra are wanted.
  void modelChosen(const QString& path);

 protected:
  void applyPresenterMode(bool on) override;

 private:
  const api::OpSpectra* op() const;
  void showOp();
  void update();

  api::ModelSpectra m_spectra;
  int m_op = -1;
  int m_rank = 1;

  PlaceholderStack* m_stack = nullptr;
  QComboBox* m_modelBox = nullptr;
  QComboBox* m_opBox = nullptr;
  QSlider* m_slider = nullptr;
  QLabel* m_rankLabel = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_numbers = nullptr;
  QCustomPlot* m_plainPlot = nullptr;
  QCustomPlot* m_weightedPlot = nullptr;
  QCPGraph* m_plain = nullptr;
  QCPGraph* m_plainScaled = nullptr;
  QCPGraph* m_fisher = nullptr;
  QCPGraph* m_activation = nullptr;
  QCPGraph* m_whitened = nullptr;
  QCPItemStraightLine* m_cut = nullptr;
  QCPItemStraightLine* m_weightedCut = nullptr;
};

}  // namespace ranklab::widgets
