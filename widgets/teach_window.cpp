#include "widgets/teach_window.h"

#include <qcustomplot.h>

#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHideEvent>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QShortcut>
#include <QShowEvent>
#include <QSignalBlocker>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyle>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <algorithm>

#include "widgets/plot_theme.h"
#include "widgets/teach_chapter.h"

namespace ranklab::widgets {
namespace {

QPalette highContrastPalette(const QPalette& base) {
  QPalette p = base;
  const QColor black(0, 0, 0), white(255, 255, 255), yellow(255, 215, 0), dark(40, 40, 40);
  for (QPalette::ColorGroup group : {QPalette::Active, QPalette::Inactive}) {
    p.setColor(group, QPalette::Window, black);
    p.setColor(group, QPalette::WindowText, white);
    p.setColor(group, QPalette::Base, black);
    p.setColor(group, QPalette::AlternateBase, dark);
    p.setColor(group, QPalette::Text, white);
    p.setColor(group, QPalette::Button, dark);
    p.setColor(group, QPalette::ButtonText, white);
    p.setColor(group, QPalette::Highlight, yellow);
    p.setColor(group, QPalette::HighlightedText, black);
    p.setColor(group, QPalette::ToolTipBase, black);
    p.setColor(group, QPalette::ToolTipText, white);
    p.setColor(group, QPalette::Link, yellow);
  }
  p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(150, 150, 150));
  p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(150, 150, 150));
  p.setColor(QPalette::Disabled, QPalette::Text, QColor(150, 150, 150));
  return p;
}

QFont scaled(QFont font, double factor) {
  font.setPointSizeF(std::max(1.0, font.pointSizeF() * factor));
  return font;
}

}  // namespace

TeachWindow::TeachWindow(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("teachWindow"));
  setWindowTitle(tr("RankLab \u2014 Teaching mode"));
  m_normalFont = font();

  m_list = new QListWidget(this);
  m_list->setObjectName(QStringLiteral("chapterList"));
  m_list->setFocusPolicy(Qt::NoFocus);
  connect(m_list, &QListWidget::currentRowChanged, this, &TeachWindow::showChapter);
  m_stack = new QStackedWidget(this);
  m_title = new QLabel(this);
  m_title->setObjectName(QStringLiteral("chapterTitle"));
  QFont titleFont = font();
  titleFont.setPointSizeF(titleFont.pointSizeF() * 1.5);
  titleFont.setBold(true);
  m_title->setFont(titleFont);
  m_step = new QLabel(this);
  m_step->setObjectName(QStringLiteral("stepCaption"));
  m_step->setWordWrap(true);
  m_previous = new QPushButton(tr("\u25c0 Back"), this);
  m_next = new QPushButton(tr("Next \u25b6"), this);
  m_presenterButton = new QPushButton(tr("Presenter mode (F5)"), this);
  m_presenterButton->setCheckable(true);
  m_notesButton = new QPushButton(tr("Notes (N)"), this);
  m_notesButton->setCheckable(true);
  m_notesButton->setChecked(true);
  for (QPushButton* b : {m_previous, m_next, m_presenterButton, m_notesButton})
    b->setFocusPolicy(Qt::NoFocus);
  connect(m_previous, &QPushButton::clicked, this, &TeachWindow::previousStep);
  connect(m_next, &QPushButton::clicked, this, &TeachWindow::nextStep);
  connect(m_presenterButton, &QPushButton::toggled, this, &TeachWindow::setPresenterMode);
  connect(m_notesButton, &QPushButton::toggled, this, &TeachWindow::setNotesVisible);

  m_explanation = new QTextBrowser(this);
  m_explanation->setObjectName(QStringLiteral("explanation"));
  m_explanation->setFocusPolicy(Qt::NoFocus);
  m_notes = new QTextBrowser(this);
  m_notes->setObjectName(QStringLiteral("presenterNotes"));
  m_notes->setFocusPolicy(Qt::NoFocus);
  auto* notesBox = new QWidget(this);
  // Wide enough that the explanation reads as prose, not a word per line.
  notesBox->setMinimumWidth(280);
  auto* notesLayout = new QVBoxLayout(notesBox);
  notesLayout->setContentsMargins(0, 0, 0, 0);
  notesLayout->addWidget(m_explanation, 3);
  notesLayout->addWidget(m_notes, 2);

  auto* header = new QHBoxLayout;
  auto* titles = new QVBoxLayout;
  titles->addWidget(m_title);
  titles->addWidget(m_step);
  header->addLayout(titles, 1);
  for (QPushButton* b : {m_previous, m_next, m_presenterButton, m_notesButton}) header->addWidget(b);
  auto* centre = new QWidget(this);
  auto* centreLayout = new QVBoxLayout(centre);
  centreLayout->setContentsMargins(0, 0, 0, 0);
  centreLayout->addLayout(header);
  centreLayout->addWidget(m_stack, 1);

  auto* splitter = new QSplitter(Qt::Horizontal, this);
  splitter->addWidget(m_list);
  splitter->addWidget(centre);
  splitter->addWidget(notesBox);
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 4);
  splitter->setStretchFactor(2, 1);
  splitter->setSizes({200, 1000, 320});
  auto* layout = new QHBoxLayout(this);
  layout->addWidget(splitter);
  addShortcuts();
}

