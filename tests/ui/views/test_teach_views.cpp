// The teaching mode's views on hand-built data: the geometry chapter (closed-form 2 x 2 SVD, the
// circle taken through V^T, S and U), the image chapter on a matrix with a known SVD, the layer,
// model, live and replay chapters, and the window (keyboard navigation, presenter mode, notes, state
// kept across chapters). The tests read the data the views draw (curve points, cells, numbers, pen
// widths, palette), never pixels.
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QComboBox>
#include <QDeadlineTimer>
#include <QDoubleSpinBox>
#include <QGuiApplication>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>
#include <QTextBrowser>
#include <cmath>
#include <functional>
#include <random>

#include "widgets/mask_evolution_view.h"
#include "widgets/teach_geometry_view.h"
#include "widgets/teach_image_view.h"
#include "widgets/teach_layer_view.h"
#include "widgets/teach_live_view.h"
#include "widgets/teach_model_view.h"
#include "widgets/teach_replay_view.h"
#include "widgets/teach_svd2.h"
#include "widgets/teach_window.h"

using ranklab::widgets::Svd2;
using ranklab::widgets::TeachGeometryView;
using ranklab::widgets::TeachImageView;
using ranklab::widgets::TeachLayerView;
using ranklab::widgets::TeachLiveView;
using ranklab::widgets::TeachModelView;
using ranklab::widgets::TeachReplayView;
namespace api = ranklab::api;
using ranklab::widgets::TeachWindow;

namespace {

// Closed-form SVD and drawn coordinates in double; metric: absolute error per entry.
constexpr double kTight = 1e-9;

bool waitFor(const std::function<bool()>& done, int ms) {
  QDeadlineTimer deadline(ms);
  while (!done() && !deadline.hasExpired()) QTest::qWait(5);
  return done();
}

std::array<double, 4> reconstruct(const Svd2& s) {
  // U diag(s) V^T with V^T = R(theta), U = R(phi) diag(1, flip).
  const double ct = std::cos(s.theta), st = std::sin(s.theta), cp = std::cos(s.phi), sp = std::sin(s.phi);
  const std::array<double, 4> vt{ct, -st, st, ct};
  const std::array<double, 4> u{cp, -sp * s.flip, sp, cp * s.flip};
  const std::array<double, 4> us{u[0] * s.s1, u[1] * s.s2, u[2] * s.s1, u[3] * s.s2};
  return {us[0] * vt[0] + us[1] * vt[2], us[0] * vt[1] + us[1] * vt[3], us[2] * vt[0] + us[3] * vt[2],
          us[2] * vt[1] + us[3] * vt[3]};
}

// A small image with a known SVD: rows x cols, singular values 4, 2, 1, 0.5, ... (orthonormal
// factors from Gram-Schmidt on seeded random vectors).
struct KnownImage {
  std::vector<float> pixels;
  ranklab::api::MatrixSvd svd;
};

std::vector<std::vector<double>> orthonormal(int n, int k, std::mt19937& rng) {
  std::normal_distribution<double> normal;
  std::vector<std::vector<double>> q;
  while (int(q.size()) < k) {
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = normal(rng);
    for (const auto& p : q) {
      double dot = 0.0;
      for (int i = 0; i < n; ++i) dot += v[size_t(i)] * p[size_t(i)];
      for (int i = 0; i < n; ++i) v[size_t(i)] -= dot * p[size_t(i)];
    }
    double norm = 0.0;
    for (double x : v) norm += x * x;
    norm = std::sqrt(norm);
    for (double& x : v) x /= norm;
    q.push_back(v);
  }
  return q;
}

KnownImage knownImage(int rows, int cols) {
  std::mt19937 rng(7);
  const int k = std::min(rows, cols);
  const auto u = orthonormal(rows, k, rng), v = orthonormal(cols, k, rng);
  KnownImage image;
  image.svd.rows = rows;
  image.svd.cols = cols;
  for (int i = 0; i < k; ++i) image.svd.s.push_back(float(4.0 / std::pow(2.0, i)));
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < k; ++i) image.svd.u.push_back(float(u[size_t(i)][size_t(r)]));
  for (int i = 0; i < k; ++i)
    for (int c = 0; c < cols; ++c) image.svd.vt.push_back(float(v[size_t(i)][size_t(c)]));
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      double a = 0.0;
      for (int i = 0; i < k; ++i)
        a += double(image.svd.u[size_t(r * k + i)]) * double(image.svd.s[size_t(i)]) *
             double(image.svd.vt[size_t(i * cols + c)]);
      image.pixels.push_back(float(a));
    }
  }
  return image;
}

}  // namespace

