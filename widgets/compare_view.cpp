#include "widgets/compare_view.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QDir>
#include <QHBoxLayout>
#include <QHash>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QScrollBar>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <exception>
#include <map>

#include "api/protocol.h"
#include "widgets/placeholder_stack.h"
#include "widgets/plot_export.h"
#include "widgets/plot_interaction.h"

namespace ranklab::widgets {
namespace {

const QString kAbsent = QStringLiteral("\u2013");  // en dash: the run lacks this key / not measured

QString qs(const std::string& s) { return QString::fromStdString(s); }

QString jsonText(const QJsonValue& v) {
  switch (v.type()) {
    case QJsonValue::String:
      return v.toString();
    // The shortest exact form, so 0.5 from the record and 0.500000 from the JSON compare equal.
    case QJsonValue::Double:
      return PlotExport::csvNumber(v.toDouble());
    case QJsonValue::Bool:
      return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Null:
      return QStringLiteral("null");
    case QJsonValue::Array:
      return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
    case QJsonValue::Object:
      return QString::fromUtf8(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact));
    default:
      return QString();
  }
}

// What a cell shows: a non-integral number at four significant digits (the exact value is in the
// tooltip and the CSV export); anything else as stored.
QString displayText(const QString& exact) {
  bool ok = false;
  const double v = exact.toDouble(&ok);
  if (!ok || !std::isfinite(v) || v == std::trunc(v)) return exact;
  return QString::number(v, 'g', 4);
}

// Settings the run reports rather than the user sets: the job's run-time details and the kept
// fraction it reached.
bool isRunTimeDetail(const QString& key) {
  return key.startsWith(QLatin1String("_details")) || key == QLatin1String("keptFraction");
}

// Nested objects become dotted keys; arrays and empty objects stay one value.
void flatten(const QJsonObject& object, const QString& prefix, std::map<QString, QString>& out) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    const QString key = prefix.isEmpty() ? it.key() : prefix + QLatin1Char('.') + it.key();
    if (it.value().isObject() && !it.value().toObject().isEmpty()) {
      flatten(it.value().toObject(), key, out);
    } else {
      out[key] = jsonText(it.value());
    }
  }
}

std::map<QString, QString> configValues(const std::string& json) {
  std::map<QString, QString> values;
  if (json.empty()) return values;
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json), &error);
  if (error.error != QJsonParseError::NoError) {
    values[QStringLiteral("configJson")] =
        CompareView::tr("not valid JSON (%1 at offset %2)").arg(error.errorString()).arg(error.offset);
  } else if (!doc.isObject()) {
    values[QStringLiteral("configJson")] = CompareView::tr("not a JSON object");
  } else {
    flatten(doc.object(), QString(), values);
  }
  return values;
}

QString metricText(const std::string& metric, double v) {
  if (!std::isfinite(v)) return kAbsent;
  return QLocale().toString(v, 'f', api::isAccuracyMetric(metric) ? 4 : 2);
}

QString signedText(double v, int decimals, const QString& suffix = QString()) {
  if (!std::isfinite(v)) return kAbsent;
  const QString text = QLocale().toString(v, 'f', decimals) + suffix;
  return v > 0.0 ? QLatin1Char('+') + text : text;
}

QString paramsText(int64_t n) { return n > 0 ? QLocale().toString(qlonglong(n)) : kAbsent; }

QString pickLossSeries(const std::vector<api::SeriesPoint>& series) {
  auto has = [&](const char* name) {
    return std::any_of(series.begin(), series.end(),
                       [&](const api::SeriesPoint& p) { return p.name == name; });
  };
  if (has("task_loss")) return QStringLiteral("task_loss");
  if (has("finetune_loss")) return QStringLiteral("finetune_loss");
  for (const api::SeriesPoint& p : series)
    if (p.name.find("loss") != std::string::npos) return qs(p.name);
  return series.empty() ? QString() : qs(series.front().name);
}

QTableWidgetItem* readOnlyItem(const QString& text) {
  auto* item = new QTableWidgetItem(text);
  item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
  return item;
}

// Moves the plot's legend out of its axis rect into a row of its own above it, so it never covers
// data; `wrap` entries per row (0: one row).
void legendAbovePlot(QCustomPlot& plot, int wrap) {
  plot.axisRect()->insetLayout()->take(plot.legend);
  plot.plotLayout()->insertRow(0);
  plot.plotLayout()->addElement(0, 0, plot.legend);
  plot.plotLayout()->setRowStretchFactor(0, 0.001);
  plot.legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  plot.legend->setWrap(wrap);
  plot.legend->setBorderPen(Qt::NoPen);
  plot.legend->setVisible(true);
}

// Saves by suffix at no less than a readable size (the view may be hidden or small when exporting).
bool savePlot(QCustomPlot& plot, const QString& path, int minWidth, int minHeight, QString* error) {
  return PlotExport::saveFigure(plot, path, error, std::max(plot.width(), minWidth),
                                std::max(plot.height(), minHeight));
}

const QColor kBetter(0x2e, 0x7d, 0x32), kWorse(0xc6, 0x28, 0x28);

