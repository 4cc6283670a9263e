#include <gtest/gtest.h>

#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTest>

#include "tests/ui/ui_test_util.h"
#include "widgets/model_summary_view.h"
#include "widgets/op_table_model.h"

using ranklab::test::gptLikeOps;
using ranklab::widgets::ModelSummaryView;
using ranklab::widgets::OpTableModel;

namespace {
ranklab::api::ModelSummary tinySummary() {
  ranklab::api::ModelSummary s;
  s.architecture = "gpt2";
  s.format = "hf-safetensors";
  s.source = "/models/tiny-gpt2";
  s.layers = 12;
  s.hidden = 64;
  s.heads = 4;
  s.vocab = 50257;
  s.context = 1024;
  s.ops = gptLikeOps(12, 64);
  for (const auto& op : s.ops) s.compressibleParams += op.params();
  s.totalParams = 2 * s.compressibleParams;
  return s;
}
}  // namespace

TEST(ModelSummaryView, EmptySummaryShowsPlaceholders) {
  ModelSummaryView view;
  view.setSummary({});
  EXPECT_EQ(view.opModel()->rowCount(), 0);
  EXPECT_TRUE(view.fieldLabel("architecture")->text().contains("no model"));
  EXPECT_EQ(view.fieldLabel("layers")->text(), QStringLiteral("\u2014"));
  EXPECT_EQ(view.fieldLabel("nonsense"), nullptr);
}

TEST(ModelSummaryView, HeaderShowsSummary) {
  ModelSummaryView view;
  view.setSummary(tinySummary());
  EXPECT_EQ(view.fieldLabel("architecture")->text(), "gpt2");
  EXPECT_EQ(view.fieldLabel("heads")->text(), "4");
  EXPECT_TRUE(view.fieldLabel("compressible")->text().contains("50.0%"));
  EXPECT_EQ(view.fieldLabel("source")->text(), "/models/tiny-gpt2");
  EXPECT_EQ(view.opModel()->rowCount(), 72);
  EXPECT_EQ(view.tableView()->model(), view.proxyModel());
}

TEST(ModelSummaryView, FilterLineEditFiltersOpsByName) {
  ModelSummaryView view;
  view.setSummary(tinySummary());
  view.show();
  QSortFilterProxyModel* proxy = view.proxyModel();
  ASSERT_EQ(proxy->rowCount(), 72);

  QTest::keyClicks(view.filterEdit(), "ATTN.Q");  // case-insensitive substring
  EXPECT_EQ(proxy->rowCount(), 12);
  for (int r = 0; r < proxy->rowCount(); ++r) {
    EXPECT_TRUE(proxy->index(r, OpTableModel::Name).data().toString().endsWith("attn.q"));
  }
  EXPECT_TRUE(view.findChild<QLabel*>("opCount")->text().startsWith("12 of 72"));

  view.setFilterText("layers.11.mlp");
  EXPECT_EQ(proxy->rowCount(), 2);
  view.filterEdit()->clear();
  EXPECT_EQ(proxy->rowCount(), 72);
  view.setFilterText("no such op");
  EXPECT_EQ(proxy->rowCount(), 0);
}

TEST(ModelSummaryView, ClickingHeaderSortsByRawValue) {
  ModelSummaryView view;
  view.setSummary(tinySummary());
  view.show();
  view.tableView()->sortByColumn(OpTableModel::Layer, Qt::DescendingOrder);
  EXPECT_EQ(view.proxyModel()->index(0, OpTableModel::Layer).data(OpTableModel::RawValueRole).toInt(), 11);
  view.tableView()->sortByColumn(OpTableModel::Params, Qt::DescendingOrder);
  EXPECT_EQ(view.proxyModel()->index(0, OpTableModel::Params).data(OpTableModel::RawValueRole).toLongLong(),
            64LL * 256LL);
}
