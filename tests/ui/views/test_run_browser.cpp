// RunTableModel and RunBrowser on hand-built run records: model invariants through every kind of
// change, raw-value sorting, filters, the selection actions and their signals, persistence.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QAction>
#include <QComboBox>
#include <QHeaderView>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTest>
#include <cmath>
#include <stdexcept>

#include "tests/ui/ui_test_util.h"
#include "views/sample_runs.h"
#include "widgets/run_browser.h"
#include "widgets/run_table_model.h"

using ranklab::api::RunRecord;
using ranklab::test::WarningCollector;
using ranklab::widgets::RunBrowser;
using ranklab::widgets::RunTableModel;

namespace {

RunRecord record(int64_t id, const std::string& name = {}, double metricAfter = 90.0) {
  RunRecord r = ranklab::test::sampleRun(id, "ars", 0.5, metricAfter, 1).run;
  if (!name.empty()) r.name = name;
  return r;
}

// Newest first, as the run store lists them: ids n, n-1, ..., 1.
std::vector<RunRecord> records(int n) {
  std::vector<RunRecord> out;
  for (int id = n; id >= 1; --id) out.push_back(record(id, "run " + std::to_string(id)));
  return out;
}

QList<qint64> shownIds(const QAbstractItemModel& model) {
  QList<qint64> ids;
  for (int r = 0; r < model.rowCount(); ++r)
    ids << model.index(r, 0).data(RunTableModel::RunIdRole).toLongLong();
  return ids;
}

std::string joined(const QStringList& warnings) { return warnings.join(QLatin1Char('\n')).toStdString(); }

}  // namespace

