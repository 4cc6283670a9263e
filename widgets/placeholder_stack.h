// PlaceholderStack: shows either a view's content or, in its place, a centred word-wrapped message
// (why there is nothing to show). The views use it for their empty state. GUI thread only.
#pragma once

#include <QStackedWidget>
#include <QString>

class QLabel;

namespace ranklab::widgets {

class PlaceholderStack : public QStackedWidget {
  Q_OBJECT

 public:
  // Takes `content` as the page to show when there is something to show. The message label is named
  // `placeholderName` (tests find it by that name). Starts on the placeholder, with no message.
  PlaceholderStack(QWidget* content, const QString& placeholderName, QWidget* parent = nullptr);

  void showPlaceholder(const QString& text);
  void showContent();
  bool placeholderShown() const;
  // The message last shown, also while the content is shown.
  QString placeholderText() const;

 private:
  QLabel* m_placeholder = nullptr;
  QWidget* m_content = nullptr;
};

}  // namespace ranklab::widgets