TEST(TeachSvd2, ReconstructsTheMatrixWithOrderedNonNegativeSingularValues) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> entry(-3.0, 3.0);
  int reflections = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const std::array<double, 4> a{entry(rng), entry(rng), entry(rng), entry(rng)};
    const Svd2 s = ranklab::widgets::svd2(a[0], a[1], a[2], a[3]);
    EXPECT_GE(s.s1, s.s2);
    EXPECT_GE(s.s2, 0.0);
    const auto back = reconstruct(s);
    for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(back[i], a[i], kTight) << "trial " << trial;
    EXPECT_NEAR(s.s1 * s.s2, std::abs(a[0] * a[3] - a[1] * a[2]), kTight);
    reflections += s.flip < 0;
  }
  EXPECT_GT(reflections, 0);  // det < 0 was exercised
}

TEST(TeachGeometryView, StepsTakeTheCircleThroughVtSAndU) {
  TeachGeometryView view;
  view.setAnimationDuration(0);
  view.setMatrix(1.5, 0.4, -0.7, -0.9);  // det < 0: U reflects
  const Svd2 s = view.svd();
  ASSERT_LT(s.flip, 0.0);
  auto radii = [&] {
    std::vector<double> r;
    for (const QPointF& p : view.shapePoints()) r.push_back(std::hypot(p.x(), p.y()));
    return r;
  };
  // Step 0: the unit circle, vectors v1 and v2.
  for (double r : radii()) EXPECT_NEAR(r, 1.0, kTight);
  const auto v1 = s.v1(), v2 = s.v2();
  EXPECT_NEAR(view.vectorTips()[0].x(), v1[0], kTight);
  EXPECT_NEAR(view.vectorTips()[1].y(), v2[1], kTight);
  // Step 1: V^T rotates, the circle stays a circle and v1, v2 land on the axes.
  view.setStep(1);
  for (double r : radii()) EXPECT_NEAR(r, 1.0, kTight);
  EXPECT_NEAR(view.vectorTips()[0].x(), 1.0, kTight);
  EXPECT_NEAR(view.vectorTips()[0].y(), 0.0, kTight);
  EXPECT_NEAR(view.vectorTips()[1].x(), 0.0, kTight);
  EXPECT_NEAR(view.vectorTips()[1].y(), 1.0, kTight);
  // Step 2: S stretches along the axes.
  view.setStep(2);
  EXPECT_NEAR(view.vectorTips()[0].x(), s.s1, kTight);
  EXPECT_NEAR(view.vectorTips()[1].y(), s.s2, kTight);
  // Step 3: U gives A x; the drawn vectors are the ellipse's semi-axes s1 u1, s2 u2.
  view.setStep(3);
  const auto a = view.matrix();
  const auto shape = view.shapePoints();
  ASSERT_GT(shape.size(), 100);
  for (int i = 0; i < shape.size(); ++i) {
    const double t = 2.0 * M_PI * i / (shape.size() - 1);
    EXPECT_NEAR(shape[i].x(), a[0] * std::cos(t) + a[1] * std::sin(t), kTight);
    EXPECT_NEAR(shape[i].y(), a[2] * std::cos(t) + a[3] * std::sin(t), kTight);
  }
  const auto u1 = s.u1(), u2 = s.u2();
  EXPECT_NEAR(view.vectorTips()[0].x(), s.s1 * u1[0], kTight);
  EXPECT_NEAR(view.vectorTips()[0].y(), s.s1 * u1[1], kTight);
  EXPECT_NEAR(view.vectorTips()[1].x(), s.s2 * u2[0], kTight);
  EXPECT_NEAR(view.vectorTips()[1].y(), s.s2 * u2[1], kTight);
  // The longest radius of the sampled ellipse is s1 to within the sampling (metric: relative, 1e-3).
  const auto r = radii();
  EXPECT_NEAR(*std::max_element(r.begin(), r.end()), s.s1, 1e-3 * s.s1);
  EXPECT_NEAR(*std::min_element(r.begin(), r.end()), s.s2, 1e-3 * s.s1);
}

