// MainWindow: the application shell. It owns the menus, the status bar and the docks, and wires the
// views from widgets/; views do the work. Window geometry, dock layout and the recent-models list
// persist in QSettings (the application's organisation/name, set in main). GUI thread only.
#pragma once

#include <QMainWindow>
#include <QStringList>

class QAction;
class QLabel;
class QMenu;
class QProgressBar;

namespace ranklab::widgets {
class LogView;
class ModelSummaryView;
}  // namespace ranklab::widgets

namespace ranklab::api {
struct ModelSummary;
}  // namespace ranklab::api

namespace ranklab::app {

class ModelLoader;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  static constexpr int kMaxRecentModels = 8;

  explicit MainWindow(QWidget* parent = nullptr);

  widgets::ModelSummaryView* modelSummaryView() const { return m_summaryView; }
  widgets::LogView* logView() const { return m_logView; }
  ModelLoader* modelLoader() const { return m_loader; }
  QProgressBar* busyIndicator() const { return m_busyBar; }
  QMenu* recentMenu() const { return m_recentMenu; }

  // Recently opened models, newest first, at most kMaxRecentModels; entries that no longer exist on
  // disk are removed from the list (and from QSettings) when it is read.
  QStringList recentModels() const;

 public slots:
  // Loads a model in the background (see ModelLoader); the summary view shows it when it is done.
  // `tokenizerPath` is optional (a llama2.c tokenizer.bin).
  void openModel(const QString& path, const QString& tokenizerPath = QString());
  // File > Open Model...: a file dialog for .gguf / .bin files or a Hugging Face directory's
  // config.json; File > Open Model Directory... picks the directory itself.
  void chooseModelFile();
  void chooseModelDirectory();
  void clearRecentModels();
  void showAbout();

 signals:
  // After the summary view (or the error report) has been updated for the newest openModel().
  void modelLoadFinished(bool ok);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void createDocks();
  void createMenus();
  void createStatusBar();
  void restoreSettings();
  void saveSettings() const;
  void onLoadStarted(const QString& path);
  void onModelLoaded(const api::ModelSummary& summary);
  void onModelFailed(const QString& path, const QString& message);
  void setBusy(bool busy, const QString& message);
  void addRecentModel(const QString& path);
  void updateRecentMenu();

  widgets::ModelSummaryView* m_summaryView = nullptr;
  widgets::LogView* m_logView = nullptr;
  ModelLoader* m_loader = nullptr;
  QMenu* m_recentMenu = nullptr;
  QLabel* m_modelStatus = nullptr;
  QProgressBar* m_busyBar = nullptr;
};

}  // namespace ranklab::app
