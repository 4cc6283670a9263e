// TeachGeometryView: chapter 1 of the teaching mode, the SVD as geometry. A 2 x 2 matrix A (four
// spin boxes, or drag the images A e1 and A e2 of the basis vectors in the plot) maps the unit circle
// to an ellipse. The steps take the circle through A = U S V^T one factor at a time, animated:
// 0 the unit circle with the right singular vectors v1, v2; 1 after V^T (a rotation: v1, v2 land on
// the axes); 2 after S (a stretch by s1 and s2 along the axes); 3 after U (a rotation, with a
// reflection when det A < 0): the ellipse A x, whose semi-axes are s1 u1 and s2 u2.
// GUI thread only; never throws.
#pragma once

#include <QVector>
#include <array>

#include "widgets/teach_chapter.h"
#include "widgets/teach_svd2.h"

class QCPCurve;
class QCPGraph;
class QCPItemLine;
class QCPItemText;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QMouseEvent;
class QPushButton;
class QVariantAnimation;

namespace ranklab::widgets {

class TeachGeometryView : public TeachChapter {
  Q_OBJECT

 public:
  explicit TeachGeometryView(QWidget* parent = nullptr);

  QString title() const override;
  QString explanation() const override;
  QString notes() const override;
  int stepCount() const override { return 4; }
  QString stepCaption(int step) const override;

  // A = [[a, b], [c, d]]; redraws the current step (without animation).
  void setMatrix(double a, double b, double c, double d);
  std::array<double, 4> matrix() const { return m_a; }
  const Svd2& svd() const { return m_svd; }
  // The matrix that maps the unit circle to the drawn shape right now (mid-animation: in between).
  std::array<double, 4> displayedMatrix() const;
  // Points of the drawn shape (the mapped unit circle), and the tips of the two drawn vectors (the
  // images of v1 and v2 under displayedMatrix()).
  QVector<QPointF> shapePoints() const;
  std::array<QPointF, 2> vectorTips() const;
  // Length of a step's animation in ms (default 700); 0 draws each step at once.
  void setAnimationDuration(int milliseconds);
  bool isAnimating() const;
  // Plays every step from the unit circle to A x.
  void playAll();

  QCustomPlot* plot() const { return m_plot; }
  QDoubleSpinBox* entryBox(int index) const { return m_entries[size_t(index)]; }
  QLabel* infoLabel() const { return m_info; }

 protected:
  void applyStep(int step) override;
  void applyPresenterMode(bool on) override;
  void resizeEvent(QResizeEvent* event) override;

 private:
  void onEntryChanged();
  void redraw();
  void updateRange();
  void keepAspect();
  void onPress(QMouseEvent* event);
  void onMove(QMouseEvent* event);
  void onRelease(QMouseEvent* event);

  std::array<double, 4> m_a{1.2, 0.8, 0.3, 0.9};
  Svd2 m_svd;
  double m_t = 1.0;  // animation progress into the current step
  int m_drag = -1;   // column of A being dragged, -1 none
  bool m_syncing = false;
  int m_duration = 700;

  QCustomPlot* m_plot = nullptr;
  QCPCurve* m_reference = nullptr;
  QCPCurve* m_target = nullptr;
  QCPCurve* m_shape = nullptr;
  QCPGraph* m_handles = nullptr;
  std::array<QCPItemLine*, 2> m_vectors{};
  std::array<QCPItemText*, 2> m_vectorLabels{};
  std::array<QDoubleSpinBox*, 4> m_entries{};
  QLabel* m_info = nullptr;
  QLabel* m_stage = nullptr;
  QPushButton* m_play = nullptr;
  QVariantAnimation* m_anim = nullptr;
  int m_playTo = -1;
};

}  // namespace ranklab::widgets