TEST(TeachGeometryView, SpinBoxesAndDraggingEditTheMatrix) {
  TeachGeometryView view;
  view.setAnimationDuration(0);
  view.resize(900, 600);
  view.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
  view.setStep(3);
  view.entryBox(1)->setValue(-1.0);  // a12
  EXPECT_DOUBLE_EQ(view.matrix()[1], -1.0);
  const Svd2 s = view.svd();
  const auto expected = ranklab::widgets::svd2(view.matrix()[0], -1.0, view.matrix()[2], view.matrix()[3]);
  EXPECT_DOUBLE_EQ(s.s1, expected.s1);
  EXPECT_TRUE(view.infoLabel()->text().contains(QString::number(s.s1, 'f', 3)));

  // Drag the handle A e1 (the first column) to another point.
  view.plot()->replot();
  QCPAxis* x = view.plot()->xAxis;
  QCPAxis* y = view.plot()->yAxis;
  const QPoint from(int(std::lround(x->coordToPixel(view.matrix()[0]))),
                    int(std::lround(y->coordToPixel(view.matrix()[2]))));
  const QPoint to(int(std::lround(x->coordToPixel(0.5))), int(std::lround(y->coordToPixel(1.5))));
  QTest::mousePress(view.plot(), Qt::LeftButton, Qt::NoModifier, from);
  QMouseEvent move(QEvent::MouseMove, QPointF(to), view.plot()->mapToGlobal(QPointF(to)), Qt::NoButton,
                   Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(view.plot(), &move);
  QTest::mouseRelease(view.plot(), Qt::LeftButton, Qt::NoModifier, to);
  // Metric: absolute, one pixel's worth of plot coordinates.
  const double pixel = x->range().size() / view.plot()->axisRect()->width();
  EXPECT_NEAR(view.matrix()[0], 0.5, 2 * pixel);
  EXPECT_NEAR(view.matrix()[2], 1.5, 2 * pixel);
  EXPECT_NEAR(view.entryBox(2)->value(), 1.5, 0.01);
}

TEST(TeachGeometryView, AnimatesIntoAStep) {
  TeachGeometryView view;
  view.setAnimationDuration(150);
  view.setStep(1);
  EXPECT_TRUE(view.isAnimating());
  ASSERT_TRUE(waitFor([&] { return !view.isAnimating(); }, 3000));
  const auto m = view.displayedMatrix();
  EXPECT_NEAR(m[0], std::cos(view.svd().theta), kTight);
  EXPECT_NEAR(m[2], std::sin(view.svd().theta), kTight);
  // Play all steps ends on A.
  view.playAll();
  ASSERT_TRUE(waitFor([&] { return view.currentStep() == 3 && !view.isAnimating(); }, 5000));
  const auto a = view.matrix(), d = view.displayedMatrix();
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(d[i], a[i], kTight);
}

TEST(TeachWindow, ArrowKeysWalkStepsThenChaptersAndStateIsKept) {
  TeachWindow window;
  auto* geometry = new TeachGeometryView;
  geometry->setAnimationDuration(0);
  auto* image = new TeachImageView;
  window.addChapter(geometry);
  window.addChapter(image);
  const KnownImage known = knownImage(12, 9);
  image->setImage(known.pixels, known.svd, QStringLiteral("known"));
  window.resize(1200, 800);
  window.show();
  window.activateWindow();
  ASSERT_TRUE(QTest::qWaitForWindowActive(&window));
  EXPECT_EQ(window.currentChapter(), 0);
  EXPECT_TRUE(window.explanationText().contains(QStringLiteral("ellipse")));
  for (int step = 1; step <= 3; ++step) {
    QTest::keyClick(&window, Qt::Key_Right);
    EXPECT_EQ(geometry->currentStep(), step);
  }
  EXPECT_TRUE(window.stepText().startsWith(QStringLiteral("Step 4 of 4")));
  QTest::keyClick(&window, Qt::Key_Right);  // past the last step: the next chapter
  EXPECT_EQ(window.currentChapter(), 1);
  EXPECT_EQ(image->currentStep(), 0);
  EXPECT_EQ(image->rank(), 1);
  QTest::keyClick(&window, Qt::Key_Right);
  EXPECT_EQ(image->rank(), 5);
  image->setRank(7);
  QTest::keyClick(&window, Qt::Key_Up);  // previous chapter, state kept on both
  EXPECT_EQ(window.currentChapter(), 0);
  EXPECT_EQ(geometry->currentStep(), 3);
  QTest::keyClick(&window, Qt::Key_Down);
  EXPECT_EQ(window.currentChapter(), 1);
  EXPECT_EQ(image->rank(), 7);
  QTest::keyClick(&window, Qt::Key_Left);
  EXPECT_EQ(image->currentStep(), 0);
  QTest::keyClick(&window, Qt::Key_Left);  // before the first step: the previous chapter
  EXPECT_EQ(window.currentChapter(), 0);
  QTest::keyClick(&window, Qt::Key_2);
  EXPECT_EQ(window.currentChapter(), 1);
}

TEST(TeachWindow, PresenterModeIsFullScreenLargeHighContrastAndThick) {
  TeachWindow window;
  auto* geometry = new TeachGeometryView;
  window.addChapter(geometry);
  window.resize(1200, 800);
  window.show();
  window.activateWindow();
  ASSERT_TRUE(QTest::qWaitForWindowActive(&window));
  const double normalPoint = window.font().pointSizeF();
  QCPAxis* axis = geometry->plot()->xAxis;
  const double normalTick = axis->tickLabelFont().pointSizeF();
  QCPCurve* shape = nullptr;
  for (int i = 0; i < geometry->plot()->plottableCount(); ++i)
    if (geometry->plot()->plottable(i)->name() == QStringLiteral("the circle now"))
      shape = qobject_cast<QCPCurve*>(geometry->plot()->plottable(i));
  ASSERT_NE(shape, nullptr);
  const double normalPen = shape->pen().widthF();

  QTest::keyClick(&window, Qt::Key_F5);
  ASSERT_TRUE(window.presenterMode());
  EXPECT_TRUE(window.isFullScreen());
  EXPECT_TRUE(geometry->presenterMode());
  EXPECT_NEAR(window.font().pointSizeF(), normalPoint * TeachWindow::kPresenterFontScale, 0.01);
  EXPECT_NEAR(axis->tickLabelFont().pointSizeF(), normalTick * TeachWindow::kPresenterFontScale, 0.01);
  EXPECT_GT(shape->pen().widthF(), 2.0 * normalPen);
  EXPECT_EQ(window.palette().color(QPalette::Window), QColor(Qt::black));
  EXPECT_EQ(window.palette().color(QPalette::WindowText), QColor(Qt::white));
  EXPECT_EQ(geometry->plot()->axisRect()->backgroundBrush().color(), QColor(Qt::black));
  EXPECT_EQ(axis->tickLabelColor(), QColor(Qt::white));

  // One screen (offscreen has one): the notes must not be projected, so they hide; N shows them.
  ASSERT_EQ(QGuiApplication::screens().size(), 1);
  EXPECT_FALSE(window.notesVisible());
  EXPECT_FALSE(window.notesOnSeparateWindow());
  EXPECT_FALSE(window.notesText().isEmpty());
  QTest::keyClick(&window, Qt::Key_N);
  EXPECT_TRUE(window.notesVisible());

  QTest::keyClick(&window, Qt::Key_Escape);
  EXPECT_FALSE(window.presenterMode());
  EXPECT_FALSE(window.isFullScreen());
  EXPECT_NEAR(window.font().pointSizeF(), normalPoint, 0.01);
  EXPECT_NEAR(axis->tickLabelFont().pointSizeF(), normalTick, 0.01);
  EXPECT_DOUBLE_EQ(shape->pen().widthF(), normalPen);
  EXPECT_NE(window.palette().color(QPalette::Window), QColor(Qt::black));
  EXPECT_TRUE(window.notesVisible());  // as before presenter mode
}

TEST(TeachWindow, PresenterNotesGoToAWindowOfTheirOwn) {
  TeachWindow window;
  auto* geometry = new TeachGeometryView;
  auto* image = new TeachImageView;
  window.addChapter(geometry);
  window.addChapter(image);
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  window.setNotesOnSeparateWindow(true);
  ASSERT_TRUE(window.notesOnSeparateWindow());
  QWidget* notes = window.notesWindow();
  ASSERT_NE(notes, nullptr);
  EXPECT_TRUE(notes->isWindow());
  EXPECT_TRUE(notes->isVisible());
  EXPECT_FALSE(window.findChild<QTextBrowser*>(QStringLiteral("presenterNotes"))->isVisible());
  auto* browser = qobject_cast<QTextBrowser*>(notes);
  ASSERT_NE(browser, nullptr);
  EXPECT_EQ(browser->toPlainText(), window.notesText());
  window.setCurrentChapter(1);  // the notes follow the chapter
  EXPECT_EQ(browser->toPlainText(), window.notesText());
  EXPECT_TRUE(browser->toPlainText().size() > 0);
  QTest::keyClick(&window, Qt::Key_N);
  EXPECT_FALSE(notes->isVisible());
  window.setNotesOnSeparateWindow(false);
  EXPECT_FALSE(window.notesOnSeparateWindow());
}

TEST(TeachWindow, OpensAtAReadableSizeAndRemembersIt) {
  QSettings().remove(QStringLiteral("teachWindow/geometry"));
  const QRect screen = QGuiApplication::primaryScreen()->availableGeometry();
  const QSize expected = TeachWindow::defaultSize(screen);
  EXPECT_EQ(TeachWindow::defaultSize(QRect(0, 0, 1920, 1080)), QSize(1500, 920));
  EXPECT_EQ(TeachWindow::defaultSize(QRect(0, 0, 1280, 720)), QSize(1177, 662));
  {
    TeachWindow window;
    window.addChapter(new TeachGeometryView);
    window.addChapter(new TeachImageView);  // the longer chapter name
    window.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
    // The default size, unless the panels need more (the offscreen screen is small).
    EXPECT_EQ(window.size(), expected.expandedTo(window.minimumSizeHint()));
    // The explanation panel is wide enough for prose, the chapter list for the chapters' names.
    EXPECT_GE(window.findChild<QTextBrowser*>(QStringLiteral("explanation"))->width(), 260);
    auto* list = window.findChild<QListWidget*>(QStringLiteral("chapterList"));
    ASSERT_NE(list, nullptr);
    EXPECT_GE(list->viewport()->width(), list->sizeHintForColumn(0));
    window.resize(window.width(), window.height() - 60);
    window.close();
  }
  TeachWindow again;
  again.addChapter(new TeachGeometryView);
  again.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&again));
  EXPECT_EQ(again.height(), expected.expandedTo(again.minimumSizeHint()).height() - 60);
  QSettings().remove(QStringLiteral("teachWindow/geometry"));
}

