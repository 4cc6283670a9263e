#include "widgets/teach_image_view.h"

#include <qcustomplot.h>

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "widgets/placeholder_stack.h"
#include "widgets/plot_theme.h"

namespace ranklab::widgets {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const QColor kSpectrumColour(78, 121, 167);
const QColor kCutColour(225, 87, 89);
const QColor kPointColour(242, 142, 43);

QCPAxisRect* imageRect(QCustomPlot* plot, int column, const QString& title) {
  auto* rect = new QCPAxisRect(plot);
  for (QCPAxis* axis : rect->axes()) {
    axis->setTicks(false);
    axis->setTickLabels(false);
    axis->grid()->setVisible(false);
  }
  rect->axis(QCPAxis::atLeft)->setRangeReversed(true);
  plot->plotLayout()->addElement(0, column, new QCPTextElement(plot, title));
  plot->plotLayout()->addElement(1, column, rect);
  return rect;
}

QCPColorMap* imageMap(QCPAxisRect* rect) {
  auto* map = new QCPColorMap(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
  map->setInterpolate(false);
  return map;
}

QString count(int64_t n) { return QLocale().toString(qlonglong(n)); }

}  // namespace

TeachImageView::TeachImageView(QWidget* parent) : TeachChapter(parent) {
  m_images = new QCustomPlot(this);
  m_images->setObjectName(QStringLiteral("imagePlot"));
  m_images->plotLayout()->clear();
  m_original = imageMap(imageRect(m_images, 0, tr("original A")));
  m_approx = imageMap(imageRect(m_images, 1, tr("rank-k approximation A\u2096")));
  m_error = imageMap(imageRect(m_images, 2, tr("error A \u2212 A\u2096 (blue \u2212, red +)")));
  for (QCPColorMap* map : {m_original, m_approx}) {
    map->setGradient(QCPColorGradient::gpGrayscale);
    map->setDataRange(QCPRange(0.0, 1.0));
  }
  m_error->setGradient(
      colorGradient({{0.0, QColor(33, 102, 172)}, {0.5, QColor(247, 247, 247)}, {1.0, QColor(178, 24, 43)}}));
  m_images->plotLayout()->setRowStretchFactor(0, 0.01);
  // Square pixels: after each layout the value axes widen to the key axes' scale.
  connect(m_images, &QCustomPlot::afterLayout, this, [this] {
    for (QCPColorMap* map : {m_original, m_approx, m_error}) {
      const QRect r = map->keyAxis()->axisRect()->rect();
      if (r.width() > 0 && r.height() > 0 && hasImage()) map->valueAxis()->setScaleRatio(map->keyAxis(), 1.0);
    }
  });

  m_curves = new QCustomPlot(this);
  m_curves->setObjectName(QStringLiteral("imageSpectrumPlot"));
  m_curves->plotLayout()->clear();
  auto* specRect = new QCPAxisRect(m_curves);
  auto* energyRect = new QCPAxisRect(m_curves);
  m_curves->plotLayout()->addElement(0, 0, specRect);
  m_curves->plotLayout()->addElement(0, 1, energyRect);
  QCPAxis* sx = specRect->axis(QCPAxis::atBottom);
  QCPAxis* sy = specRect->axis(QCPAxis::atLeft);
  sx->setLabel(tr("index i"));
  sy->setLabel(tr("singular value s\u1d62"));
  sy->setScaleType(QCPAxis::stLogarithmic);
  sy->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  m_spectrum = m_curves->addGraph(sx, sy);
  m_spectrum->setName(tr("spectrum"));
  m_cut = new QCPItemStraightLine(m_curves);
  m_cut->setClipAxisRect(specRect);
  m_cut->point1->setAxes(sx, sy);
  m_cut->point2->setAxes(sx, sy);
  QCPAxis* ex = energyRect->axis(QCPAxis::atBottom);
  QCPAxis* ey = energyRect->axis(QCPAxis::atLeft);
  ex->setLabel(tr("rank k"));
  ey->setLabel(tr("discarded energy"));
  ey->setScaleType(QCPAxis::stLogarithmic);
  ey->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  ey->setNumberFormat(QStringLiteral("eb"));
  ey->setNumberPrecision(0);
  m_discardedCurve = m_curves->addGraph(ex, ey);
  // The same notation as the explanation beside it: singular values counted from 1, the first k kept.
  m_discardedCurve->setName(tr("(\u03a3 s\u1d62\u00b2, i > k) / \u03a3 s\u1d62\u00b2 (spectrum)"));
  m_measuredPoint = m_curves->addGraph(ex, ey);
  m_measuredPoint->setName(tr("\u2016A \u2212 A\u2096\u2016\u00b2 / \u2016A\u2016\u00b2 (pixels)"));
  m_measuredPoint->setLineStyle(QCPGraph::lsNone);
  m_energyCut = new QCPItemStraightLine(m_curves);
  m_energyCut->setClipAxisRect(energyRect);
  m_energyCut->point1->setAxes(ex, ey);
  m_energyCut->point2->setAxes(ex, ey);
  auto* legend = new QCPLegend;
  energyRect->insetLayout()->addElement(legend, Qt::AlignTop | Qt::AlignRight);
  legend->setLayer(QStringLiteral("legend"));
  legend->addItem(new QCPPlottableLegendItem(legend, m_discardedCurve));
  legend->addItem(new QCPPlottableLegendItem(legend, m_measuredPoint));

  m_slider = new QSlider(Qt::Horizontal, this);
  m_slider->setObjectName(QStringLiteral("rankSlider"));
  m_slider->setRange(1, 1);
  m_spin = new QSpinBox(this);
  m_spin->setObjectName(QStringLiteral("rankSpin"));
  m_spin->setRange(1, 1);
  connect(m_slider, &QSlider::valueChanged, this, &TeachImageView::setRank);
  connect(m_spin, &QSpinBox::valueChanged, this, &TeachImageView::setRank);
  m_numbers = new QLabel(this);
  m_numbers->setObjectName(QStringLiteral("imageNumbers"));
  m_numbers->setTextFormat(Qt::RichText);
  m_numbers->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_numbers->setWordWrap(true);
  m_caption = new QLabel(this);
  m_caption->setObjectName(QStringLiteral("imageSource"));
  m_caption->setWordWrap(true);

  auto* content = new QWidget(this);
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("rank k"), content));
  controls->addWidget(m_slider, 1);
  controls->addWidget(m_spin);
  auto* layout = new QVBoxLayout(content);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_images, 3);
  layout->addLayout(controls);
  layout->addWidget(m_numbers);
  layout->addWidget(m_curves, 2);
  layout->addWidget(m_caption);
  m_stack = new PlaceholderStack(content, QStringLiteral("imagePlaceholder"), this);
  m_stack->showPlaceholder(tr("Loading the image and its SVD\u2026"));
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  outer->addWidget(m_stack);
  applyPresenterMode(false);
}

