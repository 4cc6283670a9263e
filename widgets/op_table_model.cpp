#include "widgets/op_table_model.h"

#include <QLocale>

namespace ranklab::widgets {

OpTableModel::OpTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void OpTableModel::setOps(std::vector<api::OpInfo> ops) {
  beginResetModel();
  m_ops = std::move(ops);
  endResetModel();
}

void OpTableModel::clear() { setOps({}); }

int OpTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_ops.size());
}

int OpTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant OpTableModel::rawValue(const api::OpInfo& op, int column) const {
  switch (column) {
    case Name:
      return QString::fromStdString(op.name);
    case Layer:
      return qlonglong(op.layer);
    case Kind:
      return QString::fromStdString(op.kind);
    case In:
      return qlonglong(op.inFeatures);
    case Out:
      return qlonglong(op.outFeatures);
    case Params:
      return qlonglong(op.params());
    case Bias:
      return op.hasBias;
    default:
      return {};
  }
}

QVariant OpTableModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const api::OpInfo& op = m_ops[static_cast<size_t>(index.row())];
  const int column = index.column();
  switch (role) {
    case RawValueRole:
      return rawValue(op, column);
    case Qt::DisplayRole:
      switch (column) {
        case In:
        case Out:
        case Params:
          // Group separators make 6-7 digit counts readable at a glance.
          return QLocale().toString(rawValue(op, column).toLongLong());
        case Bias:
          return op.hasBias ? tr("yes") : tr("no");
        default:
          return rawValue(op, column);
      }
    case Qt::TextAlignmentRole:
      if (column == Name || column == Kind) return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
      if (column == Bias) return QVariant(Qt::AlignCenter);
      return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ToolTipRole:
      return tr("%1: %2 x %3 (%4 parameters%5)")
          .arg(QString::fromStdString(op.name))
          .arg(op.inFeatures)
          .arg(op.outFeatures)
          .arg(QLocale().toString(qlonglong(op.params())))
          .arg(op.hasBias ? tr(", plus bias") : QString());
    default:
      return {};
  }
}

QVariant OpTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation == Qt::Vertical) {
    return role == Qt::DisplayRole ? QVariant(section + 1) : QVariant();
  }
  if (section < 0 || section >= ColumnCount) return {};
  if (role == Qt::DisplayRole) {
    static const char* const kTitles[ColumnCount] = {
        QT_TR_NOOP("Op"),  QT_TR_NOOP("Layer"),  QT_TR_NOOP("Kind"), QT_TR_NOOP("In"),
        QT_TR_NOOP("Out"), QT_TR_NOOP("Params"), QT_TR_NOOP("Bias")};
    return tr(kTitles[section]);
  }
  if (role == Qt::ToolTipRole) {
    static const char* const kTips[ColumnCount] = {QT_TR_NOOP("Stable op name, e.g. layers.3.attn.q"),
                                                   QT_TR_NOOP("Transformer block index"),
                                                   QT_TR_NOOP("Op kind (q, k, v, o, gate, up, down, ...)"),
                                                   QT_TR_NOOP("Input features M (W is M x N)"),
                                                   QT_TR_NOOP("Output features N"),
                                                   QT_TR_NOOP("Weight parameters M x N"),
                                                   QT_TR_NOOP("Whether the op has a bias vector")};
    return tr(kTips[section]);
  }
  if (role == Qt::TextAlignmentRole) {
    return (section == Name || section == Kind) ? QVariant(Qt::AlignLeft | Qt::AlignVCenter) : QVariant();
  }
  return {};
}

}  // namespace ranklab::widgets
