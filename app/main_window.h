// MainWindow: the application shell. It owns the menus, the status bar and the docks, and wires the
// views from widgets/; views do the work. Window geometry and dock layout persist in QSettings
// (the application's organisation/name, set in main). GUI thread only.
#pragma once

#include <QMainWindow>

class QLabel;

namespace ranklab::widgets {
class LogView;
class ModelSummaryView;
}  // namespace ranklab::widgets

namespace ranklab::app {

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);

  widgets::ModelSummaryView* modelSummaryView() const { return m_summaryView; }
  widgets::LogView* logView() const { return m_logView; }

 public slots:
  void showAbout();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void createDocks();
  void createMenus();
  void restoreSettings();
  void saveSettings() const;

  widgets::ModelSummaryView* m_summaryView = nullptr;
  widgets::LogView* m_logView = nullptr;
  QLabel* m_modelStatus = nullptr;
};

}  // namespace ranklab::app