TEST(TeachImageView, ErrorFromThePixelsEqualsTheDiscardedEnergy) {
  TeachImageView view;
  const KnownImage known = knownImage(24, 17);
  view.setImage(known.pixels, known.svd, QStringLiteral("known"));
  ASSERT_TRUE(view.hasImage());
  ASSERT_EQ(view.maxRank(), 17);
  double total = 0.0;
  for (float s : known.svd.s) total += double(s) * double(s);
  for (int k = 1; k <= view.maxRank(); ++k) {
    view.rankSlider()->setValue(k);
    ASSERT_EQ(view.rank(), k);
    double tail = 0.0;
    for (int i = k; i < view.maxRank(); ++i)
      tail += double(known.svd.s[size_t(i)]) * double(known.svd.s[size_t(i)]);
    // Metric: absolute difference of relative squared errors; float32 factors, tolerance 1e-6.
    EXPECT_NEAR(view.discardedEnergy(), tail / total, 1e-12) << "k " << k;
    EXPECT_NEAR(view.measuredErrorSquared(), view.discardedEnergy(), 1e-6) << "k " << k;
    EXPECT_EQ(view.storedValues(), int64_t(k) * (24 + 17));
  }
  EXPECT_EQ(view.denseValues(), 24 * 17);
  // Full rank reproduces the image; the error map is what is left (metric: absolute, 1e-5).
  EXPECT_NEAR(view.reconstructionAt(3, 5), known.pixels[3 * 17 + 5], 1e-5);
  view.setRank(1);
  EXPECT_NEAR(view.errorAt(3, 5), double(known.pixels[3 * 17 + 5]) - view.reconstructionAt(3, 5), 1e-12);
  EXPECT_GT(std::abs(view.errorAt(3, 5)), 1e-4);
  EXPECT_TRUE(view.numbersText().contains(QString::number(view.measuredErrorSquared(), 'f', 8)));
  // The steps walk preset ranks.
  view.setStep(1);
  EXPECT_EQ(view.rank(), 5);
  view.setStep(view.stepCount() - 1);
  EXPECT_EQ(view.rank(), 17);
}

