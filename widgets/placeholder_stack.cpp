#include "widgets/placeholder_stack.h"

#include <QLabel>

namespace ranklab::widgets {

PlaceholderStack::PlaceholderStack(QWidget* content, const QString& placeholderName, QWidget* parent)
    : QStackedWidget(parent), m_content(content) {
  m_placeholder = new QLabel(this);
  m_placeholder->setObjectName(placeholderName);
  m_placeholder->setAlignment(Qt::AlignCenter);
  m_placeholder->setWordWrap(true);
  addWidget(m_placeholder);
  addWidget(m_content);
}

void PlaceholderStack::showPlaceholder(const QString& text) {
  m_placeholder->setText(text);
  setCurrentWidget(m_placeholder);
}

void PlaceholderStack::showContent() { setCurrentWidget(m_content); }

bool PlaceholderStack::placeholderShown() const { return currentWidget() == m_placeholder; }

QString PlaceholderStack::placeholderText() const { return m_placeholder->text(); }

}  // namespace ranklab::widgets
