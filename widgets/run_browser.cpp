#include "widgets/run_browser.h"

#include <QAction>
#include <QComboBox>
#include <QDataStream>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIcon>
#include <QItemSelection>
#include <QItemSelectionModel>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMap>
#include <QMenu>
#include <QMessageBox>
#include <QRegularExpression>
#include <QSignalBlocker>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <exception>

#include "api/protocol.h"
#include "widgets/run_table_model.h"

namespace ranklab::widgets {

// Filters on the run records themselves rather than on display strings, so the text filter can look
// at fields that have no column of their own (the full model path) and at both method columns.
class RunFilterProxy : public QSortFilterProxyModel {
 public:
  using QSortFilterProxyModel::QSortFilterProxyModel;

  // Whitespace-separated words; a run matches when every word is a case-insensitive substring of
  // its name, model path, decomposition, selector, tags or notes.
  void setText(const QString& text) {
    const QStringList words = text.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts);
    if (words == m_words) return;
    m_words = words;
    invalidateFilter();
  }
  // "" shows every status.
  void setStatus(const QString& status) {
    if (status == m_status) return;
    m_status = status;
    invalidateFilter();
  }
  // "" shows every comparison group.
  void setGroup(const QString& group) {
    if (group == m_group) return;
    m_group = group;
    invalidateFilter();
  }

 protected:
  bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override {
    if (sourceParent.isValid()) return false;
    const auto* model = qobject_cast<const RunTableModel*>(sourceModel());
    const api::RunRecord* run = model ? model->runAt(sourceRow) : nullptr;
    if (!run) return false;
    if (!m_status.isEmpty() && QString::fromStdString(run->status) != m_status) return false;
    if (!m_group.isEmpty() && QString::fromStdString(api::comparisonGroup(*run)) != m_group) return false;
    if (m_words.isEmpty()) return true;
    QStringList fields = {QString::fromStdString(run->name),
                          QString::fromStdString(run->modelPath),
                          QString::fromStdString(run->decomposition),
                          QString::fromStdString(run->selector),
                          QString::fromStdString(run->notes),
                          QString::fromStdString(api::protocolLabel(run->protocol))};
    for (const std::string& tag : run->tags) fields << QString::fromStdString(tag);
    const QString haystack = fields.join(QLatin1Char('\n'));
    return std::all_of(m_words.cbegin(), m_words.cend(),
                       [&](const QString& word) { return haystack.contains(word, Qt::CaseInsensitive); });
  }

 private:
  QStringList m_words;
  QString m_status;
  QString m_group;
};

namespace {

constexpr quint32 kStateMagic = 0x524b5242;  // "RKRB"
constexpr quint32 kStateVersion = 2;         // 2: the Evaluated on column

}  // namespace