// Colours a difference to the first run: green where it is better (lower perplexity, higher
// accuracy), red where worse; nothing for no difference or none measured.
void colourDelta(QTableWidgetItem* item, const std::string& metric, double delta) {
  if (!std::isfinite(delta) || delta == 0.0) return;
  item->setForeground((api::isAccuracyMetric(metric) ? delta > 0.0 : delta < 0.0) ? kBetter : kWorse);
}

// Why `rec` has no difference to `reference`, the first run (`first` is its "#id").
QString notComparableWhy(const QString& first, const api::RunRecord& reference, const api::RunRecord& rec) {
  if (rec.metric != reference.metric) return CompareView::tr("Different metrics cannot be compared");
  return CompareView::tr("Not comparable: evaluated differently from %1 (%2 vs %3)")
      .arg(first, qs(api::groupLabel(reference)), qs(api::groupLabel(rec)));
}

}  // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
  // Summary tab: metrics above the config diff.
  m_metricsTable = new QTableWidget(this);
  m_metricsTable->setObjectName(QStringLiteral("compareMetrics"));
  m_metricsTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_metricsTable->verticalHeader()->setVisible(false);
  m_metricsTable->horizontalHeader()->setStretchLastSection(true);

  m_diffTable = new QTableWidget(this);
  m_diffTable->setObjectName(QStringLiteral("compareDiff"));
  m_diffTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_diffTable->verticalHeader()->setVisible(false);
  m_diffTable->horizontalHeader()->setStretchLastSection(true);
  m_diffTable->setWordWrap(false);

  m_diffCount = new QLabel(this);
  m_showAll = new QCheckBox(tr("Show all"), this);
  m_showAll->setObjectName(QStringLiteral("compareShowAll"));
  m_showAll->setToolTip(tr("Show every setting, not only those that differ between the runs"));
  connect(m_showAll, &QCheckBox::toggled, this, [this] { fillDiffTable(); });
  m_showDetails = new QCheckBox(tr("Run-time details"), this);
  m_showDetails->setObjectName(QStringLiteral("compareShowDetails"));
  m_showDetails->setToolTip(
      tr("Also show what the runs reported rather than what was set: the kept fraction reached and "
         "the job's details (training steps taken, timings, read-off budgets)"));
  connect(m_showDetails, &QCheckBox::toggled, this, [this] { fillDiffTable(); });
  auto* diffExport = new QPushButton(tr("Export CSV\u2026"), this);
  connect(diffExport, &QPushButton::clicked, this, [this] {
    PlotExport::exportWithDialog(
        this, QDir::home().filePath(QStringLiteral("compare-config")), PlotExport::Formats::Csv,
        tr("Export config diff"),
        [this](const QString& path, QString* error) { return exportDiffCsv(path, error); });
  });

  auto* diffBox = new QWidget(this);
  auto* diffBar = new QHBoxLayout;
  diffBar->addWidget(new QLabel(tr("<b>Configuration</b>"), diffBox));
  diffBar->addWidget(m_diffCount, 1);
  diffBar->addWidget(m_showAll);
  diffBar->addWidget(m_showDetails);
  diffBar->addWidget(diffExport);
  auto* diffLayout = new QVBoxLayout(diffBox);
  diffLayout->setContentsMargins(0, 0, 0, 0);
  diffLayout->addLayout(diffBar);
  diffLayout->addWidget(m_diffTable, 1);

  auto* metricsBox = new QWidget(this);
  auto* metricsLayout = new QVBoxLayout(metricsBox);
  metricsLayout->setContentsMargins(0, 0, 0, 0);
  metricsLayout->addWidget(new QLabel(tr("<b>Metrics</b> (deltas against the first run)"), metricsBox));
  metricsLayout->addWidget(m_metricsTable, 1);

  auto* summary = new QSplitter(Qt::Vertical, this);
  m_summarySplitter = summary;
  summary->addWidget(metricsBox);
  summary->addWidget(diffBox);
  summary->setStretchFactor(1, 1);

  // Rank allocation tab: the legend in its own row above the bars, so it never covers them.
  m_rankPlot = new QCustomPlot(this);
  m_rankPlot->setObjectName(QStringLiteral("compareRanks"));
  auto* rankInteraction = new PlotInteraction(m_rankPlot);  // owned by the plot
  rankInteraction->setHoverText([this](const QPoint& pixel) { return rankHoverText(pixel); });
  rankInteraction->setResetHandler([this] { resetRankRange(); });
  m_rankPlot->axisRect()->setRangeDrag(Qt::Horizontal);  // pan and zoom the ops; ranks keep scale
  m_rankPlot->axisRect()->setRangeZoom(Qt::Horizontal);
  legendAbovePlot(*m_rankPlot, 0);
  m_rankGroup = new QCPBarsGroup(m_rankPlot);
  m_rankGroup->setSpacingType(QCPBarsGroup::stAbsolute);
  m_rankGroup->setSpacing(1);
  m_rankPlot->xAxis->setSubTicks(false);
  m_rankPlot->xAxis->setTickLabelRotation(60);
  m_rankPlot->xAxis->setLabel(tr("op"));
  auto* rankPage = new QWidget(this);
  m_rankDifference = new QCheckBox(tr("Difference to the first run"), rankPage);
  m_rankDifference->setObjectName(QStringLiteral("compareRankDifference"));
  m_rankDifference->setToolTip(
      tr("Plot each later run's rank minus the first run's, per op: above zero the run keeps more"));
  connect(m_rankDifference, &QCheckBox::toggled, this, [this] { drawRankBars(); });
  auto* rankExport = new QPushButton(tr("Export\u2026"), rankPage);
  connect(rankExport, &QPushButton::clicked, this,
          [this] { exportWithDialog(m_rankPlot, QStringLiteral("compare-ranks")); });
  auto* rankBar = new QHBoxLayout;
  auto* rankCaption =
      new QLabel(tr("Kept rank per op, the runs side by side (wheel or drag: zoom and pan the ops; "
                    "double-click: reset)"),
                 rankPage);
  rankCaption->setWordWrap(true);
  rankBar->addWidget(rankCaption, 1);
  rankBar->addWidget(m_rankDifference);
  rankBar->addWidget(rankExport);
  auto* rankLayout = new QVBoxLayout(rankPage);
  rankLayout->addLayout(rankBar);
  rankLayout->addWidget(m_rankPlot, 1);

  // Curves tab.
  m_curvePlot = new QCustomPlot(this);
  m_curvePlot->setObjectName(QStringLiteral("compareCurves"));
  auto* curveInteraction = new PlotInteraction(m_curvePlot);  // owned by the plot
  curveInteraction->setHoverText([this](const QPoint& pixel) {
    return PlotInteraction::nearestGraphText(*m_curvePlot, pixel, tr("step"));
  });
  curveInteraction->setResetHandler([this] { fitCurves(); });
  curveInteraction->setCrosshairRects([this] { return QList<QCPAxisRect*>{m_curvePlot->axisRect()}; });
  curveInteraction->setSmoothedGraphs([this] {
    QList<QCPGraph*> graphs;
    for (int i = 0; i < m_curvePlot->graphCount(); ++i)
      if (m_curvePlot->graph(i)->property("raw").toBool()) graphs << m_curvePlot->graph(i);
    return graphs;
  });
  m_curveInteraction = curveInteraction;
  legendAbovePlot(*m_curvePlot, 2);
  m_curvePlot->xAxis->setLabel(tr("step"));
  auto* curvePage = new QWidget(this);
  auto* curveExport = new QPushButton(tr("Export\u2026"), curvePage);
  connect(curveExport, &QPushButton::clicked, this,
          [this] { exportWithDialog(m_curvePlot, QStringLiteral("compare-curves")); });
  m_curveNote = new QLabel(curvePage);
  m_curveNote->setObjectName(QStringLiteral("compareCurveNote"));
  m_curveNote->setWordWrap(true);
  auto* curveBar = new QHBoxLayout;
  auto* curveCaption = new QLabel(tr("Each run's loss against the training step, overlaid"), curvePage);
  curveCaption->setWordWrap(true);
  curveBar->addWidget(curveCaption, 1);
  curveBar->addWidget(curveInteraction->createSmoothingControl(curvePage));
  curveBar->addWidget(curveExport);
  auto* curveLayout = new QVBoxLayout(curvePage);
  curveLayout->addLayout(curveBar);
  curveLayout->addWidget(m_curveNote);
  curveLayout->addWidget(m_curvePlot, 1);

  m_tabs = new QTabWidget(this);
  m_tabs->addTab(summary, tr("Summary"));
  m_tabs->addTab(rankPage, tr("Rank allocation"));
  m_tabs->addTab(curvePage, tr("Curves"));

  m_stack = new PlaceholderStack(m_tabs, QStringLiteral("comparePlaceholder"), this);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_stack);

  setRuns({});
}

