// TeachWindow: the teaching mode's window. Chapters (TeachChapter) in order: a list on the left, the
// current chapter in the middle under its title and step caption, its explanation on the right and,
// below it, the presenter's notes (hideable). Every chapter stays alive, so leaving a chapter and
// coming back finds it as it was.
//
// Keys (window-wide shortcuts): Right / Space / Page Down the next step, then the next chapter; Left /
// Page Up the previous step, then the previous chapter; Down / Up the next / previous chapter; 1-9 a
// chapter by number; F5 presenter mode on/off, Escape off; N the notes pane.
// Presenter mode: full screen, fonts 1.6 times larger (plots' axes and legends too), a high-contrast
// black-and-white palette that the plots follow, thicker lines in every chapter, and neither the chapter
// list nor the buttons (the keys do their work).
// GUI thread only; never throws.
#pragma once

#include <QFont>
#include <QPalette>
#include <QRect>
#include <QSize>
#include <QString>
#include <QWidget>
#include <vector>

class QLabel;
class QListWidget;
class QPushButton;
class QStackedWidget;
class QTextBrowser;

namespace ranklab::widgets {

class TeachChapter;

class TeachWindow : public QWidget {
  Q_OBJECT

 public:
  static constexpr double kPresenterFontScale = 1.6;

  explicit TeachWindow(QWidget* parent = nullptr);

  // Appends a chapter (the window takes ownership). The first one added becomes current.
  void addChapter(TeachChapter* chapter);
  int chapterCount() const { return int(m_chapters.size()); }
  int currentChapter() const;
  TeachChapter* chapter(int index) const;
  void setCurrentChapter(int index);

  void nextStep();
  void previousStep();
  void nextChapter() { setCurrentChapter(currentChapter() + 1); }
  void previousChapter() { setCurrentChapter(currentChapter() - 1); }

  bool presenterMode() const { return m_presenter; }
  void setPresenterMode(bool on);
  bool notesVisible() const;
  void setNotesVisible(bool visible);
  // The presenter's notes in a window of their own, away from the projected screen: on the first
  // screen the window is not on, when there is one. Presenter mode turns it on where a second screen
  // exists; with one screen it hides the in-window notes instead (N shows them).
  void setNotesOnSeparateWindow(bool on);
  bool notesOnSeparateWindow() const;
  QWidget* notesWindow() const;
  // The size the window opens at when no size was saved: every panel readable, within the screen.
  static QSize defaultSize(const QRect& available);

  QString explanationText() const;
  QString notesText() const;
  QString stepText() const;

 signals:
  void chapterChanged(int index);

 protected:
  void showEvent(QShowEvent* event) override;
  void hideEvent(QHideEvent* event) override;

 private:
  void addShortcuts();
  void saveGeometryIfNormal() const;
  void showChapter(int index);
  void updateStepLabel();
  void scaleFonts(double factor);

  std::vector<TeachChapter*> m_chapters;
  bool m_presenter = false;
  bool m_notesBeforePresenter = true;
  bool m_geometryRestored = false;
  QFont m_normalFont;

  QListWidget* m_list = nullptr;
  QStackedWidget* m_stack = nullptr;
  QLabel* m_title = nullptr;
  QLabel* m_step = nullptr;
  QTextBrowser* m_explanation = nullptr;
  QTextBrowser* m_notes = nullptr;
  QTextBrowser* m_notesWindow = nullptr;  // top-level; owned here (deleted with this window)
  QPushButton* m_previous = nullptr;
  QPushButton* m_next = nullptr;
  QPushButton* m_presenterButton = nullptr;
  QPushButton* m_notesButton = nullptr;
};

}  // namespace ranklab::widgets