TEST(RunTableModel, PassesModelTesterThroughEveryChange) {
  WarningCollector warnings;
  RunTableModel model;
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Warning);
  QSortFilterProxyModel proxy;
  proxy.setSourceModel(&model);
  proxy.setSortRole(RunTableModel::SortRole);
  proxy.sort(RunTableModel::After, Qt::AscendingOrder);
  QAbstractItemModelTester proxyTester(&proxy, QAbstractItemModelTester::FailureReportingMode::Warning);

  model.setRuns(records(5));
  EXPECT_EQ(shownIds(model), QList<qint64>({5, 4, 3, 2, 1}));

  QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
  RunRecord updated = record(3, "renamed", 70.0);
  model.upsertRun(updated);
  EXPECT_EQ(model.rowCount(), 5);
  ASSERT_EQ(changed.count(), 1);
  EXPECT_EQ(changed[0][0].toModelIndex(), model.index(2, 0));
  EXPECT_EQ(changed[0][1].toModelIndex(), model.index(2, RunTableModel::ColumnCount - 1));
  EXPECT_EQ(model.index(2, RunTableModel::Name).data().toString(), "renamed");

  QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
  model.upsertRun(record(6, "new"));
  ASSERT_EQ(inserted.count(), 1);
  EXPECT_EQ(inserted[0][1].toInt(), 0);  // newest first: a new run goes on top
  EXPECT_EQ(shownIds(model), QList<qint64>({6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(model.rowOf(6), 0);
  EXPECT_EQ(model.rowOf(42), -1);
  ASSERT_NE(model.runAt(0), nullptr);
  EXPECT_EQ(model.runAt(0)->name, "new");
  EXPECT_EQ(model.runAt(6), nullptr);
  EXPECT_EQ(model.runAt(-1), nullptr);

  // Rows of ids 4, 2, 1 are 2, 4, 5: two blocks, removed as two signals; 99 is unknown.
  QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
  model.removeRuns({1, 4, 2, 99});
  EXPECT_EQ(removed.count(), 2);
  EXPECT_EQ(shownIds(model), QList<qint64>({6, 5, 3}));

  QSignalSpy tagsEdited(&model, &RunTableModel::tagsEdited);
  EXPECT_TRUE(model.setData(model.index(1, RunTableModel::Tags), QStringLiteral(" keep ,, baseline,keep ")));
  ASSERT_EQ(tagsEdited.count(), 1);
  EXPECT_EQ(tagsEdited[0][0].toLongLong(), 5);
  EXPECT_EQ(tagsEdited[0][1].toStringList(), QStringList({"keep", "baseline"}));
  EXPECT_EQ(model.index(1, RunTableModel::Tags).data().toString(), "keep, baseline");
  EXPECT_EQ(model.runAt(1)->tags, (std::vector<std::string>{"keep", "baseline"}));

  model.clear();
  EXPECT_EQ(model.rowCount(), 0);
  EXPECT_TRUE(warnings.warnings().isEmpty()) << joined(warnings.warnings());
}

TEST(RunTableModel, DisplaysFormattedAndSortsRawValues) {
  RunTableModel model;
  RunRecord r = record(7, "svd+ars p=0.50", 90.0);
  r.metricBefore = 82.7;
  r.keptFraction = 0.4987;
  r.seconds = 125.0;
  r.tags = {"a", "b"};
  RunRecord unmeasured = record(8);
  unmeasured.metricBefore = std::nan("");
  unmeasured.metricAfter = std::nan("");
  model.setRuns({r, unmeasured});

  auto display = [&](int row, int column) { return model.index(row, column).data().toString(); };
  EXPECT_EQ(model.columnCount(), 17);
  EXPECT_EQ(display(0, RunTableModel::Id), "7");
  EXPECT_EQ(display(0, RunTableModel::Model), "gpt-mini");  // file name of resources/models/gpt-mini
  EXPECT_EQ(display(0, RunTableModel::Target), "0.50");
  EXPECT_EQ(display(0, RunTableModel::Achieved), "0.499");
  EXPECT_EQ(display(0, RunTableModel::Before), "82.70");
  EXPECT_EQ(display(0, RunTableModel::After), "90.00");
  EXPECT_EQ(display(0, RunTableModel::Change), "+8.8%");  // 90 / 82.7 - 1 = 0.0883
  EXPECT_EQ(display(0, RunTableModel::Seconds), "2 m 05 s");
  EXPECT_EQ(display(0, RunTableModel::Tags), "a, b");
  EXPECT_EQ(display(1, RunTableModel::Before), QString::fromUtf8("\u2013"));
  EXPECT_EQ(display(1, RunTableModel::After), QString::fromUtf8("\u2013"));
  EXPECT_EQ(display(1, RunTableModel::Change), QString::fromUtf8("\u2013"));

  const QVariant before = model.index(0, RunTableModel::Before).data(RunTableModel::SortRole);
  EXPECT_EQ(before.typeId(), QMetaType::Double);
  EXPECT_DOUBLE_EQ(before.toDouble(), 82.7);
  EXPECT_NEAR(model.index(0, RunTableModel::Change).data(RunTableModel::SortRole).toDouble(),
              90.0 / 82.7 - 1.0, 1e-15)
      << "absolute error of the relative change";
  EXPECT_FALSE(model.index(1, RunTableModel::After).data(RunTableModel::SortRole).isValid());
  EXPECT_EQ(model.index(1, RunTableModel::Name).data(RunTableModel::RunIdRole).toLongLong(), 8);
  EXPECT_TRUE(model.flags(model.index(0, RunTableModel::Tags)) & Qt::ItemIsEditable);
  EXPECT_TRUE(model.flags(model.index(0, RunTableModel::Notes)) & Qt::ItemIsEditable);
  EXPECT_FALSE(model.flags(model.index(0, RunTableModel::Name)) & Qt::ItemIsEditable);
  EXPECT_FALSE(model.setData(model.index(0, RunTableModel::Name), QStringLiteral("x")));
}

TEST(RunTableModel, InterruptedRunSaysWhyInItsOwnColour) {
  RunTableModel model;
  RunRecord failed = record(1);
  failed.status = "failed";
  RunRecord interrupted = record(2);
  interrupted.status = "interrupted";
  interrupted.error = "the process that ran it (pid 4242 on host) ended before the run finished";
  model.setRuns({failed, interrupted});
  EXPECT_TRUE(model.index(1, RunTableModel::Status).data(Qt::ToolTipRole).toString().contains("pid 4242"));
  EXPECT_TRUE(
      model.index(1, RunTableModel::Status).data(Qt::ToolTipRole).toString().startsWith("Interrupted"));
  const QColor interruptedColour =
      model.index(1, RunTableModel::Status).data(Qt::ForegroundRole).value<QBrush>().color();
  EXPECT_TRUE(interruptedColour.isValid());
  EXPECT_NE(interruptedColour,
            model.index(0, RunTableModel::Status).data(Qt::ForegroundRole).value<QBrush>().color());
}

TEST(RunTableModel, FailedRunShowsErrorAndStatusColour) {
  RunTableModel model;
  RunRecord ok = record(1);
  RunRecord failed = record(2);
  failed.status = "failed";
  failed.error = "reading model.safetensors: tensor 'h.3.attn.c_attn.weight' ends past the file";
  RunRecord running = record(3);
  running.status = "running";
  model.setRuns({running, failed, ok});

  for (int column : {int(RunTableModel::Name), int(RunTableModel::Status), int(RunTableModel::After)}) {
    EXPECT_TRUE(model.index(1, column).data(Qt::ToolTipRole).toString().contains("ends past the file"))
        << "column " << column;
  }
  EXPECT_FALSE(model.index(2, RunTableModel::Status).data(Qt::ToolTipRole).toString().contains("Failed"));
  const QColor failedColour =
      model.index(1, RunTableModel::Status).data(Qt::ForegroundRole).value<QBrush>().color();
  const QColor okColour =
      model.index(2, RunTableModel::Status).data(Qt::ForegroundRole).value<QBrush>().color();
  const QColor runningColour =
      model.index(0, RunTableModel::Status).data(Qt::ForegroundRole).value<QBrush>().color();
  EXPECT_TRUE(failedColour.isValid());
  EXPECT_NE(failedColour, okColour);
  EXPECT_NE(runningColour, okColour);
  EXPECT_GT(failedColour.red(), failedColour.green());
}

TEST(RunTableModel, NotesEditEmitsAndUnchangedEditDoesNot) {
  RunTableModel model;
  model.setRuns(records(2));
  QSignalSpy notes(&model, &RunTableModel::notesEdited);
  QSignalSpy tags(&model, &RunTableModel::tagsEdited);
  EXPECT_TRUE(model.setData(model.index(0, RunTableModel::Notes), QStringLiteral("line one\nline two")));
  ASSERT_EQ(notes.count(), 1);
  EXPECT_EQ(notes[0][0].toLongLong(), 2);
  EXPECT_EQ(notes[0][1].toString(), "line one\nline two");
  EXPECT_EQ(model.index(0, RunTableModel::Notes).data(Qt::EditRole).toString(), "line one\nline two");
  EXPECT_TRUE(model.index(0, RunTableModel::Notes).data().toString().startsWith("line one"));
  EXPECT_FALSE(model.index(0, RunTableModel::Notes).data().toString().contains("line two"));
  EXPECT_TRUE(model.setData(model.index(0, RunTableModel::Notes), QStringLiteral("line one\nline two")));
  EXPECT_TRUE(model.setData(model.index(0, RunTableModel::Tags), QStringLiteral(" , ")));
  EXPECT_EQ(notes.count(), 1);
  EXPECT_EQ(tags.count(), 0);  // no tags before, none after
}

TEST(RunBrowser, SortsNumericColumnsNumerically) {
  RunBrowser browser;
  std::vector<RunRecord> runs = {record(10, "ten", 10.0), record(9, "nine", 9.0),
                                 record(100, "hundred", 100.0), record(11, "unmeasured")};
  runs[3].metricAfter = std::nan("");
  browser.model()->setRuns(runs);
  QTableView* table = browser.table();

  table->sortByColumn(RunTableModel::After, Qt::AscendingOrder);
  // As text "10.00" < "100.00" < "9.00"; as numbers 9 < 10 < 100, and unmeasured last.
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({9, 10, 100, 11}));
  table->sortByColumn(RunTableModel::Id, Qt::AscendingOrder);
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({9, 10, 11, 100}));
  table->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({100, 11, 10, 9}));
}