QString TeachImageView::title() const { return tr("2. Rank-k approximation of an image"); }

QString TeachImageView::explanation() const {
  return tr(
      "<p>A grayscale image is a matrix A (M &times; N). Its SVD writes it as a sum of rank-1 "
      "layers s<sub>i</sub> u<sub>i</sub> v<sub>i</sub><sup>T</sup>, strongest first. Keeping the first "
      "k gives A<sub>k</sub>.</p>"
      "<p><b>Eckart&ndash;Young:</b> no rank-k matrix is closer to A, and the error is exactly what "
      "was dropped: &#8214;A &minus; A<sub>k</sub>&#8214;<sub>F</sub><sup>2</sup> = "
      "&Sigma;<sub>i&gt;k</sub> s<sub>i</sub><sup>2</sup>. The two numbers below are computed "
      "independently, one from the pixels and one from the spectrum, and agree.</p>"
      "<p>A<sub>k</sub> is stored as k(M + N) numbers instead of M N: a saving only while "
      "k &lt; M N / (M + N).</p>");
}

QString TeachImageView::notes() const {
  return tr(
      "<ul><li>Arrow keys step through k = 1, 5, 20, 50 and full rank; or drag the slider.</li>"
      "<li>k = 1: one outer product, only broad light and dark bands.</li>"
      "<li>Point at the two error numbers: pixels and spectrum agree to many digits.</li>"
      "<li>The spectrum falls fast at first, then slowly: most of the energy is in a few "
      "components, but the fine detail (the flag, the emblem) lives in the long tail.</li>"
      "<li>Storage: past k = M N / (M + N) (128 here) the factors cost more than the image.</li></ul>");
}

std::vector<int> TeachImageView::presetRanks() const {
  std::vector<int> ranks;
  for (int k : {1, 5, 20, 50}) {
    if (k < maxRank()) ranks.push_back(k);
  }
  ranks.push_back(std::max(1, maxRank()));
  return ranks;
}