QColor CompareView::runColour(int run) {
  static const QColor kColours[kMaxRuns] = {QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e),
                                            QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28)};
  return kColours[((run % kMaxRuns) + kMaxRuns) % kMaxRuns];
}

bool CompareView::showsPlaceholder() const { return m_stack->placeholderShown(); }

QString CompareView::placeholderText() const {
  return showsPlaceholder() ? m_stack->placeholderText() : QString();
}

void CompareView::setRuns(const std::vector<api::RunData>& runs) {
  const int n = int(runs.size());
  if (n == 0) {
    showPlaceholder(tr("Select 2 to 4 runs in the run browser and choose Compare."));
    return;
  }
  if (n < kMinRuns) {
    showPlaceholder(
        tr("Compare needs at least 2 runs; 1 run was given. Select 2 to 4 runs in the run browser."));
    return;
  }
  if (n > kMaxRuns) {
    showPlaceholder(
        tr("Compare shows at most 4 runs side by side; %1 runs were given. Select fewer runs.").arg(n));
    return;
  }
  try {
    build(runs);
    m_stack->showContent();
  } catch (const std::exception& e) {
    showPlaceholder(tr("Could not compare these runs: %1").arg(QString::fromLocal8Bit(e.what())));
  }
}

void CompareView::showPlaceholder(const QString& text) {
  m_records.clear();
  m_otherMetrics.clear();
  m_diff.clear();
  m_opNames.clear();
  m_curveNames.clear();
  clearPlots();
  m_diffTable->clear();
  m_diffTable->setRowCount(0);
  m_diffTable->setColumnCount(0);
  m_metricsTable->clear();
  m_metricsTable->setRowCount(0);
  m_metricsTable->setColumnCount(0);
  m_diffCount->clear();
  m_stack->showPlaceholder(text);
}