RunBrowser::RunBrowser(QWidget* parent) : QWidget(parent) {
  m_model = new RunTableModel(this);
  m_proxy = new RunFilterProxy(this);
  m_proxy->setSourceModel(m_model);
  m_proxy->setSortRole(RunTableModel::SortRole);
  m_proxy->setSortCaseSensitivity(Qt::CaseInsensitive);
  m_proxy->setDynamicSortFilter(true);

  m_filter = new QLineEdit(this);
  m_filter->setObjectName(QStringLiteral("runFilter"));
  m_filter->setPlaceholderText(tr("Filter runs by name, model, method, evaluation, tag or note (Ctrl+F)"));
  m_filter->setClearButtonEnabled(true);
  connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) { m_proxy->setText(text); });

  m_status = new QComboBox(this);
  m_status->setObjectName(QStringLiteral("statusFilter"));
  m_status->addItem(tr("All runs"), QString());
  m_status->addItem(tr("Succeeded"), QStringLiteral("succeeded"));
  m_status->addItem(tr("Failed"), QStringLiteral("failed"));
  m_status->addItem(tr("Interrupted"), QStringLiteral("interrupted"));
  m_status->addItem(tr("Running"), QStringLiteral("running"));
  connect(m_status, &QComboBox::currentIndexChanged, this,
          [this](int index) { m_proxy->setStatus(m_status->itemData(index).toString()); });

  m_protocol = new QComboBox(this);
  m_protocol->setObjectName(QStringLiteral("protocolFilter"));
  m_protocol->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_protocol->setMinimumContentsLength(24);
  m_protocol->setToolTip(
      tr("Show only runs of one model evaluated the same way (the runs whose metrics "
         "can be compared)"));
  m_protocol->addItem(tr("Any evaluation"), QString());
  connect(m_protocol, &QComboBox::currentIndexChanged, this,
          [this](int index) { m_proxy->setGroup(m_protocol->itemData(index).toString()); });

  m_count = new QLabel(this);
  m_count->setObjectName(QStringLiteral("runCount"));

  m_table = new QTableView(this);
  m_table->setObjectName(QStringLiteral("runTable"));
  m_table->setModel(m_proxy);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(RunTableModel::Created, Qt::DescendingOrder);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
  // Double click opens a run, so editing tags and notes starts with F2 or a click on a selected cell.
  m_table->setEditTriggers(QAbstractItemView::EditKeyPressed | QAbstractItemView::SelectedClicked);
  m_table->setAlternatingRowColors(true);
  m_table->setWordWrap(false);
  m_table->setContextMenuPolicy(Qt::CustomContextMenu);
  m_table->verticalHeader()->setVisible(false);
  m_table->installEventFilter(this);
  QHeaderView* header = m_table->horizontalHeader();
  header->setSectionResizeMode(QHeaderView::Interactive);
  header->setSectionsMovable(true);
  header->setStretchLastSection(true);
  header->setMinimumSectionSize(40);
  const std::pair<int, int> widths[] = {{RunTableModel::Id, 50},           {RunTableModel::Name, 200},
                                        {RunTableModel::Model, 120},       {RunTableModel::Decomposition, 95},
                                        {RunTableModel::Selector, 90},     {RunTableModel::Target, 65},
                                        {RunTableModel::Achieved, 75},     {RunTableModel::Metric, 85},
                                        {RunTableModel::EvaluatedOn, 220}, {RunTableModel::Before, 75},
                                        {RunTableModel::After, 75},        {RunTableModel::Change, 70},
                                        {RunTableModel::Status, 80},       {RunTableModel::Created, 125},
                                        {RunTableModel::Seconds, 80},      {RunTableModel::Tags, 130}};
  for (const auto& [column, width] : widths) m_table->setColumnWidth(column, width);

  m_compareAction =
      new QAction(QIcon::fromTheme(QStringLiteral("view-split-left-right")), tr("Compare"), this);
  m_compareAction->setObjectName(QStringLiteral("compareRuns"));
  m_compareAction->setToolTip(tr("Compare 2 to 4 selected runs side by side"));
  connect(m_compareAction, &QAction::triggered, this, &RunBrowser::compareSelected);

  m_deleteAction = new QAction(QIcon::fromTheme(QStringLiteral("edit-delete")), tr("Delete\u2026"), this);
  m_deleteAction->setObjectName(QStringLiteral("deleteRuns"));
  m_deleteAction->setToolTip(tr("Delete the selected runs from the run store (Delete)"));
  m_deleteAction->setShortcut(QKeySequence::Delete);
  // Only while the table has focus: Delete in the filter box or a cell editor edits text.
  m_deleteAction->setShortcutContext(Qt::WidgetShortcut);
  connect(m_deleteAction, &QAction::triggered, this, &RunBrowser::deleteSelected);
  m_table->addAction(m_deleteAction);

  m_findAction = new QAction(tr("Find"), this);
  m_findAction->setShortcut(QKeySequence::Find);
  m_findAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  connect(m_findAction, &QAction::triggered, this, [this] {
    m_filter->setFocus(Qt::ShortcutFocusReason);
    m_filter->selectAll();
  });
  addAction(m_findAction);

  m_compareButton = new QToolButton(this);
  m_compareButton->setDefaultAction(m_compareAction);
  m_compareButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  m_deleteButton = new QToolButton(this);
  m_deleteButton->setDefaultAction(m_deleteAction);
  m_deleteButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);

  auto* top = new QHBoxLayout;
  top->addWidget(m_filter, 1);
  top->addWidget(m_status);
  top->addWidget(m_protocol);
  top->addWidget(m_count);
  top->addSpacing(12);
  top->addWidget(m_compareButton);
  top->addWidget(m_deleteButton);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(m_table, 1);

  connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
    if (index.isValid()) emit runActivated(index.data(RunTableModel::RunIdRole).toLongLong());
  });
  connect(m_table, &QWidget::customContextMenuRequested, this, &RunBrowser::showContextMenu);
  connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &RunBrowser::selectionMayHaveChanged);
  // A reset (the app reloading the runs) clears the selection without a selectionChanged signal;
  // keep the runs that are still there selected.
  connect(m_model, &QAbstractItemModel::modelAboutToBeReset, this, [this] {
    m_selectionBeforeReset = selectedIds();
    m_resetting = true;
  });
  connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
    m_resetting = false;
    selectIds(m_selectionBeforeReset);
    m_selectionBeforeReset.clear();
  });
  const auto rowsChanged = [this] {
    selectionMayHaveChanged();
    updateCount();
  };
  // The protocol box lists the groups of every run loaded, whatever the other filters show.
  connect(m_model, &QAbstractItemModel::modelReset, this, &RunBrowser::rebuildProtocolBox);
  connect(m_model, &QAbstractItemModel::rowsInserted, this, &RunBrowser::rebuildProtocolBox);
  connect(m_model, &QAbstractItemModel::rowsRemoved, this, &RunBrowser::rebuildProtocolBox);
  connect(m_model, &QAbstractItemModel::dataChanged, this, &RunBrowser::rebuildProtocolBox);
  connect(m_proxy, &QAbstractItemModel::rowsInserted, this, rowsChanged);
  connect(m_proxy, &QAbstractItemModel::rowsRemoved, this, rowsChanged);
  connect(m_proxy, &QAbstractItemModel::modelReset, this, rowsChanged);
  connect(m_proxy, &QAbstractItemModel::layoutChanged, this, rowsChanged);

  updateActions();
  updateCount();
}

