#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QSortFilterProxyModel>

#include "tests/ui/ui_test_util.h"
#include "widgets/op_table_model.h"

using ranklab::test::gptLikeOps;
using ranklab::test::op;
using ranklab::test::WarningCollector;
using ranklab::widgets::OpTableModel;

TEST(OpTableModel, PassesModelTesterThroughResets) {
  WarningCollector warnings;
  OpTableModel model;
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Warning);
  model.setOps(gptLikeOps(3, 64));
  EXPECT_EQ(model.rowCount(), 18);
  model.setOps(gptLikeOps(1, 8));
  EXPECT_EQ(model.rowCount(), 6);
  model.clear();
  EXPECT_EQ(model.rowCount(), 0);
  EXPECT_TRUE(warnings.warnings().isEmpty()) << warnings.warnings().join(QLatin1Char('\n')).toStdString();
}

TEST(OpTableModel, ShapeAndHeaders) {
  OpTableModel model;
  model.setOps({op("layers.0.attn.q", 0, "q", 64, 32, true)});
  EXPECT_EQ(model.columnCount(), OpTableModel::ColumnCount);
  EXPECT_EQ(model.columnCount(), 7);
  EXPECT_EQ(model.rowCount(model.index(0, 0)), 0);  // a flat table: items have no children
  const QStringList expected = {"Op", "Layer", "Kind", "In", "Out", "Params", "Bias"};
  for (int c = 0; c < model.columnCount(); ++c) {
    EXPECT_EQ(model.headerData(c, Qt::Horizontal).toString(), expected[c]) << "column " << c;
    EXPECT_FALSE(model.headerData(c, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
  }
  EXPECT_FALSE(model.headerData(OpTableModel::ColumnCount, Qt::Horizontal).isValid());
}

TEST(OpTableModel, DisplayAndRawValues) {
  OpTableModel model;
  model.setOps({op("layers.2.mlp.up", 2, "up", 768, 3072, false)});
  auto display = [&](int column) { return model.index(0, column).data().toString(); };
  auto raw = [&](int column) { return model.index(0, column).data(OpTableModel::RawValueRole); };

  EXPECT_EQ(display(OpTableModel::Name), "layers.2.mlp.up");
  EXPECT_EQ(display(OpTableModel::Kind), "up");
  EXPECT_EQ(display(OpTableModel::Bias), "no");
  EXPECT_EQ(raw(OpTableModel::Layer).toLongLong(), 2);
  EXPECT_EQ(raw(OpTableModel::In).toLongLong(), 768);
  EXPECT_EQ(raw(OpTableModel::Out).toLongLong(), 3072);
  EXPECT_EQ(raw(OpTableModel::Params).toLongLong(), 768LL * 3072LL);
  EXPECT_EQ(raw(OpTableModel::Bias).toBool(), false);
  EXPECT_EQ(raw(OpTableModel::Name).toString(), "layers.2.mlp.up");
  // Numbers are raw numeric types (so a proxy compares them as numbers), not strings.
  EXPECT_EQ(raw(OpTableModel::Params).typeId(), QMetaType::LongLong);
  EXPECT_TRUE(model.index(0, OpTableModel::Name).data(Qt::ToolTipRole).toString().contains("768 x 3072"));
  EXPECT_EQ(model.op(0).name, "layers.2.mlp.up");
}

TEST(OpTableModel, SortsNumericallyByRawValueRole) {
  OpTableModel model;
  // Display strings would sort "10" < "2" and "12,288" < "4,096"; raw values must not.
  model.setOps({op("a", 10, "q", 64, 64), op("b", 2, "q", 64, 192), op("c", 1, "q", 64, 1000)});
  QSortFilterProxyModel proxy;
  proxy.setSourceModel(&model);
  proxy.setSortRole(OpTableModel::RawValueRole);

  auto names = [&] {
    QStringList out;
    for (int r = 0; r < proxy.rowCount(); ++r) out << proxy.index(r, OpTableModel::Name).data().toString();
    return out;
  };
  proxy.sort(OpTableModel::Layer, Qt::AscendingOrder);
  EXPECT_EQ(names(), QStringList({"c", "b", "a"}));
  proxy.sort(OpTableModel::Params, Qt::AscendingOrder);  // 4096, 12288, 64000
  EXPECT_EQ(names(), QStringList({"a", "b", "c"}));
  proxy.sort(OpTableModel::Params, Qt::DescendingOrder);
  EXPECT_EQ(names(), QStringList({"c", "b", "a"}));

  WarningCollector warnings;
  QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::Warning);
  model.setOps(gptLikeOps(2, 16));
  EXPECT_TRUE(warnings.warnings().isEmpty()) << warnings.warnings().join(QLatin1Char('\n')).toStdString();
}