void CompareView::build(const std::vector<api::RunData>& runs) {
  m_records.clear();
  m_otherMetrics.clear();
  for (const api::RunData& d : runs) {
    m_records.push_back(d.run);
    auto records = api::metricRecords(d.run, d.evals);
    m_otherMetrics.emplace_back(std::make_move_iterator(records.begin() + 1),
                                std::make_move_iterator(records.end()));
  }
  buildDiff(runs);
  fillDiffTable();
  buildMetrics();
  clearPlots();
  buildRankPlot(runs);
  buildCurves(runs);
}

QString CompareView::runLabel(int run) const {
  const api::RunRecord& r = m_records[size_t(run)];
  return r.name.empty() ? QStringLiteral("#%1").arg(r.id)
                        : QStringLiteral("#%1 %2").arg(r.id).arg(qs(r.name));
}

// ---- config diff ----

void CompareView::buildDiff(const std::vector<api::RunData>& runs) {
  m_diff.clear();
  const size_t n = runs.size();
  auto finish = [](DiffRow& row) {
    row.differs = std::any_of(row.values.begin(), row.values.end(),
                              [&](const std::optional<QString>& v) { return v != row.values.front(); });
  };

  struct Field {
    const char* key;
    QString (*text)(const api::RunRecord&);
  };
  static const Field kFields[] = {
      {"model", [](const api::RunRecord& r) { return qs(r.modelPath); }},
      {"decomposition", [](const api::RunRecord& r) { return qs(r.decomposition); }},
      {"selector", [](const api::RunRecord& r) { return qs(r.selector); }},
      {"keep", [](const api::RunRecord& r) { return PlotExport::csvNumber(r.keepTarget); }},
      {"keptFraction", [](const api::RunRecord& r) { return PlotExport::csvNumber(r.keptFraction); }},
      {"seed", [](const api::RunRecord& r) { return QString::number(r.seed); }},
      {"device", [](const api::RunRecord& r) { return qs(r.device); }},
  };
  QHash<QString, size_t> fieldRow;
  for (const Field& f : kFields) {
    DiffRow row;
    row.key = QString::fromLatin1(f.key);
    row.detail = isRunTimeDetail(row.key);
    for (const api::RunData& d : runs) row.values.emplace_back(f.text(d.run));
    finish(row);
    fieldRow.insert(row.key, m_diff.size());
    m_diff.push_back(std::move(row));
  }

  std::vector<std::map<QString, QString>> configs;
  std::map<QString, bool> configKeys;  // sorted union of every run's keys
  for (const api::RunData& d : runs) {
    configs.push_back(configValues(d.run.configJson));
    for (const auto& [key, value] : configs.back()) configKeys[key] = true;
  }
  for (const auto& [key, unused] : configKeys) {
    DiffRow row;
    row.key = key;
    for (size_t i = 0; i < n; ++i) {
      const auto it = configs[i].find(key);
      row.values.push_back(it == configs[i].end() ? std::nullopt : std::optional<QString>(it->second));
    }
    finish(row);
    row.detail = isRunTimeDetail(key);
    const auto field = fieldRow.constFind(key);
    if (field != fieldRow.constEnd()) {
      // The spec repeats most record fields; show such a key once unless the two disagree.
      if (row.values == m_diff[field.value()].values) continue;
      row.key = QStringLiteral("config.") + key;
    }
    m_diff.push_back(std::move(row));
  }
  // What was set first, then what the runs reported.
  std::stable_partition(m_diff.begin(), m_diff.end(), [](const DiffRow& row) { return !row.detail; });
}

bool CompareView::rowShown(const DiffRow& row) const {
  return (m_showAll->isChecked() || row.differs) && (m_showDetails->isChecked() || !row.detail);
}

