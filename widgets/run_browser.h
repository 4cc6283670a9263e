// RunBrowser: the table of stored runs with a text filter (name, model, decomposition, selector,
// tags, notes), a status filter, sorting on raw values, tag and note editing, and the actions that
// act on the selected runs: Compare (2 to 4 runs), Delete (after a confirmation) and open (double
// click or Enter). It never touches the run store: it emits the ids and the app layer does the work,
// then updates model(). Keys: Delete deletes the selection, Ctrl+F focuses the filter, F2 edits tags
// or notes. GUI thread only.
#pragma once

#include <QByteArray>
#include <QList>
#include <QWidget>
#include <functional>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;
class QToolButton;

namespace ranklab::widgets {

class RunTableModel;
class RunFilterProxy;

class RunBrowser : public QWidget {
  Q_OBJECT

 public:
  // Asks a yes/no question; true means go ahead.
  using Confirmer = std::function<bool(const QString& question)>;

  static constexpr int kMinCompare = 2;
  static constexpr int kMaxCompare = 4;

  explicit RunBrowser(QWidget* parent = nullptr);

  RunTableModel* model() const { return m_model; }
  QSortFilterProxyModel* proxy() const;
  QTableView* table() const { return m_table; }
  QLineEdit* filterEdit() const { return m_filter; }
  QComboBox* statusCombo() const { return m_status; }
  QAction* compareAction() const { return m_compareAction; }
  QAction* deleteAction() const { return m_deleteAction; }

  // Same as typing in the filter box / choosing in the status combo. status: "" (all), "succeeded",
  // "failed", "interrupted" or "running".
  void setFilterText(const QString& text);
  void setStatusFilter(const QString& status);
  // Shows only the runs of one comparison group (api::comparisonGroup: base model and evaluation
  // protocol); "" shows all. The box lists the groups of the runs loaded.
  void setProtocolFilter(const QString& group);
  QComboBox* protocolCombo() const { return m_protocol; }

  // Ids of the selected runs in the order their rows are shown (top to bottom).
  QList<qint64> selectedIds() const;
  // Selects exactly the rows of these ids that are shown (others are ignored).
  void selectIds(const QList<qint64>& ids);

  // Replaces the delete confirmation (default: a QMessageBox question). An empty function restores
  // the default. A confirmer that throws counts as "no".
  void setConfirmer(Confirmer confirmer);

  // Column widths, order and the sort column/order (QHeaderView state with a version tag).
  QByteArray saveState() const;
  // Returns false (and changes nothing) for data not made by saveState().
  bool restoreState(const QByteArray& state);

 public slots:
  // Emits compareRequested for the selection when it has 2 to 4 runs.
  void compareSelected();
  // Asks the confirmer, then emits deleteRequested for the selection.
  void deleteSelected();

 signals:
  void compareRequested(QList<qint64> ids);
  void deleteRequested(QList<qint64> ids);
  void runActivated(qint64 id);
  void selectionChanged(QList<qint64> ids);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void rebuildProtocolBox();
  void selectionMayHaveChanged();
  void updateActions();
  void updateCount();
  void showContextMenu(const QPoint& pos);
  void editColumn(int column);
  bool confirm(const QString& question);

  RunTableModel* m_model = nullptr;
  RunFilterProxy* m_proxy = nullptr;
  QTableView* m_table = nullptr;
  QLineEdit* m_filter = nullptr;
  QComboBox* m_status = nullptr;
  QComboBox* m_protocol = nullptr;
  QLabel* m_count = nullptr;
  QToolButton* m_compareButton = nullptr;
  QToolButton* m_deleteButton = nullptr;
  QAction* m_compareAction = nullptr;
  QAction* m_deleteAction = nullptr;
  QAction* m_findAction = nullptr;
  Confirmer m_confirmer;
  QList<qint64> m_lastSelection;
  QList<qint64> m_selectionBeforeReset;
  bool m_resetting = false;
};

}  // namespace ranklab::widgets