TEST(TeachImageView, MismatchedInputIsReportedNotDrawn) {
  TeachImageView view;
  KnownImage known = knownImage(6, 5);
  known.pixels.pop_back();
  view.setImage(known.pixels, known.svd, QStringLiteral("broken"));
  EXPECT_FALSE(view.hasImage());
  view.setRank(3);
  EXPECT_TRUE(std::isnan(view.reconstructionAt(0, 0)));
}

namespace {

api::OpSpectra spectraOp(const std::string& name, int layer, int64_t in, int64_t out, double decay,
                         bool weighted) {
  api::OpSpectra op;
  op.op.name = name;
  op.op.layer = layer;
  op.op.kind = name.substr(name.rfind('.') + 1);
  op.op.inFeatures = in;
  op.op.outFeatures = out;
  for (int64_t i = 0; i < std::min(in, out); ++i) {
    op.plain.push_back(float(std::pow(decay, double(i))));
    if (weighted) {
      op.fisher.push_back(float(std::pow(decay + 0.05, double(i))));
      op.activation.push_back(float(std::pow(decay + 0.02, double(i))));
      op.whitened.push_back(float(std::pow(decay + 0.08, double(i))));
    }
  }
  return op;
}

double tailRoot(const std::vector<float>& s, int k) {
  double total = 0.0, tail = 0.0;
  for (size_t i = 0; i < s.size(); ++i) {
    total += double(s[i]) * double(s[i]);
    if (int(i) >= k) tail += double(s[i]) * double(s[i]);
  }
  return std::sqrt(tail / total);
}

}  // namespace