QSortFilterProxyModel* RunBrowser::proxy() const { return m_proxy; }

void RunBrowser::setFilterText(const QString& text) { m_filter->setText(text); }

void RunBrowser::setProtocolFilter(const QString& group) {
  rebuildProtocolBox();
  const int index = m_protocol->findData(group);
  m_protocol->setCurrentIndex(std::max(0, index));
}

void RunBrowser::rebuildProtocolBox() {
  QMap<QString, std::pair<QString, int>> groups;  // key -> (label, runs)
  for (const api::RunRecord& run : m_model->runs()) {
    if (run.metric.empty()) continue;
    auto& g = groups[QString::fromStdString(api::comparisonGroup(run))];
    if (g.first.isEmpty()) g.first = QString::fromStdString(api::groupLabel(run));
    ++g.second;
  }
  const QString current = m_protocol->currentData().toString();
  const QSignalBlocker block(m_protocol);
  m_protocol->clear();
  m_protocol->addItem(tr("Any evaluation"), QString());
  for (auto it = groups.cbegin(); it != groups.cend(); ++it)
    m_protocol->addItem(it->second == 1 ? tr("%1 (1 run)").arg(it->first)
                                        : tr("%1 (%2 runs)").arg(it->first, QString::number(it->second)),
                        it.key());
  const int index = m_protocol->findData(current);
  m_protocol->setCurrentIndex(std::max(0, index));
  if (index < 0 && !current.isEmpty()) m_proxy->setGroup(QString());
  m_protocol->setEnabled(groups.size() > 1 || !current.isEmpty());
}

void RunBrowser::setStatusFilter(const QString& status) {
  const int index = m_status->findData(status);
  if (index >= 0) m_status->setCurrentIndex(index);
}

