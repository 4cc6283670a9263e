#include "widgets/run_table_model.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QLocale>
#include <algorithm>
#include <cmath>

#include "api/protocol.h"

namespace ranklab::widgets {
namespace {

const QString kUnknown = QStringLiteral("\u2013");  // en dash: not measured / not known yet

QString qs(const std::string& s) { return QString::fromStdString(s); }

bool known(double v) { return std::isfinite(v); }

// A fraction p is only meaningful in (0, 1]; a running job has not set it yet (0).
bool knownFraction(double p) { return std::isfinite(p) && p > 0.0; }

double relativeChange(const api::RunRecord& r) {
  if (!known(r.metricBefore) || !known(r.metricAfter) || r.metricBefore == 0.0) return std::nan("");
  return r.metricAfter / r.metricBefore - 1.0;
}

QString modelFileName(const std::string& path) {
  QString p = qs(path);
  p.replace(QLatin1Char('\\'), QLatin1Char('/'));
  while (p.size() > 1 && p.endsWith(QLatin1Char('/'))) p.chop(1);
  const qsizetype slash = p.lastIndexOf(QLatin1Char('/'));
  return slash < 0 ? p : p.mid(slash + 1);
}

// Milliseconds since the epoch as a double (sortable), or NaN for an unreadable timestamp.
double createdMs(const std::string& iso) {
  const QDateTime t = QDateTime::fromString(qs(iso), Qt::ISODate);
  return t.isValid() ? double(t.toMSecsSinceEpoch()) : std::nan("");
}

QString metricText(const std::string& metric, double v) {
  if (!known(v)) return kUnknown;
  // Accuracy is a fraction in [0, 1]; perplexities are tens to thousands.
  return QLocale().toString(v, 'f', api::isAccuracyMetric(metric) ? 4 : 2);
}

QString durationText(double seconds) {
  if (!known(seconds) || seconds <= 0.0) return QString();
  if (seconds < 60.0) return QStringLiteral("%1 s").arg(QLocale().toString(seconds, 'f', 1));
  const qint64 total = qint64(std::llround(seconds));
  if (total < 3600)
    return QStringLiteral("%1 m %2 s").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
  return QStringLiteral("%1 h %2 m").arg(total / 3600).arg((total % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QStringList tagList(const api::RunRecord& r) {
  QStringList tags;
  for (const std::string& t : r.tags) tags << qs(t);
  return tags;
}

QVariant number(double v) { return known(v) ? QVariant(v) : QVariant(); }

}  // namespace

RunTableModel::RunTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void RunTableModel::setRuns(std::vector<api::RunRecord> runs) {
  beginResetModel();
  m_runs = std::move(runs);
  endResetModel();
}

void RunTableModel::upsertRun(const api::RunRecord& run) {
  const int row = rowOf(run.id);
  if (row >= 0) {
    m_runs[size_t(row)] = run;
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
    return;
  }
  beginInsertRows(QModelIndex(), 0, 0);
  m_runs.insert(m_runs.begin(), run);
  endInsertRows();
}

void RunTableModel::removeRuns(const std::vector<int64_t>& ids) {
  std::vector<int> rows;
  for (int64_t id : ids) {
    const int row = rowOf(id);
    if (row >= 0) rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  // Bottom block first, so the rows of the blocks above keep their numbers.
  while (!rows.empty()) {
    const int last = rows.back();
    int first = last;
    rows.pop_back();
    while (!rows.empty() && rows.back() == first - 1) {
      first = rows.back();
      rows.pop_back();
    }
    beginRemoveRows(QModelIndex(), first, last);
    m_runs.erase(m_runs.begin() + first, m_runs.begin() + last + 1);
    endRemoveRows();
  }
}

const api::RunRecord* RunTableModel::runAt(int row) const {
  return row >= 0 && size_t(row) < m_runs.size() ? &m_runs[size_t(row)] : nullptr;
}

int RunTableModel::rowOf(int64_t id) const {
  for (size_t i = 0; i < m_runs.size(); ++i)
    if (m_runs[i].id == id) return int(i);
  return -1;
}

int RunTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(m_runs.size());
}

int RunTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QStringList RunTableModel::parseTags(const QString& text) {
  QStringList tags;
  for (const QString& part : text.split(QLatin1Char(','))) {
    const QString tag = part.trimmed();
    if (!tag.isEmpty() && !tags.contains(tag)) tags << tag;
  }
  return tags;
}

QVariant RunTableModel::rawValue(const api::RunRecord& r, int column) const {
  switch (column) {
    case Id:
      return double(r.id);
    case Name:
      return qs(r.name);
    case Model:
      return modelFileName(r.modelPath);
    case Decomposition:
      return qs(r.decomposition);
    case Selector:
      return qs(r.selector);
    case Target:
      return knownFraction(r.keepTarget) ? QVariant(r.keepTarget) : QVariant();
    case Achieved:
      return knownFraction(r.keptFraction) ? QVariant(r.keptFraction) : QVariant();
    case Metric:
      return qs(r.metric);
    case EvaluatedOn:
      return r.metric.empty() ? QString() : qs(api::protocolLabel(r.protocol));
    case Before:
      return number(r.metricBefore);
    case After:
      return number(r.metricAfter);
    case Change:
      return number(relativeChange(r));
    case Status:
      return qs(r.status);
    case Created:
      return number(createdMs(r.createdAt));
    case Seconds:
      return number(r.seconds);
    case Tags:
      return tagList(r).join(QStringLiteral(", "));
    case Notes:
      return qs(r.notes);
    default:
      return {};
  }
}

QVariant RunTableModel::displayValue(const api::RunRecord& r, int column) const {
  switch (column) {
    case Id:
      return QString::number(r.id);
    case Target:
      return knownFraction(r.keepTarget) ? QLocale().toString(r.keepTarget, 'f', 2) : kUnknown;
    case Achieved:
      return knownFraction(r.keptFraction) ? QLocale().toString(r.keptFraction, 'f', 3) : kUnknown;
    case EvaluatedOn:
      return r.metric.empty() ? kUnknown : rawValue(r, column);
    case Before:
      return metricText(r.metric, r.metricBefore);
    case After:
      return metricText(r.metric, r.metricAfter);
    case Change: {
      const double change = relativeChange(r);
      if (!known(change)) return kUnknown;
      const QString text = QLocale().toString(100.0 * change, 'f', 1) + QLatin1Char('%');
      return change > 0.0 ? QLatin1Char('+') + text : text;
    }
    case Created: {
      const QDateTime t = QDateTime::fromString(qs(r.createdAt), Qt::ISODate);
      return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm")) : qs(r.createdAt);
    }
    case Seconds:
      return durationText(r.seconds);
    case Notes: {
      // One line in the table; the tooltip and the editor show all of it.
      const QString notes = qs(r.notes);
      const qsizetype newline = notes.indexOf(QLatin1Char('\n'));
      return newline < 0 ? notes : notes.left(newline) + QStringLiteral(" \u2026");
    }
    default:
      return rawValue(r, column);
  }
}

QString RunTableModel::toolTip(const api::RunRecord& r, int column) const {
  QStringList lines;
  if (r.status == "failed")
    lines << tr("Failed: %1").arg(r.error.empty() ? tr("no message recorded") : qs(r.error));
  if (r.status == "interrupted") lines << tr("Interrupted: %1").arg(qs(r.error));
  switch (column) {
    case Name:
      lines << tr("Run %1 (%2)").arg(r.id).arg(qs(r.uuid));
      break;
    case Model:
      lines << qs(r.modelPath);
      break;
    case Notes:
      if (!r.notes.empty()) lines << qs(r.notes);
      break;
    case Change:
      lines << tr("Relative change of the metric: after / before - 1");
      break;
    case EvaluatedOn:
      if (!r.metric.empty()) {
        lines << qs(api::groupLabel(r));
        if (r.protocol.known && !r.protocol.fileHash.empty())
          lines << tr("File SHA-256 %1\nModel SHA-256 %2")
                       .arg(qs(r.protocol.fileHash.substr(0, 16)), qs(r.modelHash.substr(0, 16)));
        else
          lines << tr(
              "Stored before RankLab recorded evaluation protocols, and not reconstructible: this "
              "run's metric is compared with no other run.");
      }
      break;
    case Created:
      lines << qs(r.createdAt);
      break;
    default:
      break;
  }
  return lines.join(QLatin1Char('\n'));
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const api::RunRecord& r = m_runs[size_t(index.row())];
  const int column = index.column();
  switch (role) {
    case SortRole:
      return rawValue(r, column);
    case RunIdRole:
      return qlonglong(r.id);
    case Qt::DisplayRole:
      return displayValue(r, column);
    case Qt::EditRole:
      return column == Tags || column == Notes ? rawValue(r, column) : displayValue(r, column);
    case Qt::ToolTipRole: {
      const QString tip = toolTip(r, column);
      return tip.isEmpty() ? QVariant() : QVariant(tip);
    }
    case Qt::ForegroundRole:
      if (column != Status) return {};
      if (r.status == "failed") return QBrush(QColor(0xc6, 0x28, 0x28));
      if (r.status == "interrupted") return QBrush(QColor(0xe6, 0x51, 0x00));
      if (r.status == "running") return QBrush(QColor(0x15, 0x65, 0xc0));
      if (r.status == "succeeded") return QBrush(QColor(0x2e, 0x7d, 0x32));
      return {};
    case Qt::TextAlignmentRole:
      switch (column) {
        case Id:
        case Target:
        case Achieved:
        case Before:
        case After:
        case Change:
        case Seconds:
          return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        default:
          return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
      }
    default:
      return {};
  }
}

QVariant RunTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation == Qt::Vertical) return role == Qt::DisplayRole ? QVariant(section + 1) : QVariant();
  if (section < 0 || section >= ColumnCount) return {};
  if (role == Qt::DisplayRole) {
    static const char* const kTitles[ColumnCount] = {QT_TR_NOOP("Id"),           QT_TR_NOOP("Name"),
                                                     QT_TR_NOOP("Model"),        QT_TR_NOOP("Decomposition"),
                                                     QT_TR_NOOP("Selector"),     QT_TR_NOOP("Target"),
                                                     QT_TR_NOOP("Achieved"),     QT_TR_NOOP("Metric"),
                                                     QT_TR_NOOP("Evaluated on"), QT_TR_NOOP("Before"),
                                                     QT_TR_NOOP("After"),        QT_TR_NOOP("Change"),
                                                     QT_TR_NOOP("Status"),       QT_TR_NOOP("Created"),
                                                     QT_TR_NOOP("Time"),         QT_TR_NOOP("Tags"),
                                                     QT_TR_NOOP("Notes")};
    return tr(kTitles[section]);
  }
  if (role == Qt::ToolTipRole) {
    static const char* const kTips[ColumnCount] = {
        QT_TR_NOOP("Run id in this run store"),
        QT_TR_NOOP("Run name"),
        QT_TR_NOOP("Model file or directory"),
        QT_TR_NOOP("Decomposition (svd, fwsvd, iwsvd, asvd, whiten)"),
        QT_TR_NOOP("Rank selector (uniform, energy, manual, sensitivity, ars, rankdyna)"),
        QT_TR_NOOP("Requested fraction p of compressible parameters kept"),
        QT_TR_NOOP("Achieved fraction of compressible parameters kept"),
        QT_TR_NOOP("Headline metric"),
        QT_TR_NOOP("How the metric was measured: evaluation file, documents, tokens counted, options. "
                   "Only runs of one model evaluated the same way are comparable"),
        QT_TR_NOOP("Metric of the uncompressed model"),
        QT_TR_NOOP("Metric of the final compressed model"),
        QT_TR_NOOP("After / before - 1 (for perplexity lower is better, for accuracy higher)"),
        QT_TR_NOOP("running, succeeded or failed"),
        QT_TR_NOOP("When the run started (local time)"),
        QT_TR_NOOP("Wall time of the job"),
        QT_TR_NOOP("Comma-separated tags (F2 to edit)"),
        QT_TR_NOOP("Free-text notes (F2 to edit)")};
    return tr(kTips[section]);
  }
  return {};
}

Qt::ItemFlags RunTableModel::flags(const QModelIndex& index) const {
  // The root (an invalid index) is asked too; that is not a mistake worth checkIndex's warning.
  if (!index.isValid()) return Qt::NoItemFlags;
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return Qt::NoItemFlags;
  Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
  if (index.column() == Tags || index.column() == Notes) f |= Qt::ItemIsEditable;
  return f;
}

bool RunTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (role != Qt::EditRole) return false;
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return false;
  api::RunRecord& r = m_runs[size_t(index.row())];
  if (index.column() == Tags) {
    const QStringList tags = parseTags(value.toString());
    if (tags == tagList(r)) return true;
    r.tags.clear();
    for (const QString& t : tags) r.tags.push_back(t.toStdString());
    emit dataChanged(index, index);
    emit tagsEdited(qint64(r.id), tags);
    return true;
  }
  if (index.column() == Notes) {
    const QString notes = value.toString();
    if (notes == qs(r.notes)) return true;
    r.notes = notes.toStdString();
    emit dataChanged(index, index);
    emit notesEdited(qint64(r.id), notes);
    return true;
  }
  return false;
}

}  // namespace ranklab::widgets
