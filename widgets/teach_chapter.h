// TeachChapter: one chapter of the teaching mode (TeachWindow). A chapter is a view with a title, a
// short explanation shown beside it, notes for the presenter, and a number of steps that the arrow
// keys walk through (an animation stage, a preset rank). The window keeps every chapter alive, so a
// chapter's state (its controls, its step) is kept when the presenter leaves and comes back.
// Presenter mode asks a chapter to draw thicker lines. GUI thread only; never throws.
#pragma once

#include <QString>
#include <QWidget>

class QCustomPlot;

namespace ranklab::widgets {

class TeachChapter : public QWidget {
  Q_OBJECT

 public:
  explicit TeachChapter(QWidget* parent = nullptr);

  virtual QString title() const = 0;
  // A few sentences of rich text: what the chapter shows and why it matters.
  virtual QString explanation() const = 0;
  // Rich text for the presenter's notes pane: what to do and say, step by step.
  virtual QString notes() const = 0;
  // Steps walked through with the arrow keys (at least 1) and a one-line caption for each.
  virtual int stepCount() const { return 1; }
  virtual QString stepCaption(int step) const;

  int currentStep() const { return m_step; }
  // Moves to `step` (clamped to [0, stepCount())); emits stepChanged when it changed.
  void setStep(int step);

  bool presenterMode() const { return m_presenter; }
  void setPresenterMode(bool on);

 signals:
  void stepChanged(int step);
  // The caption of the current step changed without a change of step (the chapter's data moved).
  void captionChanged();

 protected:
  // Called by setStep with the new step.
  virtual void applyStep(int step);
  // Called by setPresenterMode; chapters widen their pens here.
  virtual void applyPresenterMode(bool on);
  // A pen width for `normal` that is wider in presenter mode.
  double lineWidth(double normal) const { return m_presenter ? normal * 2.5 : normal; }
  // Sets the pen width of every graph in `plot` (views this chapter embeds) to lineWidth(normal).
  void widenGraphPens(QCustomPlot& plot, double normal) const;

 private:
  int m_step = 0;
  bool m_presenter = false;
};

}  // namespace ranklab::widgets
