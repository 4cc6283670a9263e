// TeachImageView: chapter 2 of the teaching mode, rank-k approximation of an image. Given a grayscale
// image A (M x N, values in [0, 1]) and its SVD (computed by core, teach::matrixSvd), a rank slider
// picks k and the view draws the original, the rank-k reconstruction A_k = sum_{i<k} s_i u_i v_i^T and
// the error A - A_k, the spectrum with the cut, and the discarded energy against k. The numbers side
// by side make Eckart-Young visible: the relative Frobenius error measured on the pixels,
// ||A - A_k||_F^2 / ||A||_F^2, equals the discarded energy sum_{i>=k} s_i^2 / sum s_i^2 read off the
// spectrum; then the energy kept and the storage k (M + N) against M N.
// Reconstructions are computed in double precision on the GUI thread (about 10 ms for 256 x 256).
// GUI thread only; never throws.
#pragma once

#include <QString>
#include <vector>

#include "api/teach.h"
#include "widgets/teach_chapter.h"

class QCPColorMap;
class QCPGraph;
class QCPItemStraightLine;
class QCustomPlot;
class QLabel;
class QSlider;
class QSpinBox;

namespace ranklab::widgets {

class PlaceholderStack;

class TeachImageView : public TeachChapter {
  Q_OBJECT

 public:
  explicit TeachImageView(QWidget* parent = nullptr);

  QString title() const override;
  QString explanation() const override;
  QString notes() const override;
  int stepCount() const override;
  QString stepCaption(int step) const override;

  // `pixels`: rows x cols, row-major, in [0, 1]; `svd` its SVD. A mismatch in sizes shows an error
  // in place of the plots. `source` names the image (shown under it).
  void setImage(const std::vector<float>& pixels, const api::MatrixSvd& svd, const QString& source);
  // Shows why there is no image (missing file, failed SVD).
  void showProblem(const QString& message);
  bool hasImage() const { return !m_pixels.empty(); }

  int rank() const { return m_rank; }
  int maxRank() const { return int(m_svd.s.size()); }
  // Clamped to [1, maxRank()]; moves the slider.
  void setRank(int k);

  // ||A - A_k||_F^2 / ||A||_F^2 from the reconstructed pixels.
  double measuredErrorSquared() const { return m_measured; }
  // sum_{i>=k} s_i^2 / sum_i s_i^2 from the spectrum.
  double discardedEnergy() const { return m_discarded; }
  double energyKept() const { return 1.0 - m_discarded; }
  int64_t storedValues() const { return int64_t(m_rank) * (m_svd.rows + m_svd.cols); }
  int64_t denseValues() const { return m_svd.rows * m_svd.cols; }
  // Value the reconstruction / error maps draw at (row, col); NaN out of range.
  double reconstructionAt(int row, int col) const;
  double errorAt(int row, int col) const;
  QString numbersText() const;

  QSlider* rankSlider() const { return m_slider; }
  QCustomPlot* imagePlot() const { return m_images; }
  QCustomPlot* spectrumPlot() const { return m_curves; }

 protected:
  void applyStep(int step) override;
  void applyPresenterMode(bool on) override;

 private:
  std::vector<int> presetRanks() const;
  void recompute();

  std::vector<float> m_pixels;
  api::MatrixSvd m_svd;
  std::vector<double> m_reconstruction;
  double m_totalEnergy = 0.0;
  int m_rank = 1;
  double m_measured = 0.0;
  double m_discarded = 0.0;
  QString m_source;

  PlaceholderStack* m_stack = nullptr;
  QCustomPlot* m_images = nullptr;
  QCustomPlot* m_curves = nullptr;
  QCPColorMap* m_original = nullptr;
  QCPColorMap* m_approx = nullptr;
  QCPColorMap* m_error = nullptr;
  QCPGraph* m_spectrum = nullptr;
  QCPGraph* m_discardedCurve = nullptr;
  QCPGraph* m_measuredPoint = nullptr;
  QCPItemStraightLine* m_cut = nullptr;
  QCPItemStraightLine* m_energyCut = nullptr;
  QSlider* m_slider = nullptr;
  QSpinBox* m_spin = nullptr;
  QLabel* m_numbers = nullptr;
  QLabel* m_caption = nullptr;
};

}  // namespace ranklab::widgets
