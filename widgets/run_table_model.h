// RunTableModel: the stored runs (api::RunRecord) as a table, one row per run, newest first as the
// run store lists them. DisplayRole is formatted for people ("–" for metrics not measured); SortRole
// gives the raw value (numbers as double, text as QString, an invalid QVariant for unknown numbers
// so they sort after every known one) for a proxy with setSortRole(SortRole); RunIdRole gives the
// run id (qlonglong) on every column. Tags and Notes are editable: an edit updates the row and emits
// tagsEdited / notesEdited, which the app layer writes to the run store. GUI thread only.
#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <cstdint>
#include <vector>

#include "api/run.h"

namespace ranklab::widgets {

class RunTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    Id,
    Name,
    Model,  // file name of modelPath
    Decomposition,
    Selector,
    Target,       // keepTarget, the requested kept fraction p
    Achieved,     // keptFraction, the achieved p
    Metric,       // "perplexity" | "accuracy"
    EvaluatedOn,  // the metric's protocol (api/protocol.h: protocolLabel)
    Before,       // metricBefore
    After,        // metricAfter
    Change,       // after / before - 1, a signed percentage
    Status,
    Created,
    Seconds,
    Tags,
    Notes,
    ColumnCount
  };
  static constexpr int SortRole = Qt::UserRole;
  static constexpr int RunIdRole = Qt::UserRole + 1;

  explicit RunTableModel(QObject* parent = nullptr);

  // Replaces all rows (a model reset). Runs are expected newest first.
  void setRuns(std::vector<api::RunRecord> runs);
  // Updates the row with run.id (dataChanged over the row), or inserts it as the first row (a new run
  // is the newest). Used live while a job writes its run.
  void upsertRun(const api::RunRecord& run);
  // Removes the rows of these ids (unknown ids are ignored), one beginRemoveRows per contiguous block.
  void removeRuns(const std::vector<int64_t>& ids);
  void clear() { setRuns({}); }

  const std::vector<api::RunRecord>& runs() const { return m_runs; }
  // The run at `row`, or nullptr when row is out of range.
  const api::RunRecord* runAt(int row) const;
  // The row of run `id`, or -1.
  int rowOf(int64_t id) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  // Tags: comma-separated text, each tag trimmed, empty and repeated tags dropped. Notes: as typed.
  // Emits tagsEdited / notesEdited when the value changed. Other columns are read-only.
  bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

  // "a, b ,,c" -> {"a", "b", "c"}.
  static QStringList parseTags(const QString& text);

 signals:
  void tagsEdited(qint64 id, QStringList tags);
  void notesEdited(qint64 id, QString notes);

 private:
  QVariant rawValue(const api::RunRecord& run, int column) const;
  QVariant displayValue(const api::RunRecord& run, int column) const;
  QString toolTip(const api::RunRecord& run, int column) const;

  std::vector<api::RunRecord> m_runs;
};

}  // namespace ranklab::widgets
