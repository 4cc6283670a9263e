// OpTableModel: a read-only table of a model's compressible linear ops (api::OpInfo), one row per
// op. Display strings are formatted for people; RawValueRole gives the sortable raw value (numbers
// as qlonglong, text as QString, bias as bool), so a proxy with setSortRole(RawValueRole) sorts
// 4 096 before 12 288. GUI thread only.
#pragma once

#include <QAbstractTableModel>
#include <vector>

#include "api/types.h"

namespace ranklab::widgets {

class OpTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Name, Layer, Kind, In, Out, Params, Bias, ColumnCount };
  enum Role { RawValueRole = Qt::UserRole + 1 };

  explicit OpTableModel(QObject* parent = nullptr);

  // Replaces all rows (a model reset).
  void setOps(std::vector<api::OpInfo> ops);
  void clear();
  const std::vector<api::OpInfo>& ops() const { return m_ops; }
  // The op at `row`; row must be in [0, rowCount()).
  const api::OpInfo& op(int row) const { return m_ops.at(static_cast<size_t>(row)); }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  QVariant rawValue(const api::OpInfo& op, int column) const;

  std::vector<api::OpInfo> m_ops;
};

}  // namespace ranklab::widgets
