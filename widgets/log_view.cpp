#include "widgets/log_view.h"

#include <QDateTime>
#include <QFontDatabase>

namespace ranklab::widgets {

LogView::LogView(QWidget* parent) : QPlainTextEdit(parent) {
  setReadOnly(true);
  setMaximumBlockCount(kMaxLines);
  setLineWrapMode(QPlainTextEdit::NoWrap);
  setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
}

void LogView::appendMessage(const QString& text, Level level) {
  const QString time = QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss"));
  const char* tag = level == Level::Error ? "error: " : level == Level::Warning ? "warning: " : "";
  appendPlainText(QStringLiteral("%1  %2%3").arg(time, QLatin1String(tag), text));
}

}  // namespace ranklab::widgets