void TeachWindow::addShortcuts() {
  auto add = [this](const QKeySequence& keys, auto slot) {
    auto* shortcut = new QShortcut(keys, this);
    shortcut->setContext(Qt::WindowShortcut);
    connect(shortcut, &QShortcut::activated, this, slot);
  };
  for (auto key : {Qt::Key_Right, Qt::Key_Space, Qt::Key_PageDown})
    add(QKeySequence(key), [this] { nextStep(); });
  for (auto key : {Qt::Key_Left, Qt::Key_PageUp}) add(QKeySequence(key), [this] { previousStep(); });
  add(QKeySequence(Qt::Key_Down), [this] { nextChapter(); });
  add(QKeySequence(Qt::Key_Up), [this] { previousChapter(); });
  add(QKeySequence(Qt::Key_F5), [this] { setPresenterMode(!m_presenter); });
  add(QKeySequence(Qt::Key_Escape), [this] { setPresenterMode(false); });
  add(QKeySequence(Qt::Key_N), [this] { setNotesVisible(!notesVisible()); });
  for (int i = 1; i <= 9; ++i) add(QKeySequence(Qt::Key_0 + i), [this, i] { setCurrentChapter(i - 1); });
}

void TeachWindow::addChapter(TeachChapter* chapter) {
  m_chapters.push_back(chapter);
  m_stack->addWidget(chapter);
  // Themed once here, its plots follow every palette change after (the theme, presenter mode).
  applyPlotThemeTree(*chapter);
  m_list->addItem(chapter->title());
  // Chapter names in full, not elided.
  m_list->setMinimumWidth(std::min(420, m_list->sizeHintForColumn(0) + 2 * m_list->frameWidth() +
                                            m_list->style()->pixelMetric(QStyle::PM_ScrollBarExtent)));
  connect(chapter, &TeachChapter::stepChanged, this, &TeachWindow::updateStepLabel);
  connect(chapter, &TeachChapter::captionChanged, this, &TeachWindow::updateStepLabel);
  chapter->setPresenterMode(m_presenter);
  if (m_chapters.size() == 1) m_list->setCurrentRow(0);
}

int TeachWindow::currentChapter() const { return m_list->currentRow(); }

TeachChapter* TeachWindow::chapter(int index) const {
  return index >= 0 && index < chapterCount() ? m_chapters[size_t(index)] : nullptr;
}

void TeachWindow::setCurrentChapter(int index) {
  if (index < 0 || index >= chapterCount()) return;
  m_list->setCurrentRow(index);
}

void TeachWindow::showChapter(int index) {
  TeachChapter* c = chapter(index);
  if (!c) return;
  m_stack->setCurrentWidget(c);
  m_title->setText(c->title());
  m_explanation->setHtml(c->explanation());
  m_notes->setHtml(c->notes());
  if (m_notesWindow) m_notesWindow->setHtml(c->notes());
  updateStepLabel();
  emit chapterChanged(index);
}

void TeachWindow::updateStepLabel() {
  TeachChapter* c = chapter(currentChapter());
  if (!c) return;
  m_step->setText(c->stepCount() > 1 ? tr("Step %1 of %2: %3")
                                           .arg(c->currentStep() + 1)
                                           .arg(c->stepCount())
                                           .arg(c->stepCaption(c->currentStep()))
                                     : QString());
}

void TeachWindow::nextStep() {
  TeachChapter* c = chapter(currentChapter());
  if (!c) return;
  if (c->currentStep() + 1 < c->stepCount())
    c->setStep(c->currentStep() + 1);
  else
    nextChapter();
}

void TeachWindow::previousStep() {
  TeachChapter* c = chapter(currentChapter());
  if (!c) return;
  if (c->currentStep() > 0)
    c->setStep(c->currentStep() - 1);
  else
    previousChapter();
}

void TeachWindow::setPresenterMode(bool on) {
  if (on == m_presenter) return;
  m_presenter = on;
  {
    const QSignalBlocker blocker(m_presenterButton);
    m_presenterButton->setChecked(on);
  }
  if (on) {
    m_normalFont = font();
    saveGeometryIfNormal();
    m_list->hide();
    for (QPushButton* b : {m_previous, m_next, m_presenterButton, m_notesButton}) b->hide();
    setPalette(highContrastPalette(palette()));
    setFont(scaled(m_normalFont, kPresenterFontScale));
    scaleFonts(kPresenterFontScale);
    showFullScreen();
    // The notes must not be projected: to their own window on another screen, else hidden.
    m_notesBeforePresenter = notesVisible();
    if (QGuiApplication::screens().size() > 1)
      setNotesOnSeparateWindow(true);
    else
      setNotesVisible(false);
  } else {
    setNotesOnSeparateWindow(false);
    setNotesVisible(m_notesBeforePresenter);
    m_list->show();
    for (QPushButton* b : {m_previous, m_next, m_presenterButton, m_notesButton}) b->show();
    setPalette(QPalette());  // follow the application's palette again, whatever it became meanwhile
    setFont(m_normalFont);
    scaleFonts(1.0 / kPresenterFontScale);
    showNormal();
  }
  for (TeachChapter* c : m_chapters) c->setPresenterMode(on);
}

