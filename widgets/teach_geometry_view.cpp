#include "widgets/teach_geometry_view.h"

#include <qcustomplot.h>

#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>
#include <QVariantAnimation>
#include <algorithm>
#include <cmath>

namespace ranklab::widgets {
namespace {

constexpr int kCirclePoints = 181;
constexpr double kPi = 3.14159265358979323846;
constexpr double kGrabPixels = 18.0;
const QColor kShapeColour(78, 121, 167);
const QColor kV1Colour(225, 87, 89);
const QColor kV2Colour(89, 161, 79);
const QColor kHandleColour(242, 142, 43);

using Mat = std::array<double, 4>;  // row-major 2 x 2

Mat mul(const Mat& x, const Mat& y) {
  return {x[0] * y[0] + x[1] * y[2], x[0] * y[1] + x[1] * y[3], x[2] * y[0] + x[3] * y[2],
          x[2] * y[1] + x[3] * y[3]};
}
Mat rot(double a) { return {std::cos(a), -std::sin(a), std::sin(a), std::cos(a)}; }
Mat diag(double x, double y) { return {x, 0.0, 0.0, y}; }
QPointF apply(const Mat& m, double x, double y) { return {m[0] * x + m[1] * y, m[2] * x + m[3] * y}; }
QString deg(double radians) { return QString::number(radians * 180.0 / kPi, 'f', 1) + QChar(0x00B0); }

}  // namespace

TeachGeometryView::TeachGeometryView(QWidget* parent) : TeachChapter(parent) {
  m_plot = new QCustomPlot(this);
  m_plot->setObjectName(QStringLiteral("geometryPlot"));
  m_plot->xAxis->setLabel(QStringLiteral("x\u2081"));
  m_plot->yAxis->setLabel(QStringLiteral("x\u2082"));
  m_reference = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
  m_reference->setName(tr("unit circle"));
  m_target = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
  m_target->setName(tr("A x (where it ends)"));
  m_shape = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
  m_shape->setName(tr("the circle now"));
  m_handles = m_plot->addGraph();
  m_handles->setName(tr("A e\u2081, A e\u2082 (drag)"));
  m_handles->setLineStyle(QCPGraph::lsNone);
  const QStringList names = {QStringLiteral("v\u2081"), QStringLiteral("v\u2082")};
  for (size_t i = 0; i < 2; ++i) {
    m_vectors[i] = new QCPItemLine(m_plot);
    m_vectors[i]->start->setCoords(0, 0);
    m_vectors[i]->setHead(QCPLineEnding::esSpikeArrow);
    m_vectorLabels[i] = new QCPItemText(m_plot);
    m_vectorLabels[i]->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    m_vectorLabels[i]->setColor(i == 0 ? kV1Colour : kV2Colour);
  }
  m_plot->legend->setVisible(true);
  m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
  connect(m_plot, &QCustomPlot::mousePress, this, &TeachGeometryView::onPress);
  connect(m_plot, &QCustomPlot::mouseMove, this, &TeachGeometryView::onMove);
  connect(m_plot, &QCustomPlot::mouseRelease, this, &TeachGeometryView::onRelease);

  auto* entries = new QGridLayout;
  entries->addWidget(new QLabel(QStringLiteral("A ="), this), 0, 0, 2, 1);
  for (int i = 0; i < 4; ++i) {
    auto* box = new QDoubleSpinBox(this);
    box->setObjectName(QStringLiteral("a%1%2").arg(i / 2 + 1).arg(i % 2 + 1));
    box->setRange(-3.0, 3.0);
    box->setSingleStep(0.1);
    box->setDecimals(2);
    box->setValue(m_a[size_t(i)]);
    connect(box, &QDoubleSpinBox::valueChanged, this, &TeachGeometryView::onEntryChanged);
    m_entries[size_t(i)] = box;
    entries->addWidget(box, i / 2, i % 2 + 1);
  }
  m_play = new QPushButton(tr("Play all steps"), this);
  m_play->setObjectName(QStringLiteral("playSteps"));
  connect(m_play, &QPushButton::clicked, this, &TeachGeometryView::playAll);
  m_stage = new QLabel(this);
  m_stage->setObjectName(QStringLiteral("stageLabel"));
  m_stage->setWordWrap(true);
  m_info = new QLabel(this);
  m_info->setObjectName(QStringLiteral("geometryInfo"));
  m_info->setTextFormat(Qt::RichText);
  m_info->setWordWrap(true);

  auto* side = new QVBoxLayout;
  side->addLayout(entries);
  side->addWidget(m_play);
  side->addWidget(m_stage);
  side->addWidget(m_info);
  side->addStretch(1);
  auto* layout = new QHBoxLayout(this);
  layout->addWidget(m_plot, 1);
  layout->addLayout(side);

  m_anim = new QVariantAnimation(this);
  m_anim->setStartValue(0.0);
  m_anim->setEndValue(1.0);
  m_anim->setEasingCurve(QEasingCurve::InOutCubic);
  connect(m_anim, &QVariantAnimation::valueChanged, this, [this](const QVariant& v) {
    m_t = v.toDouble();
    redraw();
  });
  connect(m_anim, &QVariantAnimation::finished, this, [this] {
    if (m_playTo > currentStep())
      setStep(currentStep() + 1);
    else
      m_playTo = -1;
  });
  m_svd = svd2(m_a[0], m_a[1], m_a[2], m_a[3]);
  applyPresenterMode(false);
  updateRange();
  redraw();
}

QString TeachGeometryView::title() const { return tr("1. The SVD as geometry"); }

QString TeachGeometryView::explanation() const {
  return tr(
      "<p>Every matrix A maps the unit circle to an ellipse. The singular value decomposition "
      "A = U&nbsp;S&nbsp;V<sup>T</sup> says how, one simple step at a time:</p>"
      "<ol><li>V<sup>T</sup> rotates: the right singular vectors v<sub>1</sub>, v<sub>2</sub> "
      "turn onto the axes.</li>"
      "<li>S stretches along the axes by the singular values s<sub>1</sub> &ge; s<sub>2</sub> &ge; 0.</li>"
      "<li>U rotates again (and reflects when det A &lt; 0): the result is the ellipse A x.</li></ol>"
      "<p>The ellipse's semi-axes are s<sub>1</sub>u<sub>1</sub> and s<sub>2</sub>u<sub>2</sub>: "
      "s<sub>1</sub> is the most A stretches any unit vector, s<sub>2</sub> the least. "
      "Dropping s<sub>2</sub> (rank 1) flattens the ellipse onto its long axis, the best rank-1 "
      "approximation of A.</p>");
}

QString TeachGeometryView::notes() const {
  return tr(
      "<ul><li>Start on step 1: only the circle and v<sub>1</sub>, v<sub>2</sub>. Step through with "
      "the right arrow; each factor animates.</li>"
      "<li>Drag the orange dots (the columns of A, where e<sub>1</sub> and e<sub>2</sub> go): the "
      "singular values in the side panel follow.</li>"
      "<li>Make det A negative (swap the columns): U now flips; the ellipse is the same shape.</li>"
      "<li>Make the columns parallel: s<sub>2</sub> = 0, the ellipse collapses to a segment (rank "
      "1).</li></ul>");
}

QString TeachGeometryView::stepCaption(int step) const {
  switch (step) {
    case 0:
      return tr("x on the unit circle, with the right singular vectors v\u2081 and v\u2082");
    case 1:
      return tr("V\u1d40 x: a rotation by %1 puts v\u2081, v\u2082 on the axes").arg(deg(m_svd.theta));
    case 2:
      return tr("S V\u1d40 x: stretched by s\u2081 = %1 and s\u2082 = %2")
          .arg(m_svd.s1, 0, 'f', 3)
          .arg(m_svd.s2, 0, 'f', 3);
    default:
      return tr("U S V\u1d40 x = A x: a rotation by %1%2; the semi-axes are s\u2081u\u2081 and "
                "s\u2082u\u2082")
          .arg(deg(m_svd.phi), m_svd.flip < 0 ? tr(" and a reflection") : QString());
  }
}

void TeachGeometryView::setMatrix(double a, double b, double c, double d) {
  m_a = {a, b, c, d};
  m_svd = svd2(a, b, c, d);
  m_syncing = true;
  for (size_t i = 0; i < 4; ++i) m_entries[i]->setValue(m_a[i]);
  m_syncing = false;
  m_anim->stop();
  m_t = 1.0;
  if (m_drag < 0) updateRange();
  redraw();
  emit captionChanged();
}

std::array<double, 4> TeachGeometryView::displayedMatrix() const {
  const Svd2& s = m_svd;
  const double t = std::clamp(m_t, 0.0, 1.0);
  const Mat vt = rot(s.theta);
  const Mat stretched = mul(diag(s.s1, s.s2), vt);
  switch (currentStep()) {
    case 0:
      return diag(1.0, 1.0);
    case 1:
      return rot(s.theta * t);
    case 2:
      return mul(diag(1.0 + (s.s1 - 1.0) * t, 1.0 + (s.s2 - 1.0) * t), vt);
    default:
      return mul(mul(rot(s.phi * t), diag(1.0, 1.0 + (s.flip - 1.0) * t)), stretched);
  }
}

QVector<QPointF> TeachGeometryView::shapePoints() const {
  QVector<QPointF> points;
  for (const QCPCurveData& d : *m_shape->data()) points.append({d.key, d.value});
  return points;
}

std::array<QPointF, 2> TeachGeometryView::vectorTips() const {
  return {m_vectors[0]->end->coords(), m_vectors[1]->end->coords()};
}

void TeachGeometryView::setAnimationDuration(int milliseconds) { m_duration = std::max(0, milliseconds); }

bool TeachGeometryView::isAnimating() const { return m_anim->state() == QAbstractAnimation::Running; }

void TeachGeometryView::playAll() {
  m_playTo = stepCount() - 1;
  if (currentStep() == 0) {
    setStep(1);
  } else {
    setStep(0);
    setStep(1);
  }
}

void TeachGeometryView::applyStep(int step) {
  m_anim->stop();
  if (m_duration > 0 && step > 0) {
    m_t = 0.0;
    m_anim->setDuration(m_duration);
    m_anim->start();
  } else {
    m_t = 1.0;
  }
  redraw();
  if (m_duration == 0) {
    if (m_playTo > step)
      setStep(step + 1);
    else
      m_playTo = -1;
  }
}

void TeachGeometryView::applyPresenterMode(bool) {
  m_reference->setPen(QPen(QColor(150, 150, 150), lineWidth(1.0), Qt::DotLine));
  m_target->setPen(QPen(kShapeColour.lighter(140), lineWidth(1.2), Qt::DashLine));
  m_shape->setPen(QPen(kShapeColour, lineWidth(2.0)));
  m_handles->setScatterStyle(
      QCPScatterStyle(QCPScatterStyle::ssDisc, kHandleColour, kHandleColour, lineWidth(9)));
  for (size_t i = 0; i < 2; ++i) m_vectors[i]->setPen(QPen(i == 0 ? kV1Colour : kV2Colour, lineWidth(2.0)));
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void TeachGeometryView::resizeEvent(QResizeEvent* event) {
  TeachChapter::resizeEvent(event);
  keepAspect();
}

void TeachGeometryView::onEntryChanged() {
  if (m_syncing) return;
  setMatrix(m_entries[0]->value(), m_entries[1]->value(), m_entries[2]->value(), m_entries[3]->value());
}

void TeachGeometryView::redraw() {
  const Mat m = displayedMatrix();
  const Mat a = m_a;
  QVector<double> t, x, y, tx, ty, ux, uy;
  for (int i = 0; i < kCirclePoints; ++i) {
    const double angle = 2.0 * kPi * i / (kCirclePoints - 1);
    const double cx = std::cos(angle), cy = std::sin(angle);
    const QPointF p = apply(m, cx, cy);
    const QPointF q = apply(a, cx, cy);
    t.append(i);
    x.append(p.x());
    y.append(p.y());
    tx.append(q.x());
    ty.append(q.y());
    ux.append(cx);
    uy.append(cy);
  }
  m_shape->setData(t, x, y, true);
  m_target->setData(t, tx, ty, true);
  m_reference->setData(t, ux, uy, true);
  m_target->setVisible(currentStep() < 3 || m_t < 1.0);
  m_handles->setData(QVector<double>{a[0], a[1]}, QVector<double>{a[2], a[3]});
  const auto v1 = m_svd.v1(), v2 = m_svd.v2();
  const std::array<QPointF, 2> tips = {apply(m, v1[0], v1[1]), apply(m, v2[0], v2[1])};
  const bool final = currentStep() == 3 && m_t >= 1.0;
  const std::array<QString, 2> labels = {final                ? QStringLiteral("s\u2081u\u2081")
                                         : currentStep() == 0 ? QStringLiteral("v\u2081")
                                                              : QStringLiteral("v\u2081 \u2192"),
                                         final                ? QStringLiteral("s\u2082u\u2082")
                                         : currentStep() == 0 ? QStringLiteral("v\u2082")
                                                              : QStringLiteral("v\u2082 \u2192")};
  for (size_t i = 0; i < 2; ++i) {
    m_vectors[i]->end->setCoords(tips[i]);
    m_vectorLabels[i]->position->setCoords(tips[i]);
    m_vectorLabels[i]->setText(labels[i]);
  }
  m_stage->setText(QStringLiteral("<b>%1</b>").arg(stepCaption(currentStep()).toHtmlEscaped()));
  const double det = a[0] * a[3] - a[1] * a[2];
  m_info->setText(
      tr("<p>A = [%1, %2; %3, %4]<br>det A = %5 = %6 s\u2081 s\u2082</p>"
         "<p><b>s\u2081 = %7</b> (longest semi-axis)<br><b>s\u2082 = %8</b> (shortest)<br>"
         "V\u1d40 rotates by %9<br>U rotates by %10%11</p>")
          .arg(a[0], 0, 'f', 2)
          .arg(a[1], 0, 'f', 2)
          .arg(a[2], 0, 'f', 2)
          .arg(a[3], 0, 'f', 2)
          .arg(det, 0, 'f', 3)
          .arg(m_svd.flip < 0 ? QStringLiteral("\u2212") : QString())
          .arg(m_svd.s1, 0, 'f', 3)
          .arg(m_svd.s2, 0, 'f', 3)
          .arg(deg(m_svd.theta), deg(m_svd.phi), m_svd.flip < 0 ? tr(", then reflects") : QString()));
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void TeachGeometryView::updateRange() {
  const double reach = std::max({1.0, m_svd.s1, std::hypot(m_a[0], m_a[2]), std::hypot(m_a[1], m_a[3])});
  const double half = 1.2 * reach;
  m_plot->xAxis->setRange(-half, half);
  m_plot->yAxis->setRange(-half, half);
  keepAspect();
}

void TeachGeometryView::keepAspect() {
  // Circles must look round: the longer axis widens to the shorter one's scale.
  const QRect r = m_plot->axisRect()->rect();
  if (r.width() <= 0 || r.height() <= 0) return;
  if (r.width() >= r.height())
    m_plot->xAxis->setScaleRatio(m_plot->yAxis, 1.0);
  else
    m_plot->yAxis->setScaleRatio(m_plot->xAxis, 1.0);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void TeachGeometryView::onPress(QMouseEvent* event) {
  const QPointF pos = event->position();
  double best = kGrabPixels;
  for (int column = 0; column < 2; ++column) {
    const double px = m_plot->xAxis->coordToPixel(m_a[size_t(column)]);
    const double py = m_plot->yAxis->coordToPixel(m_a[size_t(2 + column)]);
    const double distance = std::hypot(px - pos.x(), py - pos.y());
    if (distance < best) {
      best = distance;
      m_drag = column;
    }
  }
}

void TeachGeometryView::onMove(QMouseEvent* event) {
  if (m_drag < 0) return;
  const double x = std::clamp(m_plot->xAxis->pixelToCoord(event->position().x()), -3.0, 3.0);
  const double y = std::clamp(m_plot->yAxis->pixelToCoord(event->position().y()), -3.0, 3.0);
  Mat a = m_a;
  a[size_t(m_drag)] = x;
  a[size_t(2 + m_drag)] = y;
  setMatrix(a[0], a[1], a[2], a[3]);
}

void TeachGeometryView::onRelease(QMouseEvent*) {
  if (m_drag < 0) return;
  m_drag = -1;
  updateRange();
}

}  // namespace ranklab::widgets