TEST(RunBrowser, TextFilterMatchesNameModelMethodTagsAndNotes) {
  RunBrowser browser;
  std::vector<RunRecord> runs = records(4);  // ids 4 3 2 1
  runs[0].name = "Baseline Uniform";
  runs[1].tags = {"paper-fig3"};
  runs[2].notes = "Diverged after step 40";
  runs[3].selector = "rankdyna";
  runs[3].modelPath = "/models/tinyllama";
  browser.model()->setRuns(runs);
  browser.table()->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);

  WarningCollector warnings;
  QAbstractItemModelTester tester(browser.proxy(), QAbstractItemModelTester::FailureReportingMode::Warning);
  browser.filterEdit()->setText("baseline");
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({4}));
  browser.filterEdit()->setText("FIG3");
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({3}));
  browser.filterEdit()->setText("diverged");
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({2}));
  browser.filterEdit()->setText("rankdyna");
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({1}));
  browser.filterEdit()->setText("tinyllama");
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({1}));
  browser.filterEdit()->setText("svd ars");  // every word must match: all but the rankdyna run
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({4, 3, 2}));
  browser.filterEdit()->setText("no such run");
  EXPECT_EQ(browser.proxy()->rowCount(), 0);
  browser.filterEdit()->clear();
  EXPECT_EQ(browser.proxy()->rowCount(), 4);
  EXPECT_TRUE(warnings.warnings().isEmpty()) << joined(warnings.warnings());
}

