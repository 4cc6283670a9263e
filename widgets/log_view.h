// LogView: a read-only, timestamped message log for the main window's Log dock. Keeps the newest
// kMaxLines lines. GUI thread only.
#pragma once

#include <QPlainTextEdit>

namespace ranklab::widgets {

class LogView : public QPlainTextEdit {
  Q_OBJECT

 public:
  enum class Level { Info, Warning, Error };
  static constexpr int kMaxLines = 5000;

  explicit LogView(QWidget* parent = nullptr);

 public slots:
  void appendMessage(const QString& text, ranklab::widgets::LogView::Level level = Level::Info);
};

}  // namespace ranklab::widgets
