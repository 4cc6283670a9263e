// ModelSummaryView: what a loaded model is (architecture, sizes) above a sortable, filterable table
// of its compressible ops. Shows placeholders for an empty summary (no model loaded). GUI thread only.
#pragma once

#include <QWidget>

#include "api/types.h"

class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace ranklab::widgets {

class OpTableModel;

class ModelSummaryView : public QWidget {
  Q_OBJECT

 public:
  explicit ModelSummaryView(QWidget* parent = nullptr);

  void setSummary(const api::ModelSummary& summary);
  const api::ModelSummary& summary() const { return m_summary; }

  // Filters the op table on the op name (case-insensitive substring); same as typing in the box.
  void setFilterText(const QString& text);

  OpTableModel* opModel() const { return m_model; }
  QSortFilterProxyModel* proxyModel() const { return m_proxy; }
  QTableView* tableView() const { return m_table; }
  QLineEdit* filterEdit() const { return m_filter; }
  // The value label of a header field, by its key ("architecture", "params", "compressible",
  // "layers", "hidden", "heads", "vocab", "context", "format", "source"); nullptr if unknown.
  QLabel* fieldLabel(const QString& key) const;

 private:
  void updateHeader();
  void updateCount();

  api::ModelSummary m_summary;
  OpTableModel* m_model = nullptr;
  QSortFilterProxyModel* m_proxy = nullptr;
  QTableView* m_table = nullptr;
  QLineEdit* m_filter = nullptr;
  QLabel* m_count = nullptr;
};

}  // namespace ranklab::widgets