int TeachImageView::stepCount() const { return int(presetRanks().size()); }

QString TeachImageView::stepCaption(int step) const {
  // The current step shows the rank on screen, also when the slider has moved it off the preset.
  const auto ranks = presetRanks();
  const int k = step == currentStep() && hasImage()
                    ? m_rank
                    : ranks[size_t(std::clamp(step, 0, int(ranks.size()) - 1))];
  return tr("rank k = %1").arg(k);
}

void TeachImageView::setImage(const std::vector<float>& pixels, const api::MatrixSvd& svd,
                              const QString& source) {
  const int64_t k = std::min(svd.rows, svd.cols);
  if (svd.rows <= 0 || svd.cols <= 0 || int64_t(pixels.size()) != svd.rows * svd.cols ||
      int64_t(svd.s.size()) != k || int64_t(svd.u.size()) != svd.rows * k ||
      int64_t(svd.vt.size()) != k * svd.cols) {
    showProblem(tr("The image and its SVD do not match in size (%1 pixels, %2 x %3)")
                    .arg(pixels.size())
                    .arg(svd.rows)
                    .arg(svd.cols));
    return;
  }
  m_pixels = pixels;
  m_svd = svd;
  m_source = source;
  m_totalEnergy = 0.0;
  for (float s : svd.s) m_totalEnergy += double(s) * double(s);
  const int rows = int(svd.rows), cols = int(svd.cols);
  for (QCPColorMap* map : {m_original, m_approx, m_error}) {
    map->data()->setSize(cols, rows);
    map->data()->setRange(QCPRange(0, cols - 1), QCPRange(0, rows - 1));
    map->keyAxis()->setRange(-0.5, cols - 0.5);
    map->valueAxis()->setRange(-0.5, rows - 0.5);
  }
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      m_original->data()->setCell(c, r, pixels[size_t(r) * size_t(cols) + size_t(c)]);
  QVector<double> index, values, ks, discarded;
  double tail = m_totalEnergy;
  for (size_t i = 0; i < svd.s.size(); ++i) {
    index.append(double(i));
    values.append(svd.s[i] > 0.0f ? double(svd.s[i]) : kNaN);
    tail -= double(svd.s[i]) * double(svd.s[i]);
    ks.append(double(i + 1));
    // Full rank discards nothing: no point on a log axis.
    const double fraction = m_totalEnergy > 0.0 ? std::max(0.0, tail) / m_totalEnergy : 0.0;
    discarded.append(fraction > 0.0 ? fraction : kNaN);
  }
  m_spectrum->setData(index, values, true);
  m_spectrum->rescaleAxes();
  m_discardedCurve->setData(ks, discarded, true);
  m_discardedCurve->keyAxis()->setRange(0.0, double(k) + 1.0);
  m_discardedCurve->rescaleValueAxis();
  // The last few fractions are rounding noise (1e-14); a teaching plot stops at one in a million.
  QCPAxis* fractionAxis = m_discardedCurve->valueAxis();
  fractionAxis->setRange(std::max(1e-6, fractionAxis->range().lower),
                         std::max(1.0, fractionAxis->range().upper));
  m_caption->setText(source);
  m_slider->setRange(1, int(k));
  m_spin->setRange(1, int(k));
  m_stack->showContent();
  m_rank = 0;
  setRank(presetRanks()[size_t(std::clamp(currentStep(), 0, stepCount() - 1))]);
}

void TeachImageView::showProblem(const QString& message) {
  m_pixels.clear();
  m_stack->showPlaceholder(message);
}

void TeachImageView::setRank(int k) {
  if (!hasImage()) return;
  k = std::clamp(k, 1, maxRank());
  if (k == m_rank) return;
  m_rank = k;
  m_slider->setValue(k);
  m_spin->setValue(k);
  recompute();
}

double TeachImageView::reconstructionAt(int row, int col) const {
  if (!hasImage() || row < 0 || col < 0 || row >= m_svd.rows || col >= m_svd.cols) return kNaN;
  return m_reconstruction[size_t(row) * size_t(m_svd.cols) + size_t(col)];
}

double TeachImageView::errorAt(int row, int col) const {
  const double r = reconstructionAt(row, col);
  return std::isnan(r) ? kNaN : double(m_pixels[size_t(row) * size_t(m_svd.cols) + size_t(col)]) - r;
}