void CompareView::fillDiffTable() {
  const int runs = runCount();
  m_diffTable->clear();
  m_diffTable->setColumnCount(runs + 1);
  QStringList headers = {tr("Setting")};
  for (int r = 0; r < runs; ++r) headers << runLabel(r);
  m_diffTable->setHorizontalHeaderLabels(headers);
  for (int r = 0; r < runs; ++r) m_diffTable->horizontalHeaderItem(r + 1)->setForeground(runColour(r));
  // The setting names fit their text; the runs share the rest equally, side by side.
  m_diffTable->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  for (int r = 0; r < runs; ++r)
    m_diffTable->horizontalHeader()->setSectionResizeMode(r + 1, QHeaderView::Stretch);

  const QColor highlight(255, 193, 7, 70);  // amber, translucent so it reads on light and dark themes
  int shown = 0, differing = 0, settings = 0, hiddenDetails = 0;
  m_diffTable->setRowCount(0);
  for (const DiffRow& row : m_diff) {
    if (row.detail) {
      if (row.differs && !m_showDetails->isChecked()) ++hiddenDetails;
    } else {
      ++settings;
      if (row.differs) ++differing;
    }
    if (!rowShown(row)) continue;
    const int tableRow = shown++;
    m_diffTable->insertRow(tableRow);
    m_diffTable->setItem(tableRow, 0, readOnlyItem(row.key));
    for (int r = 0; r < runs; ++r) {
      const auto& value = row.values[size_t(r)];
      QTableWidgetItem* item = readOnlyItem(value ? displayText(*value) : kAbsent);
      item->setToolTip(value ? *value : tr("%1 has no %2").arg(runLabel(r), row.key));
      if (r > 0 && value != row.values.front()) {
        QFont bold = item->font();
        bold.setBold(true);
        item->setFont(bold);
      }
      m_diffTable->setItem(tableRow, r + 1, item);
    }
    if (row.differs) {
      for (int c = 0; c <= runs; ++c) m_diffTable->item(tableRow, c)->setBackground(highlight);
    }
  }
  m_diffTable->resizeColumnToContents(0);
  QString count = differing == 0 ? tr("identical settings (%1 compared)").arg(settings)
                                 : tr("%1 of %2 settings differ").arg(differing).arg(settings);
  if (hiddenDetails > 0) count += tr("; %n run-time detail(s) differ too", nullptr, hiddenDetails);
  m_diffCount->setText(count);
}

QStringList CompareView::shownKeys() const {
  QStringList out;
  for (const DiffRow& row : m_diff)
    if (rowShown(row)) out << row.key;
  return out;
}

QStringList CompareView::keys() const {
  QStringList out;
  for (const DiffRow& row : m_diff) out << row.key;
  return out;
}

QStringList CompareView::differingKeys() const {
  QStringList out;
  for (const DiffRow& row : m_diff)
    if (row.differs) out << row.key;
  return out;
}

const CompareView::DiffRow* CompareView::findRow(const QString& key) const {
  for (const DiffRow& row : m_diff)
    if (row.key == key) return &row;
  return nullptr;
}

QString CompareView::cellText(const QString& key, int runColumn) const {
  const DiffRow* row = findRow(key);
  if (!row || runColumn < 0 || size_t(runColumn) >= row->values.size()) return QString();
  const auto& value = row->values[size_t(runColumn)];
  return value ? displayText(*value) : kAbsent;
}

void CompareView::setShowAll(bool showAll) { m_showAll->setChecked(showAll); }

void CompareView::setShowDetails(bool show) { m_showDetails->setChecked(show); }

bool CompareView::showAll() const { return m_showAll->isChecked(); }

// ---- metrics ----

double CompareView::metricDelta(int run) const {
  if (run < 0 || run >= runCount()) return std::nan("");
  const api::RunRecord& first = m_records.front();
  const api::RunRecord& r = m_records[size_t(run)];
  if (!api::comparable(r, first)) return std::nan("");
  const double delta = r.metricAfter - first.metricAfter;
  return std::isfinite(delta) ? delta : std::nan("");
}

double CompareView::metricDeltaPercent(int run) const {
  const double delta = metricDelta(run);
  if (!std::isfinite(delta) || m_records.front().metricAfter == 0.0) return std::nan("");
  return 100.0 * delta / m_records.front().metricAfter;
}

void CompareView::buildMetrics() {
  const int runs = runCount();
  const QString first = QStringLiteral("#%1").arg(m_records.front().id);
  const QStringList rows = {tr("Metric"),
                            tr("Evaluated on"),
                            tr("Before"),
                            tr("After"),
                            tr("\u0394 after vs %1").arg(first),
                            tr("\u0394 after vs %1 (%)").arg(first),
                            tr("Compressible params before"),
                            tr("Compressible params after"),
                            tr("Kept fraction")};
  m_metricsTable->clear();
  m_metricsTable->setRowCount(int(rows.size()));
  m_metricsTable->setColumnCount(runs + 1);
  QStringList headers = {QString()};
  for (int r = 0; r < runs; ++r) headers << runLabel(r);
  m_metricsTable->setHorizontalHeaderLabels(headers);
  for (int r = 0; r < runs; ++r) m_metricsTable->horizontalHeaderItem(r + 1)->setForeground(runColour(r));
  // The setting names fit their text; the runs share the rest equally, side by side.
  m_metricsTable->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  for (int r = 0; r < runs; ++r)
    m_metricsTable->horizontalHeader()->setSectionResizeMode(r + 1, QHeaderView::Stretch);
  for (int i = 0; i < rows.size(); ++i) m_metricsTable->setItem(i, 0, readOnlyItem(rows[i]));

  for (int r = 0; r < runs; ++r) {
    const api::RunRecord& rec = m_records[size_t(r)];
    const double delta = metricDelta(r);
    const double percent = metricDeltaPercent(r);
    const QStringList cells = {
        rec.metric.empty() ? kAbsent : qs(rec.metric),
        rec.metric.empty() ? kAbsent : qs(api::groupLabel(rec)),
        metricText(rec.metric, rec.metricBefore),
        metricText(rec.metric, rec.metricAfter),
        r == 0 ? tr("reference") : signedText(delta, api::isAccuracyMetric(rec.metric) ? 4 : 2),
        r == 0 ? tr("reference") : signedText(percent, 1, QStringLiteral("%")),
        paramsText(rec.compressibleBefore),
        paramsText(rec.compressibleAfter),
        std::isfinite(rec.keptFraction) && rec.keptFraction > 0.0
            ? QLocale().toString(rec.keptFraction, 'f', 3)
            : kAbsent};
    for (int i = 0; i < cells.size(); ++i) {
      QTableWidgetItem* item = readOnlyItem(cells[i]);
      if (i > 0) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      m_metricsTable->setItem(i, r + 1, item);
    }
    if (r > 0) {
      colourDelta(m_metricsTable->item(4, r + 1), rec.metric, delta);
      colourDelta(m_metricsTable->item(5, r + 1), rec.metric, delta);
    }
    if (r > 0 && !std::isfinite(delta) && !api::comparable(rec, m_records.front())) {
      const QString why = notComparableWhy(first, m_records.front(), rec);
      for (int row : {4, 5}) {
        m_metricsTable->item(row, r + 1)->setText(tr("not comparable"));
        m_metricsTable->item(row, r + 1)->setToolTip(why);
      }
      m_metricsTable->item(1, r + 1)->setForeground(kWorse);
      m_metricsTable->item(1, r + 1)->setToolTip(why);
    }
  }
  appendOtherMetrics();
  m_metricsTable->resizeColumnToContents(0);
  // Once laid out: every metric row in view (the extra metrics' rows too).
  QTimer::singleShot(0, this, &CompareView::fitMetricsPane);
}