void TeachWindow::scaleFonts(double factor) {
  // Widgets with a font of their own and QCustomPlot's axes, legends, titles and text items (which
  // copy the widget font once, when they are made) do not follow setFont: scale them here.
  m_title->setFont(scaled(m_title->font(), factor));
  for (QCustomPlot* plot : findChildren<QCustomPlot*>()) {
    for (QCPAxisRect* rect : plot->axisRects()) {
      for (QCPAxis* axis : rect->axes()) {
        axis->setLabelFont(scaled(axis->labelFont(), factor));
        axis->setTickLabelFont(scaled(axis->tickLabelFont(), factor));
      }
    }
    for (QCPLegend* legend : plot->findChildren<QCPLegend*>())
      legend->setFont(scaled(legend->font(), factor));
    for (int i = 0; i < plot->itemCount(); ++i)
      if (auto* text = qobject_cast<QCPItemText*>(plot->item(i))) text->setFont(scaled(text->font(), factor));
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
      if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i)))
        title->setFont(scaled(title->font(), factor));
    plot->replot(QCustomPlot::rpQueuedReplot);
  }
}

bool TeachWindow::notesVisible() const {
  return notesOnSeparateWindow() ? m_notesWindow->isVisible() : !m_notes->isHidden();
}

void TeachWindow::setNotesVisible(bool visible) {
  if (notesOnSeparateWindow())
    m_notesWindow->setVisible(visible);
  else
    m_notes->setVisible(visible);
  const QSignalBlocker blocker(m_notesButton);
  m_notesButton->setChecked(visible);
}

bool TeachWindow::notesOnSeparateWindow() const { return m_notesWindow && !m_notesWindow->isHidden(); }

QWidget* TeachWindow::notesWindow() const { return m_notesWindow; }

void TeachWindow::setNotesOnSeparateWindow(bool on) {
  if (!on) {
    if (m_notesWindow) m_notesWindow->hide();
    return;
  }
  if (!m_notesWindow) {
    m_notesWindow = new QTextBrowser;
    m_notesWindow->setObjectName(QStringLiteral("presenterNotesWindow"));
    m_notesWindow->setWindowTitle(tr("RankLab \u2014 Presenter notes"));
    m_notesWindow->setAttribute(Qt::WA_QuitOnClose, false);
    connect(this, &QObject::destroyed, m_notesWindow, &QObject::deleteLater);
  }
  if (TeachChapter* c = chapter(currentChapter())) m_notesWindow->setHtml(c->notes());
  QFont notesFont = m_normalFont;
  notesFont.setPointSizeF(notesFont.pointSizeF() * 1.25);
  m_notesWindow->setFont(notesFont);
  // On a screen other than the projected one, when there is one.
  QScreen* shown = screen();
  QScreen* target = shown;
  for (QScreen* s : QGuiApplication::screens())
    if (s != shown) target = s;
  const QRect area = target ? target->availableGeometry() : QRect(0, 0, 800, 600);
  m_notesWindow->resize(std::min(area.width(), 700), std::min(area.height(), 600));
  m_notesWindow->move(area.topLeft() + QPoint(40, 40));
  m_notes->hide();
  m_notesWindow->show();
  const QSignalBlocker blocker(m_notesButton);
  m_notesButton->setChecked(true);
}

QSize TeachWindow::defaultSize(const QRect& available) {
  const QSize wanted(1500, 920);
  return wanted.boundedTo(QSize(available.width() * 92 / 100, available.height() * 92 / 100));
}

void TeachWindow::showEvent(QShowEvent* event) {
  if (!m_geometryRestored) {
    m_geometryRestored = true;
    const QByteArray saved = QSettings().value(QStringLiteral("teachWindow/geometry")).toByteArray();
    if (saved.isEmpty() || !restoreGeometry(saved)) {
      const QRect available = screen() ? screen()->availableGeometry() : QRect(0, 0, 1920, 1080);
      resize(defaultSize(available));
      move(available.center() - rect().center());
    }
  }
  QWidget::showEvent(event);
}

void TeachWindow::hideEvent(QHideEvent* event) {
  saveGeometryIfNormal();
  if (m_notesWindow && !event->spontaneous()) m_notesWindow->hide();
  QWidget::hideEvent(event);
}

void TeachWindow::saveGeometryIfNormal() const {
  if (m_presenter || isFullScreen() || !m_geometryRestored) return;
  QSettings().setValue(QStringLiteral("teachWindow/geometry"), saveGeometry());
}

QString TeachWindow::explanationText() const { return m_explanation->toPlainText(); }

QString TeachWindow::notesText() const { return m_notes->toPlainText(); }

QString TeachWindow::stepText() const { return m_step->text(); }

}  // namespace ranklab::widgets
