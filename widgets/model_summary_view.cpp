#include "widgets/model_summary_view.h"

#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include "widgets/op_table_model.h"

namespace ranklab::widgets {
namespace {

const QString kNone = QStringLiteral("\u2014");  // em dash: "not known / no model"

QString count(int64_t n) { return n > 0 ? QLocale().toString(qlonglong(n)) : kNone; }

// Exact count plus a short form ("124 439 808  (124.4 M)") for parameter totals.
QString params(int64_t n) {
  if (n <= 0) return kNone;
  static const char* const kUnits[] = {"", " K", " M", " G", " T"};
  double v = double(n);
  int unit = 0;
  while (v >= 1000.0 && unit < 4) {
    v /= 1000.0;
    ++unit;
  }
  const QString exact = QLocale().toString(qlonglong(n));
  if (unit == 0) return exact;
  return QStringLiteral("%1  (%2%3)").arg(exact, QLocale().toString(v, 'f', 1), QLatin1String(kUnits[unit]));
}

}  // namespace

ModelSummaryView::ModelSummaryView(QWidget* parent) : QWidget(parent) {
  auto* header = new QGroupBox(tr("Model"), this);
  auto* left = new QFormLayout;
  auto* right = new QFormLayout;
  struct Field {
    const char* key;
    QString title;
    QFormLayout* form;
  };
  const Field fields[] = {
      {"architecture", tr("Architecture:"), left},
      {"params", tr("Parameters:"), left},
      {"compressible", tr("Compressible params:"), left},
      {"format", tr("Format:"), left},
      {"layers", tr("Layers:"), right},
      {"hidden", tr("Hidden size:"), right},
      {"heads", tr("Heads (KV):"), right},
      {"vocab", tr("Vocabulary:"), right},
      {"context", tr("Context:"), right},
  };
  for (const Field& f : fields) {
    auto* value = new QLabel(kNone, header);
    value->setObjectName(QString::fromLatin1(f.key));
    value->setTextInteractionFlags(Qt::TextSelectableByMouse);
    f.form->addRow(f.title, value);
  }
  auto* source = new QLabel(kNone, header);
  source->setObjectName(QStringLiteral("source"));
  source->setTextInteractionFlags(Qt::TextSelectableByMouse);
  source->setWordWrap(true);

  auto* columns = new QHBoxLayout;
  columns->addLayout(left, 1);
  columns->addSpacing(24);
  columns->addLayout(right, 1);
  auto* headerLayout = new QVBoxLayout(header);
  headerLayout->addLayout(columns);
  auto* sourceForm = new QFormLayout;
  sourceForm->addRow(tr("Source:"), source);
  headerLayout->addLayout(sourceForm);

  m_model = new OpTableModel(this);
  m_proxy = new QSortFilterProxyModel(this);
  m_proxy->setSourceModel(m_model);
  m_proxy->setSortRole(OpTableModel::RawValueRole);
  m_proxy->setFilterKeyColumn(OpTableModel::Name);
  m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);

  m_filter = new QLineEdit(this);
  m_filter->setObjectName(QStringLiteral("opFilter"));
  m_filter->setPlaceholderText(tr("Filter ops by name, e.g. attn.q or layers.3."));
  m_filter->setClearButtonEnabled(true);
  connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
    m_proxy->setFilterFixedString(text);
    updateCount();
  });
  m_count = new QLabel(this);
  m_count->setObjectName(QStringLiteral("opCount"));

  m_table = new QTableView(this);
  m_table->setObjectName(QStringLiteral("opTable"));
  m_table->setModel(m_proxy);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(-1, Qt::AscendingOrder);  // registry order until the user picks a column
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setAlternatingRowColors(true);
  m_table->setWordWrap(false);
  m_table->verticalHeader()->setVisible(false);
  QHeaderView* tableHeader = m_table->horizontalHeader();
  tableHeader->setSectionResizeMode(QHeaderView::Interactive);
  tableHeader->setSectionResizeMode(OpTableModel::Name, QHeaderView::Stretch);
  tableHeader->setStretchLastSection(false);
  tableHeader->setMinimumSectionSize(60);
  for (int c = OpTableModel::Layer; c < OpTableModel::ColumnCount; ++c) m_table->setColumnWidth(c, 90);

  auto* filterRow = new QHBoxLayout;
  filterRow->addWidget(new QLabel(tr("Compressible ops:"), this));
  filterRow->addWidget(m_filter, 1);
  filterRow->addWidget(m_count);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(header);
  layout->addLayout(filterRow);
  layout->addWidget(m_table, 1);

  updateHeader();
  updateCount();
}

QLabel* ModelSummaryView::fieldLabel(const QString& key) const {
  return key.isEmpty() ? nullptr : findChild<QLabel*>(key);
}

void ModelSummaryView::setSummary(const api::ModelSummary& summary) {
  m_summary = summary;
  m_model->setOps(summary.ops);
  updateHeader();
  updateCount();
}

void ModelSummaryView::setFilterText(const QString& text) { m_filter->setText(text); }

void ModelSummaryView::updateHeader() {
  const api::ModelSummary& s = m_summary;
  auto set = [this](const char* key, const QString& text) {
    if (QLabel* label = fieldLabel(QString::fromLatin1(key))) label->setText(text);
  };
  set("architecture",
      s.architecture.empty() ? tr("no model loaded") : QString::fromStdString(s.architecture));
  set("params", params(s.totalParams));
  QString compressible = params(s.compressibleParams);
  if (s.totalParams > 0 && s.compressibleParams > 0) {
    compressible +=
        tr(", %1% of all").arg(100.0 * double(s.compressibleParams) / double(s.totalParams), 0, 'f', 1);
  }
  set("compressible", compressible);
  set("format", s.format.empty() ? kNone : QString::fromStdString(s.format));
  set("layers", count(s.layers));
  set("hidden", count(s.hidden));
  QString heads = count(s.heads);
  if (s.heads > 0 && s.kvHeads > 0) heads += QStringLiteral(" (%1)").arg(s.kvHeads);
  set("heads", heads);
  set("vocab", count(s.vocab));
  set("context", count(s.context));
  set("source", s.source.empty() ? kNone : QString::fromStdString(s.source));
}

void ModelSummaryView::updateCount() {
  const int total = m_model->rowCount();
  const int shown = m_proxy->rowCount();
  m_count->setText(shown == total ? tr("%n op(s)", nullptr, total)
                                  : tr("%1 of %n op(s)", nullptr, total).arg(shown));
}

}  // namespace ranklab::widgets