void CompareView::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  QTimer::singleShot(0, this, &CompareView::fitMetricsPane);  // runs compared while the tab was hidden
}

void CompareView::fitMetricsPane() {
  const QList<int> sizes = m_summarySplitter->sizes();
  if (sizes.size() != 2 || sizes[0] + sizes[1] <= 0) return;
  const int total = sizes[0] + sizes[1];
  const int table =
      m_metricsTable->horizontalHeader()->height() + m_metricsTable->verticalHeader()->length() +
      2 * m_metricsTable->frameWidth() +
      (m_metricsTable->horizontalScrollBar()->isVisible() ? m_metricsTable->horizontalScrollBar()->height()
                                                          : 0);
  // At most what leaves the settings diff 150 px (3/5 of the tab when that is more).
  const int want =
      std::min(table + (sizes[0] - m_metricsTable->height()), std::max(total * 3 / 5, total - 150));
  if (want > sizes[0]) m_summarySplitter->setSizes({want, total - want});
}

// Metrics besides the headline (a multiple-choice set's acc and acc_norm beside perplexity): two rows
// each, "before -> after" and the difference to the first run where the two are comparable.
void CompareView::appendOtherMetrics() {
  std::vector<std::string> metrics;
  for (const auto& records : m_otherMetrics)
    for (const api::RunRecord& r : records)
      if (std::find(metrics.begin(), metrics.end(), r.metric) == metrics.end()) metrics.push_back(r.metric);
  const QString first = QStringLiteral("#%1").arg(m_records.front().id);
  auto find = [this](int run, const std::string& metric) -> const api::RunRecord* {
    for (const api::RunRecord& r : m_otherMetrics[size_t(run)])
      if (r.metric == metric) return &r;
    return nullptr;
  };
  for (const std::string& metric : metrics) {
    const int row = m_metricsTable->rowCount();
    m_metricsTable->setRowCount(row + 2);
    m_metricsTable->setItem(row, 0, readOnlyItem(tr("%1 before \u2192 after").arg(qs(metric))));
    m_metricsTable->setItem(row + 1, 0, readOnlyItem(tr("\u0394 %1 after vs %2").arg(qs(metric), first)));
    const api::RunRecord* reference = find(0, metric);
    for (int r = 0; r < runCount(); ++r) {
      const api::RunRecord* rec = find(r, metric);
      QTableWidgetItem* values = readOnlyItem(
          rec ? tr("%1 \u2192 %2")
                    .arg(metricText(metric, rec->metricBefore), metricText(metric, rec->metricAfter))
              : kAbsent);
      if (rec) values->setToolTip(qs(api::groupLabel(*rec)));
      QString deltaText = r == 0 ? tr("reference") : kAbsent;
      QTableWidgetItem* delta = readOnlyItem(deltaText);
      if (r > 0 && rec && reference) {
        if (api::comparable(*rec, *reference)) {
          const double d = rec->metricAfter - reference->metricAfter;
          delta->setText(signedText(d, api::isAccuracyMetric(metric) ? 4 : 2));
          colourDelta(delta, metric, d);
        } else {
          delta->setText(tr("not comparable"));
          delta->setToolTip(notComparableWhy(first, *reference, *rec));
        }
      }
      for (QTableWidgetItem* item : {values, delta})
        item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      m_metricsTable->setItem(row, r + 1, values);
      m_metricsTable->setItem(row + 1, r + 1, delta);
    }
  }
}

