// Helpers shared by the GUI tests.
#pragma once

#include <gtest/gtest.h>

#include <QByteArray>
#include <QFile>
#include <QImage>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <QtGlobal>
#include <string>
#include <vector>

#include "api/job.h"
#include "api/types.h"
#include "test_paths.h"

namespace ranklab::test {

// Collects every qWarning/qCritical emitted while alive (QAbstractItemModelTester in Warning mode
// reports through them), so a test can assert there were none.
class WarningCollector {
 public:
  WarningCollector() { s_active = this, m_previous = qInstallMessageHandler(&WarningCollector::handle); }
  ~WarningCollector() {
    qInstallMessageHandler(m_previous);
    s_active = nullptr;
  }
  const QStringList& warnings() const { return m_warnings; }

 private:
  static void handle(QtMsgType type, const QMessageLogContext& context, const QString& message) {
    if (s_active && (type == QtWarningMsg || type == QtCriticalMsg)) {
      s_active->m_warnings << QStringLiteral("%1: %2").arg(QString::fromLatin1(context.category), message);
    }
  }
  static inline WarningCollector* s_active = nullptr;
  QtMessageHandler m_previous = nullptr;
  QStringList m_warnings;
};

// An op of either api type (OpInfo, OpResult) with its name, place and shape filled in.
template <typename Op>
Op namedOp(const std::string& name, int layer, const std::string& kind, int64_t in, int64_t out) {
  Op op;
  op.name = name;
  op.layer = layer;
  op.kind = kind;
  op.inFeatures = in;
  op.outFeatures = out;
  return op;
}

inline api::OpInfo op(const std::string& name, int layer, const std::string& kind, int64_t in, int64_t out,
                      bool bias = false) {
  api::OpInfo info = namedOp<api::OpInfo>(name, layer, kind, in, out);
  info.hasBias = bias;
  return info;
}

// A GPT-2-like registry over `layers` blocks: q, k, v, o (d x d) and up (d x 4d), down (4d x d).
inline std::vector<api::OpInfo> gptLikeOps(int layers, int64_t d) {
  std::vector<api::OpInfo> ops;
  for (int l = 0; l < layers; ++l) {
    const std::string prefix = "layers." + std::to_string(l) + ".";
    for (const char* kind : {"q", "k", "v", "o"})
      ops.push_back(op(prefix + "attn." + kind, l, kind, d, d, true));
    ops.push_back(op(prefix + "mlp.up", l, "up", d, 4 * d, true));
    ops.push_back(op(prefix + "mlp.down", l, "down", 4 * d, d, true));
  }
  return ops;
}

// The bytes of the file at `path`; empty when it cannot be read.
inline QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// Exports `view` (anything with bool exportTo(path, error)) as `base`.png and `base`.pdf under `dir`
// and checks that the PNG is one and decodes and that the PDF starts like one. Callers wrap it in
// ASSERT_NO_FATAL_FAILURE to stop at a failed export.
template <typename View>
void expectFigureExports(View& view, const QTemporaryDir& dir, const QString& base) {
  QString error;
  const QString png = dir.filePath(base + QStringLiteral(".png"));
  ASSERT_TRUE(view.exportTo(png, &error)) << error.toStdString();
  EXPECT_TRUE(readAll(png).startsWith("\x89PNG")) << png.toStdString();
  EXPECT_FALSE(QImage(png).isNull()) << png.toStdString();
  const QString pdf = dir.filePath(base + QStringLiteral(".pdf"));
  ASSERT_TRUE(view.exportTo(pdf, &error)) << error.toStdString();
  EXPECT_TRUE(readAll(pdf).startsWith("%PDF")) << pdf.toStdString();
}

// The small real job the end-to-end tests run: the shipped gpt-mini on the CPU at p = 0.5, four
// calibration samples of 64 tokens, one evaluation document, no decomposition cache.
inline api::JobSpec gptMiniJob() {
  api::JobSpec spec;
  spec.model = RANKLAB_SOURCE_DIR "/resources/models/gpt-mini";
  spec.device = "cpu";
  spec.keep = 0.5;
  spec.calib = RANKLAB_SOURCE_DIR "/resources/data/lm/valid.txt";
  spec.evalText = RANKLAB_SOURCE_DIR "/resources/data/lm/test.txt";
  spec.maxEvalDocuments = 1;
  spec.calibSamples = 4;
  spec.calibLength = 64;
  spec.useCache = false;
  return spec;
}

}  // namespace ranklab::test
