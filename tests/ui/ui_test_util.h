// Helpers shared by the GUI tests.
#pragma once

#include <QStringList>
#include <QtGlobal>
#include <string>
#include <vector>

#include "api/types.h"

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

inline api::OpInfo op(const std::string& name, int layer, const std::string& kind, int64_t in, int64_t out,
                      bool bias = false) {
  api::OpInfo info;
  info.name = name;
  info.layer = layer;
  info.kind = kind;
  info.inFeatures = in;
  info.outFeatures = out;
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

}  // namespace ranklab::test