// ---- plots ----

void CompareView::clearPlots() {
  m_bars.clear();
  m_rankCells.clear();
  m_rankPlot->clearPlottables();
  m_rankPlot->replot(QCustomPlot::rpQueuedReplot);
  m_curvePlot->clearGraphs();
  m_curveInteraction->refreshSmoothing();
  m_curveNote->clear();
  m_curveNote->hide();
  m_curvePlot->replot(QCustomPlot::rpQueuedReplot);
}

void CompareView::buildRankPlot(const std::vector<api::RunData>& runs) {
  // The shared op axis: the first run's op order, then ops only later runs have.
  QHash<QString, int> position;
  m_opNames.clear();
  std::vector<std::vector<const api::OpResult*>> ordered(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    for (const api::OpResult& op : runs[r].ops) ordered[r].push_back(&op);
    std::stable_sort(ordered[r].begin(), ordered[r].end(),
                     [](const api::OpResult* a, const api::OpResult* b) { return a->index < b->index; });
    for (const api::OpResult* op : ordered[r]) {
      const QString name = qs(op->name);
      if (!position.contains(name)) {
        position.insert(name, int(m_opNames.size()));
        m_opNames << name;
      }
    }
  }
  m_rankCells.assign(runs.size(), std::vector<RankCell>(size_t(m_opNames.size())));
  for (size_t r = 0; r < runs.size(); ++r) {
    for (const api::OpResult* op : ordered[r]) {
      RankCell& cell = m_rankCells[r][size_t(position.value(qs(op->name)))];
      cell.rank = double(op->rank);
      cell.fullRank = op->fullRank;
      cell.energyKept = op->energyKept;
    }
  }

  const int count = int(m_opNames.size());
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  // Every label up to ~48 ops; beyond that every k-th so they stay legible.
  const int every = std::max(1, (count + 47) / 48);
  for (int i = 0; i < count; i += every) ticker->addTick(i, m_opNames[i]);
  m_rankPlot->xAxis->setTicker(ticker);
  drawRankBars();
}

void CompareView::drawRankBars() {
  m_bars.clear();
  m_rankPlot->clearPlottables();
  const bool difference = m_rankDifference->isChecked() && m_rankCells.size() > 1;
  const size_t runs = m_rankCells.size();
  const double width = 0.84 / double(std::max<size_t>(1, difference ? runs - 1 : runs));
  double low = 0.0, high = 1.0;
  for (size_t r = difference ? 1 : 0; r < runs; ++r) {
    auto* bars = new QCPBars(m_rankPlot->xAxis, m_rankPlot->yAxis);
    bars->setName(runLabel(int(r)));
    bars->setWidth(width);
    bars->setPen(Qt::NoPen);
    bars->setBrush(runColour(int(r)));
    bars->setBarsGroup(m_rankGroup);
    QVector<double> keys, values;
    for (size_t i = 0; i < m_rankCells[r].size(); ++i) {
      const double v = difference ? m_rankCells[r][i].rank - m_rankCells[0][i].rank : m_rankCells[r][i].rank;
      if (!std::isfinite(v)) continue;
      keys << double(i);
      values << v;
      low = std::min(low, v);
      high = std::max(high, v);
    }
    bars->setData(keys, values, true);
    m_bars.push_back(bars);
  }
  m_rankYLow = low < 0.0 ? low * 1.08 : 0.0;
  m_rankYHigh = high * 1.08;
  m_rankPlot->yAxis->setLabel(difference ? tr("rank \u2212 rank of %1").arg(runLabel(0)) : tr("kept rank"));
  resetRankRange();
}

void CompareView::resetRankRange() {
  m_rankPlot->xAxis->setRange(-0.5, double(m_opNames.size()) - 0.5);
  m_rankPlot->yAxis->setRange(m_rankYLow, m_rankYHigh);
  m_rankPlot->replot(QCustomPlot::rpQueuedReplot);
}

QString CompareView::rankHoverText(const QPoint& pixel) const {
  if (m_rankCells.empty() || !m_rankPlot->axisRect()->rect().contains(pixel)) return {};
  const double key = m_rankPlot->xAxis->pixelToCoord(pixel.x());
  const long op = std::lround(key);
  if (op < 0 || op >= m_opNames.size() || std::abs(key - double(op)) > 0.45) return {};
  QStringList lines{m_opNames[int(op)]};
  for (size_t r = 0; r < m_rankCells.size(); ++r) {
    const RankCell& cell = m_rankCells[r][size_t(op)];
    QString line = runLabel(int(r)) + QStringLiteral(": ");
    if (!std::isfinite(cell.rank)) {
      line += tr("no such op");
    } else {
      line += tr("rank %1 of %2, energy kept %3%")
                  .arg(qlonglong(cell.rank))
                  .arg(cell.fullRank)
                  .arg(100.0 * cell.energyKept, 0, 'f', 1);
      if (r > 0 && std::isfinite(m_rankCells[0][size_t(op)].rank))
        line +=
            tr(" (%1 vs %2)").arg(signedText(cell.rank - m_rankCells[0][size_t(op)].rank, 0), runLabel(0));
    }
    lines << line;
  }
  return lines.join(QLatin1Char('\n'));
}