void TeachImageView::recompute() {
  const size_t rows = size_t(m_svd.rows), cols = size_t(m_svd.cols), full = m_svd.s.size();
  m_reconstruction.assign(rows * cols, 0.0);
  std::vector<double> scaled(cols);
  for (size_t i = 0; i < size_t(m_rank); ++i) {
    for (size_t c = 0; c < cols; ++c) scaled[c] = double(m_svd.s[i]) * double(m_svd.vt[i * cols + c]);
    for (size_t r = 0; r < rows; ++r) {
      const double u = m_svd.u[r * full + i];
      double* out = &m_reconstruction[r * cols];
      for (size_t c = 0; c < cols; ++c) out[c] += u * scaled[c];
    }
  }
  double errorEnergy = 0.0, imageEnergy = 0.0, largest = 0.0;
  for (size_t j = 0; j < rows * cols; ++j) {
    const double e = double(m_pixels[j]) - m_reconstruction[j];
    errorEnergy += e * e;
    imageEnergy += double(m_pixels[j]) * double(m_pixels[j]);
    largest = std::max(largest, std::abs(e));
  }
  m_measured = imageEnergy > 0.0 ? errorEnergy / imageEnergy : 0.0;
  double kept = 0.0;
  for (size_t i = 0; i < size_t(m_rank); ++i) kept += double(m_svd.s[i]) * double(m_svd.s[i]);
  m_discarded = m_totalEnergy > 0.0 ? std::max(0.0, m_totalEnergy - kept) / m_totalEnergy : 0.0;

  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const double v = m_reconstruction[r * cols + c];
      m_approx->data()->setCell(int(c), int(r), v);
      m_error->data()->setCell(int(c), int(r), double(m_pixels[r * cols + c]) - v);
    }
  }
  const double span = std::max(largest, 1e-6);
  m_error->setDataRange(QCPRange(-span, span));
  m_cut->point1->setCoords(m_rank - 0.5, 1.0);
  m_cut->point2->setCoords(m_rank - 0.5, 2.0);
  m_energyCut->point1->setCoords(m_rank, 0.1);
  m_energyCut->point2->setCoords(m_rank, 1.0);
  m_measuredPoint->setData(QVector<double>{double(m_rank)}, QVector<double>{m_measured});
  m_numbers->setText(numbersText());
  emit captionChanged();
  m_images->replot(QCustomPlot::rpQueuedReplot);
  m_curves->replot(QCustomPlot::rpQueuedReplot);
}

QString TeachImageView::numbersText() const {
  if (!hasImage()) return {};
  const double ratio = double(storedValues()) / double(denseValues());
  return tr("<table cellspacing='4'>"
            "<tr><td>from the pixels: &#8214;A &minus; A<sub>k</sub>&#8214;\u00b2 / &#8214;A&#8214;\u00b2 = "
            "<b>%3</b></td>"
            "<td>from the spectrum: &Sigma;<sub>i&gt;k</sub> s<sub>i</sub>\u00b2 / &Sigma; "
            "s<sub>i</sub>\u00b2 = <b>%4</b></td></tr>"
            "<tr><td>rank k = <b>%1</b> of %2, energy kept <b>%5%</b>, relative error <b>%6</b></td>"
            "<td>storage k(M + N) = %7 vs M N = %8 (<b>%9%</b>)</td></tr></table>")
      .arg(m_rank)
      .arg(maxRank())
      .arg(m_measured, 0, 'f', 8)
      .arg(m_discarded, 0, 'f', 8)
      .arg(100.0 * energyKept(), 0, 'f', 2)
      .arg(std::sqrt(m_measured), 0, 'f', 4)
      .arg(count(storedValues()), count(denseValues()))
      .arg(100.0 * ratio, 0, 'f', 1);
}

void TeachImageView::applyStep(int step) {
  const auto ranks = presetRanks();
  setRank(ranks[size_t(std::clamp(step, 0, int(ranks.size()) - 1))]);
}

void TeachImageView::applyPresenterMode(bool) {
  m_spectrum->setPen(QPen(kSpectrumColour, lineWidth(1.6)));
  m_discardedCurve->setPen(QPen(kSpectrumColour, lineWidth(1.6)));
  m_measuredPoint->setScatterStyle(
      QCPScatterStyle(QCPScatterStyle::ssDisc, kPointColour, kPointColour, lineWidth(8)));
  m_cut->setPen(QPen(kCutColour, lineWidth(1.5)));
  m_energyCut->setPen(QPen(kCutColour, lineWidth(1.5)));
  m_curves->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace ranklab::widgets