QList<qint64> RunBrowser::selectedIds() const {
  QModelIndexList rows = m_table->selectionModel()->selectedRows();
  std::sort(rows.begin(), rows.end(),
            [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
  QList<qint64> ids;
  for (const QModelIndex& index : rows) ids << index.data(RunTableModel::RunIdRole).toLongLong();
  return ids;
}

void RunBrowser::selectIds(const QList<qint64>& ids) {
  QItemSelection selection;
  QModelIndex first;
  for (qint64 id : ids) {
    const QModelIndex index = m_proxy->mapFromSource(m_model->index(m_model->rowOf(id), 0));
    if (!index.isValid()) continue;
    selection.select(index, index);
    if (!first.isValid() || index.row() < first.row()) first = index;
  }
  QItemSelectionModel* model = m_table->selectionModel();
  model->select(selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  if (first.isValid()) model->setCurrentIndex(first, QItemSelectionModel::NoUpdate);
  selectionMayHaveChanged();
}

void RunBrowser::setConfirmer(Confirmer confirmer) { m_confirmer = std::move(confirmer); }

bool RunBrowser::confirm(const QString& question) {
  if (!m_confirmer) {
    return QMessageBox::question(this, tr("Delete runs"), question, QMessageBox::Yes | QMessageBox::No,
                                 QMessageBox::No) == QMessageBox::Yes;
  }
  try {
    return m_confirmer(question);
  } catch (const std::exception& e) {
    qWarning("RunBrowser: the delete confirmation failed (%s); nothing deleted", e.what());
  } catch (...) {
    qWarning("RunBrowser: the delete confirmation failed; nothing deleted");
  }
  return false;
}

void RunBrowser::compareSelected() {
  const QList<qint64> ids = selectedIds();
  if (ids.size() >= kMinCompare && ids.size() <= kMaxCompare) emit compareRequested(ids);
}

void RunBrowser::deleteSelected() {
  const QList<qint64> ids = selectedIds();
  if (ids.isEmpty()) return;
  QString question;
  if (ids.size() == 1) {
    const api::RunRecord* run = m_model->runAt(m_model->rowOf(ids.front()));
    question = tr("Delete 1 run, \"%1\"?")
                   .arg(run ? QString::fromStdString(run->name) : QString::number(ids.front()));
  } else {
    question = tr("Delete %1 runs?").arg(ids.size());
  }
  question += QLatin1Char(' ') + tr("Their results, series and masks are removed from the run store. "
                                    "This cannot be undone.");
  if (confirm(question)) emit deleteRequested(ids);
}

QByteArray RunBrowser::saveState() const {
  QByteArray state;
  QDataStream out(&state, QIODevice::WriteOnly);
  out << kStateMagic << kStateVersion << m_table->horizontalHeader()->saveState();
  return state;
}

bool RunBrowser::restoreState(const QByteArray& state) {
  QDataStream in(state);
  quint32 magic = 0, version = 0;
  QByteArray headerState;
  in >> magic >> version >> headerState;
  if (in.status() != QDataStream::Ok || magic != kStateMagic || version != kStateVersion) return false;
  QHeaderView* header = m_table->horizontalHeader();
  if (!header->restoreState(headerState)) return false;
  m_table->sortByColumn(header->sortIndicatorSection(), header->sortIndicatorOrder());
  return true;
}

bool RunBrowser::eventFilter(QObject* watched, QEvent* event) {
  // While a cell editor is open it has the focus and gets the keys, so Enter here means "open".
  if (watched == m_table && event->type() == QEvent::KeyPress) {
    const auto* key = static_cast<QKeyEvent*>(event);
    if ((key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter) && key->modifiers() == Qt::NoModifier) {
      const QModelIndex current = m_table->currentIndex();
      if (current.isValid()) {
        emit runActivated(current.data(RunTableModel::RunIdRole).toLongLong());
        return true;
      }
    }
  }
  return QWidget::eventFilter(watched, event);
}

void RunBrowser::selectionMayHaveChanged() {
  if (m_resetting) return;  // the selection is put back once the reset is done
  const QList<qint64> ids = selectedIds();
  updateActions();
  if (ids == m_lastSelection) return;
  m_lastSelection = ids;
  emit selectionChanged(ids);
}

void RunBrowser::updateActions() {
  const qsizetype n = m_table->selectionModel()->selectedRows().size();
  m_compareAction->setEnabled(n >= kMinCompare && n <= kMaxCompare);
  m_deleteAction->setEnabled(n > 0);
}

void RunBrowser::updateCount() {
  const int total = m_model->rowCount();
  const int shown = m_proxy->rowCount();
  m_count->setText(shown == total ? tr("%1 runs").arg(total) : tr("%1 of %2 runs").arg(shown).arg(total));
}

void RunBrowser::editColumn(int column) {
  const QModelIndex current = m_table->currentIndex();
  if (!current.isValid()) return;
  const QModelIndex cell = m_proxy->index(current.row(), column);
  m_table->setCurrentIndex(cell);
  m_table->edit(cell);
}

void RunBrowser::showContextMenu(const QPoint& pos) {
  const QModelIndex at = m_table->indexAt(pos);
  QMenu menu(this);
  QAction* open = menu.addAction(tr("Open"));
  open->setEnabled(at.isValid());
  connect(open, &QAction::triggered, this,
          [this, at] { emit runActivated(at.data(RunTableModel::RunIdRole).toLongLong()); });
  menu.addAction(m_compareAction);
  menu.addSeparator();
  QAction* tags = menu.addAction(tr("Edit tags"));
  QAction* notes = menu.addAction(tr("Edit notes"));
  tags->setEnabled(at.isValid());
  notes->setEnabled(at.isValid());
  connect(tags, &QAction::triggered, this, [this] { editColumn(RunTableModel::Tags); });
  connect(notes, &QAction::triggered, this, [this] { editColumn(RunTableModel::Notes); });
  menu.addSeparator();
  menu.addAction(m_deleteAction);
  menu.exec(m_table->viewport()->mapToGlobal(pos));
}

}  // namespace ranklab::widgets