TEST(RunBrowser, StatusFilter) {
  RunBrowser browser;
  std::vector<RunRecord> runs = records(4);
  runs[0].status = "running";
  runs[2].status = "failed";
  runs[3].status = "interrupted";
  browser.model()->setRuns(runs);
  browser.table()->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);

  QComboBox* status = browser.statusCombo();
  status->setCurrentIndex(status->findData(QStringLiteral("failed")));
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({2}));
  browser.setStatusFilter("interrupted");
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({1}));
  browser.setStatusFilter("running");
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({4}));
  browser.setStatusFilter("succeeded");
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({3}));
  browser.filterEdit()->setText("run 3");  // combines with the text filter
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({3}));
  browser.setStatusFilter("");
  browser.filterEdit()->clear();
  EXPECT_EQ(browser.proxy()->rowCount(), 4);
}

// Issue 18: 73.40 and 82.74 sat under one "perplexity" heading with nothing to say why they differ.
TEST(RunBrowser, EvaluatedOnColumnAndFilterSeparateProtocols) {
  RunBrowser browser;
  std::vector<RunRecord> runs = records(4);
  runs[0].protocol = ranklab::test::sampleProtocol(412000, 0);  // the whole file
  runs[0].protocol.documents = 0;
  runs[1].metric.clear();  // a run without evaluation
  browser.model()->setRuns(runs);
  browser.table()->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);

  const QAbstractItemModel& model = *browser.model();
  auto shown = [&](int row) { return model.index(row, RunTableModel::EvaluatedOn).data().toString(); };
  EXPECT_EQ(model.headerData(RunTableModel::EvaluatedOn, Qt::Horizontal).toString(), "Evaluated on");
  EXPECT_EQ(shown(0), QString::fromUtf8("test.txt \u00b7 412,000 tokens"));
  EXPECT_EQ(shown(2), QString::fromUtf8("test.txt \u00b7 6 docs \u00b7 1,000 tokens"));
  EXPECT_EQ(shown(1), QString::fromUtf8("\u2013"));  // not evaluated
  EXPECT_TRUE(
      model.index(2, RunTableModel::EvaluatedOn).data(Qt::ToolTipRole).toString().contains("gpt-mini"));

  QComboBox* box = browser.protocolCombo();
  ASSERT_EQ(box->count(), 3);  // any, and the two groups
  EXPECT_TRUE(box->isEnabled());
  int sixDocs = -1;
  for (int i = 1; i < box->count(); ++i)
    if (box->itemText(i).contains("6 docs")) sixDocs = i;
  ASSERT_GE(sixDocs, 1);
  EXPECT_TRUE(box->itemText(sixDocs).contains("2 runs")) << box->itemText(sixDocs).toStdString();
  box->setCurrentIndex(sixDocs);
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({2, 1}));
  browser.setProtocolFilter(QString());
  EXPECT_EQ(browser.proxy()->rowCount(), 4);
  browser.filterEdit()->setText("412,000");  // the text filter sees the protocol too
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({4}));
}