TEST(TeachLayerView, RankSliderGivesInstantProxiesFromTheSpectra) {
  TeachLayerView view;
  api::ModelSpectra spectra;
  spectra.ops = {spectraOp("layers.0.attn.q", 0, 32, 32, 0.8, false),
                 spectraOp("layers.0.mlp.up", 0, 32, 128, 0.6, false)};
  view.setSpectra(spectra);
  ASSERT_EQ(view.opCount(), 2);
  EXPECT_EQ(view.opBox()->count(), 2);
  EXPECT_EQ(view.weightedCurveCount(), 0);
  EXPECT_FALSE(view.hasWeightedSpectra());
  view.rankSlider()->setValue(10);
  EXPECT_EQ(view.rank(), 10);
  // Metric: absolute, 1e-9 (double sums over float spectra on both sides).
  EXPECT_NEAR(view.weightError(), tailRoot(spectra.ops[0].plain, 10), 1e-9);
  EXPECT_NEAR(view.energyKept(), 1.0 - std::pow(tailRoot(spectra.ops[0].plain, 10), 2), 1e-9);
  EXPECT_TRUE(std::isnan(view.whitenedError()));
  EXPECT_EQ(view.storedParams(), 10 * 64);
  const double before = view.weightError();
  view.rankSlider()->setValue(20);
  EXPECT_LT(view.weightError(), before);

  // The weighted spectra arrive: the right plot gets three curves, the proxies their numbers; the op
  // and the rank stay.
  spectra.ops = {spectraOp("layers.0.attn.q", 0, 32, 32, 0.8, true),
                 spectraOp("layers.0.mlp.up", 0, 32, 128, 0.6, true)};
  spectra.calibPath = "calib.txt";
  spectra.calibSamples = 8;
  spectra.calibTokens = 1024;
  view.setSpectra(spectra);
  EXPECT_EQ(view.rank(), 20);
  EXPECT_EQ(view.weightedCurveCount(), 3);
  EXPECT_NEAR(view.whitenedError(), tailRoot(spectra.ops[0].whitened, 20), 1e-9);
  EXPECT_NEAR(view.fisherError(), tailRoot(spectra.ops[0].fisher, 20), 1e-9);
  EXPECT_NEAR(view.activationError(), tailRoot(spectra.ops[0].activation, 20), 1e-9);
  EXPECT_TRUE(view.numbersText().contains(QStringLiteral("8 calibration windows")));
  // Another op: its spectrum in the plots.
  view.opBox()->setCurrentIndex(1);
  EXPECT_EQ(view.currentOp(), 1);
  EXPECT_EQ(view.plainPlot()->graph(0)->data()->size(), 32);
  EXPECT_NEAR(view.weightError(), tailRoot(spectra.ops[1].plain, view.rank()), 1e-9);
  EXPECT_EQ(view.storedParams(), int64_t(view.rank()) * 160);
}