void CompareView::buildCurves(const std::vector<api::RunData>& runs) {
  m_curveNames.clear();
  QStringList distinct, without;
  for (size_t r = 0; r < runs.size(); ++r) {
    const QString name = pickLossSeries(runs[r].series);
    m_curveNames << name;
    if (name.isEmpty()) {
      without << runLabel(int(r));
      continue;
    }
    if (!distinct.contains(name)) distinct << name;
    std::vector<std::pair<int64_t, double>> points;
    const std::string wanted = name.toStdString();
    for (const api::SeriesPoint& p : runs[r].series)
      if (p.name == wanted) points.emplace_back(p.step, p.value);
    std::stable_sort(points.begin(), points.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    QVector<double> x, y;
    for (const auto& [step, value] : points) {
      x << double(step);
      y << value;
    }
    QCPGraph* graph = m_curvePlot->addGraph();
    graph->setName(QStringLiteral("%1 (%2)").arg(runLabel(int(r)), name));
    graph->setPen(QPen(runColour(int(r)), 2));
    graph->setProperty("raw", true);
    graph->setScatterStyle(x.size() < 30 ? QCPScatterStyle(QCPScatterStyle::ssCircle, 5) : QCPScatterStyle());
    graph->setData(x, y, true);
  }
  if (!without.isEmpty()) {
    m_curveNote->setText(tr("No training curve for %1: the selection trained nothing (or logged no loss).")
                             .arg(without.join(QStringLiteral(", "))));
    m_curveNote->show();
  }
  m_curvePlot->yAxis->setLabel(distinct.size() == 1 ? distinct.front() : tr("loss"));
  m_curveInteraction->refreshSmoothing();
  fitCurves();
}

void CompareView::fitCurves() {
  m_curvePlot->rescaleAxes(true);
  // A margin around the data, so no curve touches the frame (the top was clipped before).
  for (QCPAxis* axis : {m_curvePlot->xAxis, m_curvePlot->yAxis}) {
    const QCPRange r = axis->range();
    const double pad = r.size() > 0.0 ? 0.05 * r.size() : std::max(1.0, std::abs(r.center()) * 0.05);
    axis->setRange(r.lower - pad, r.upper + pad);
  }
  m_curvePlot->replot(QCustomPlot::rpQueuedReplot);
}

int CompareView::rankSeriesCount() const { return int(m_bars.size()); }

std::vector<double> CompareView::rankBars(int run) const {
  if (run < 0 || size_t(run) >= m_rankCells.size()) return {};
  std::vector<double> heights;
  for (const RankCell& cell : m_rankCells[size_t(run)]) heights.push_back(cell.rank);
  return heights;
}

QString CompareView::curveSeriesName(int run) const {
  return run >= 0 && run < m_curveNames.size() ? m_curveNames[run] : QString();
}

// ---- export ----

bool CompareView::exportRankPlot(const QString& path, QString* error) {
  if (PlotExport::isCsvPath(path)) {
    QVector<PlotExport::Series> series;
    for (size_t r = 0; r < m_rankCells.size(); ++r) {
      PlotExport::Series s;
      s.name = runLabel(int(r));
      const std::vector<double> heights = rankBars(int(r));
      for (size_t i = 0; i < heights.size(); ++i) {
        if (!std::isfinite(heights[i])) continue;
        s.x << double(i);
        s.y << heights[i];
      }
      series << s;
    }
    return PlotExport::saveCsv(path, series, error, QStringLiteral("op_index"), QStringLiteral("rank"));
  }
  return savePlot(*m_rankPlot, path, 900, 500, error);
}

bool CompareView::exportCurvePlot(const QString& path, QString* error) {
  if (PlotExport::isCsvPath(path)) {
    return PlotExport::saveCsv(path, PlotExport::graphSeries(*m_curvePlot), error, QStringLiteral("step"),
                               QStringLiteral("value"));
  }
  return savePlot(*m_curvePlot, path, 800, 500, error);
}

bool CompareView::exportDiffCsv(const QString& path, QString* error) const {
  QStringList header{QStringLiteral("key")};
  for (int r = 0; r < runCount(); ++r) header << runLabel(r);
  header << QStringLiteral("differs");
  QVector<QStringList> rows;
  rows.reserve(qsizetype(m_diff.size()));
  for (const DiffRow& row : m_diff) {
    QStringList fields{row.key};
    for (const auto& value : row.values) fields << value.value_or(QString());
    fields << (row.differs ? QStringLiteral("yes") : QStringLiteral("no"));
    rows.append(fields);
  }
  return PlotExport::saveTable(path, header, rows, error);
}

void CompareView::exportWithDialog(QCustomPlot* plot, const QString& baseName) {
  PlotExport::exportWithDialog(this, QDir::home().filePath(baseName), PlotExport::Formats::FigureAndCsv,
                               tr("Export plot"), [this, plot](const QString& path, QString* error) {
                                 return plot == m_rankPlot ? exportRankPlot(path, error)
                                                           : exportCurvePlot(path, error);
                               });
}

}  // namespace ranklab::widgets