TEST(RunBrowser, CompareNeedsTwoToFourRunsAndEmitsIdsInRowOrder) {
  RunBrowser browser;
  browser.model()->setRuns(records(6));
  browser.table()->sortByColumn(RunTableModel::Id, Qt::AscendingOrder);
  QSignalSpy compare(&browser, &RunBrowser::compareRequested);
  QSignalSpy selection(&browser, &RunBrowser::selectionChanged);
  QAction* action = browser.compareAction();

  EXPECT_FALSE(action->isEnabled());
  browser.selectIds({3});
  EXPECT_FALSE(action->isEnabled());
  ASSERT_EQ(selection.count(), 1);
  EXPECT_EQ(selection.last()[0].value<QList<qint64>>(), QList<qint64>({3}));
  action->trigger();
  browser.compareSelected();
  EXPECT_EQ(compare.count(), 0);

  browser.selectIds({5, 2});
  EXPECT_TRUE(action->isEnabled());
  EXPECT_EQ(browser.selectedIds(), QList<qint64>({2, 5}));
  EXPECT_EQ(selection.last()[0].value<QList<qint64>>(), QList<qint64>({2, 5}));
  action->trigger();
  ASSERT_EQ(compare.count(), 1);
  EXPECT_EQ(compare[0][0].value<QList<qint64>>(), QList<qint64>({2, 5}));

  browser.selectIds({1, 2, 3, 4});
  EXPECT_TRUE(action->isEnabled());
  browser.selectIds({1, 2, 3, 4, 5});
  EXPECT_FALSE(action->isEnabled());
  browser.compareSelected();
  EXPECT_EQ(compare.count(), 1);

  browser.table()->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);
  browser.selectIds({2, 6, 4});
  action->trigger();
  ASSERT_EQ(compare.count(), 2);
  EXPECT_EQ(compare[1][0].value<QList<qint64>>(), QList<qint64>({6, 4, 2}));
}

TEST(RunBrowser, SelectionSurvivesReloadAndFollowsRemoval) {
  RunBrowser browser;
  browser.model()->setRuns(records(4));
  browser.selectIds({3, 1});
  QSignalSpy selection(&browser, &RunBrowser::selectionChanged);
  browser.model()->setRuns(records(4));  // the app reloading the store
  EXPECT_EQ(browser.selectedIds(), QList<qint64>({3, 1}));
  EXPECT_TRUE(browser.compareAction()->isEnabled());
  EXPECT_EQ(selection.count(), 0) << "a reload that keeps the selected runs changes no selection";
  browser.model()->removeRuns({3});
  EXPECT_EQ(browser.selectedIds(), QList<qint64>({1}));
  EXPECT_FALSE(browser.compareAction()->isEnabled());
  ASSERT_EQ(selection.count(), 1);
  EXPECT_EQ(selection.last()[0].value<QList<qint64>>(), QList<qint64>({1}));
}

TEST(RunBrowser, DeleteAsksTheConfirmerFirst) {
  RunBrowser browser;
  browser.model()->setRuns(records(3));
  QSignalSpy deleted(&browser, &RunBrowser::deleteRequested);
  QStringList questions;
  bool answer = false;
  browser.setConfirmer([&](const QString& question) {
    questions << question;
    return answer;
  });

  EXPECT_FALSE(browser.deleteAction()->isEnabled());
  browser.deleteSelected();  // nothing selected: nothing to ask
  EXPECT_TRUE(questions.isEmpty());

  browser.selectIds({1, 3});
  EXPECT_TRUE(browser.deleteAction()->isEnabled());
  browser.deleteAction()->trigger();
  ASSERT_EQ(questions.size(), 1);
  EXPECT_TRUE(questions[0].contains("2 runs")) << questions[0].toStdString();
  EXPECT_EQ(deleted.count(), 0);

  answer = true;
  browser.deleteAction()->trigger();
  ASSERT_EQ(deleted.count(), 1);
  EXPECT_EQ(deleted[0][0].value<QList<qint64>>(), QList<qint64>({3, 1}));

  browser.selectIds({2});
  browser.deleteSelected();
  EXPECT_TRUE(questions.last().contains("1 run")) << questions.last().toStdString();
  EXPECT_TRUE(questions.last().contains("run 2")) << "names the run";
  EXPECT_EQ(deleted.count(), 2);

  WarningCollector warnings;
  browser.setConfirmer([](const QString&) -> bool { throw std::runtime_error("no dialog"); });
  browser.deleteSelected();
  EXPECT_EQ(deleted.count(), 2);
  EXPECT_FALSE(warnings.warnings().isEmpty());
}