namespace {

api::RunData pairRun(const std::string& selector, double perplexity, const std::vector<int64_t>& ranks) {
  api::RunData run;
  run.run.id = selector == "ars" ? 2 : 1;
  run.run.selector = selector;
  run.run.modelPath = "/models/gpt-mini";
  run.run.decomposition = "svd";
  run.run.keepTarget = 0.5;
  run.run.keptFraction = 0.49;
  run.run.metric = "perplexity";
  run.run.metricAfter = perplexity;
  const char* kinds[] = {"q", "up"};
  for (size_t i = 0; i < ranks.size(); ++i) {
    api::OpResult op;
    op.layer = int(i / 2);
    op.kind = kinds[i % 2];
    op.name = "layers." + std::to_string(op.layer) + "." + op.kind;
    op.fullRank = 64;
    op.rank = ranks[i];
    op.energyKept = 0.5 + 0.1 * double(i);
    run.ops.push_back(op);
  }
  return run;
}

}  // namespace

TEST(TeachModelView, HeatmapsShowBothRunsAndTheColourControlSwitchesTheMeasure) {
  TeachModelView view;
  QSignalSpy requested(&view, &TeachModelView::runPairRequested);
  EXPECT_EQ(view.pairCount(), 0);
  view.runButton()->click();
  EXPECT_EQ(requested.count(), 1);
  view.setPairs({{pairRun("uniform", 92.7, {32, 32, 32, 32}), pairRun("ars", 90.4, {16, 48, 40, 24})}});
  ASSERT_EQ(view.pairCount(), 1);
  EXPECT_EQ(view.heatmapKinds(), (QStringList{QStringLiteral("q"), QStringLiteral("up")}));
  EXPECT_EQ(view.layerCount(), 2);
  EXPECT_DOUBLE_EQ(view.cellValue(false, 1, QStringLiteral("up")), 0.5);
  EXPECT_DOUBLE_EQ(view.cellValue(true, 0, QStringLiteral("up")), 48.0 / 64.0);
  EXPECT_DOUBLE_EQ(view.perplexity(false), 92.7);
  EXPECT_DOUBLE_EQ(view.perplexity(true), 90.4);
  view.colourBox()->setCurrentIndex(1);
  EXPECT_EQ(view.currentStep(), 1);
  EXPECT_DOUBLE_EQ(view.cellValue(false, 1, QStringLiteral("up")), 0.8);
  EXPECT_TRUE(view.summaryText().contains(QStringLiteral("lower with ARS")));
  view.setBusy(true, QStringLiteral("working"));
  EXPECT_FALSE(view.runButton()->isEnabled());
}

