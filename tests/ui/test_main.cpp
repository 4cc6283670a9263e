// test_ui entry point: one QApplication for all tests, on the offscreen platform unless the caller
// chose another, and QSettings/QStandardPaths redirected to a scratch location. ctest runs test cases
// as parallel processes, so each process gets its own settings folder.
#include <gtest/gtest.h>

#include <QApplication>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QStandardPaths::setTestModeEnabled(true);
  QCoreApplication::setOrganizationName(QStringLiteral("RankLabTest"));
  QCoreApplication::setApplicationName(QStringLiteral("test_ui"));
  QTemporaryDir settingsDir;
  QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsDir.path());
  // Runs and the decomposition cache go to the scratch folder too, never the user's own.
  qputenv("RANKLAB_DB", (settingsDir.path() + QStringLiteral("/runs.db")).toLocal8Bit());
  qputenv("XDG_CACHE_HOME", (settingsDir.path() + QStringLiteral("/cache")).toLocal8Bit());
  QApplication app(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