TEST(RunBrowser, KeyboardAndMouse) {
  RunBrowser browser;
  browser.model()->setRuns(records(3));
  browser.table()->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);
  browser.resize(1000, 400);
  browser.show();
  browser.activateWindow();
  ASSERT_TRUE(QTest::qWaitForWindowActive(&browser));

  QSignalSpy activated(&browser, &RunBrowser::runActivated);
  QTableView* table = browser.table();
  const QModelIndex second = browser.proxy()->index(1, RunTableModel::Name);
  const QPoint centre = table->visualRect(second).center();
  // QTest's widget mouseDClick sends only the double-click event; a real one follows a click.
  QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, centre);
  EXPECT_EQ(activated.count(), 0) << "a single click only selects";
  QTest::mouseDClick(table->viewport(), Qt::LeftButton, {}, centre);
  ASSERT_EQ(activated.count(), 1);
  EXPECT_EQ(activated[0][0].toLongLong(), 2);

  table->setFocus();
  table->setCurrentIndex(browser.proxy()->index(2, RunTableModel::Name));
  QTest::keyClick(table, Qt::Key_Return);
  ASSERT_EQ(activated.count(), 2);
  EXPECT_EQ(activated[1][0].toLongLong(), 1);

  int asked = 0;
  browser.setConfirmer([&](const QString&) {
    ++asked;
    return true;
  });
  QSignalSpy deleted(&browser, &RunBrowser::deleteRequested);
  table->setFocus();
  QTest::keyClick(table, Qt::Key_Delete);
  EXPECT_EQ(asked, 1);
  ASSERT_EQ(deleted.count(), 1);
  EXPECT_EQ(deleted[0][0].value<QList<qint64>>(), QList<qint64>({1}));

  EXPECT_FALSE(browser.filterEdit()->hasFocus());
  QTest::keyClick(table, Qt::Key_F, Qt::ControlModifier);
  EXPECT_TRUE(browser.filterEdit()->hasFocus());
}

TEST(RunBrowser, SaveAndRestoreStateRoundTripsSortAndWidths) {
  QByteArray state;
  {
    RunBrowser browser;
    browser.model()->setRuns(records(3));
    browser.table()->sortByColumn(RunTableModel::After, Qt::AscendingOrder);
    browser.table()->setColumnWidth(RunTableModel::Name, 321);
    state = browser.saveState();
  }
  RunBrowser restored;
  restored.model()->setRuns(records(3));
  EXPECT_NE(restored.table()->horizontalHeader()->sortIndicatorSection(), int(RunTableModel::After));
  ASSERT_TRUE(restored.restoreState(state));
  EXPECT_EQ(restored.table()->horizontalHeader()->sortIndicatorSection(), int(RunTableModel::After));
  EXPECT_EQ(restored.table()->horizontalHeader()->sortIndicatorOrder(), Qt::AscendingOrder);
  EXPECT_EQ(restored.proxy()->sortColumn(), int(RunTableModel::After));
  EXPECT_EQ(restored.table()->columnWidth(RunTableModel::Name), 321);

  EXPECT_FALSE(restored.restoreState(QByteArray("not a state")));
  EXPECT_FALSE(restored.restoreState(QByteArray()));
  EXPECT_EQ(restored.proxy()->sortColumn(), int(RunTableModel::After));
}

TEST(RunBrowser, EditedTagsReachTheSignalAndTheFilter) {
  RunBrowser browser;
  browser.model()->setRuns(records(2));
  browser.table()->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);
  QSignalSpy tags(browser.model(), &RunTableModel::tagsEdited);
  const QModelIndex cell = browser.proxy()->index(1, RunTableModel::Tags);
  EXPECT_TRUE(browser.proxy()->setData(cell, QStringLiteral("best, ablation")));
  ASSERT_EQ(tags.count(), 1);
  EXPECT_EQ(tags[0][0].toLongLong(), 1);
  EXPECT_EQ(tags[0][1].toStringList(), QStringList({"best", "ablation"}));
  browser.setFilterText("ablation");
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({1}));

  // A live update of a running job keeps its row and the filter applies to it.
  RunRecord live = record(3, "live ablation run");
  live.status = "running";
  browser.model()->upsertRun(live);
  EXPECT_EQ(shownIds(*browser.proxy()), QList<qint64>({3, 1}));
}