TEST(TeachLiveView, LiveDataFeedsTheMaskViewAndTheEndIsTimed) {
  TeachLiveView view;
  QSignalSpy start(&view, &TeachLiveView::startRequested);
  view.startButton()->click();
  EXPECT_EQ(start.count(), 1);
  std::vector<api::OpResult> ops(2);
  ops[0].name = "a";
  ops[0].fullRank = 8;
  ops[1].name = "b";
  ops[1].fullRank = 8;
  view.jobStarted(ops, 0.5);
  EXPECT_TRUE(view.isRunning());
  EXPECT_DOUBLE_EQ(view.maskView()->targetBudget(), 0.5);  // the target p line on the curves
  EXPECT_FALSE(view.startButton()->isEnabled());
  view.appendFrames({{0, {8, 8}, {}}, {5, {6, 4}, {}}});
  view.appendSeries({{0, "budget", 1.5}, {5, "budget", 1.2}});
  EXPECT_EQ(view.maskView()->frameCount(), 2);
  EXPECT_EQ(view.maskView()->seriesPointCount(QStringLiteral("budget")), 2);
  EXPECT_DOUBLE_EQ(view.maskView()->heatmapValue(1, 1), 0.5);
  view.jobEnded(QStringLiteral("succeeded"), 12.5, QStringLiteral("done"));
  EXPECT_FALSE(view.isRunning());
  EXPECT_DOUBLE_EQ(view.lastSeconds(), 12.5);
  EXPECT_TRUE(view.startButton()->isEnabled());
}

TEST(TeachReplayView, LayerSharesFollowTheFramesAndTheCursorTheScrubber) {
  TeachReplayView view;
  QSignalSpy chosen(&view, &TeachReplayView::runChosen);
  view.setRuns({});
  EXPECT_EQ(chosen.count(), 0);
  api::RunData run;
  run.run.id = 9;
  run.run.selector = "rankdyna";
  for (int l = 0; l < 2; ++l) {
    api::OpResult op;
    op.name = "layers." + std::to_string(l) + ".attn.q";
    op.layer = l;
    op.kind = "q";
    op.inFeatures = 16;
    op.outFeatures = 16;
    op.fullRank = 16;
    run.ops.push_back(op);
  }
  run.frames = {{0, {16, 16}, {}}, {4, {12, 4}, {}}, {8, {6, 2}, {}}};
  view.setRuns({run.run});
  ASSERT_EQ(chosen.count(), 1);
  EXPECT_EQ(chosen.front().front().toLongLong(), 9);
  view.setRun(run);
  EXPECT_EQ(view.frameCount(), 3);
  EXPECT_EQ(view.layerCount(), 2);
  EXPECT_DOUBLE_EQ(view.layerShare(0, 0), 0.5);
  EXPECT_DOUBLE_EQ(view.layerShare(0, 1), 0.75);
  EXPECT_DOUBLE_EQ(view.layerShare(1, 2), 0.25);
  EXPECT_EQ(view.flowPlot()->graphCount(), 2);
  view.maskView()->setCurrentFrame(1);
  EXPECT_DOUBLE_EQ(view.cursorStep(), 4.0);
  QSignalSpy shortRun(&view, &TeachReplayView::shortRunRequested);
  view.shortRunButton()->click();
  EXPECT_EQ(shortRun.count(), 1);
}
