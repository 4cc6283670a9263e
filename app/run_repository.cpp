#include "app/run_repository.h"

#include <exception>

#include "store/run_store.h"

namespace ranklab::app {

RunRepository::RunRepository() = default;
RunRepository::~RunRepository() = default;

template <typename F>
bool RunRepository::guarded(F&& f) {
  if (!m_store) {
    m_lastError = QStringLiteral("no run database is open");
    return false;
  }
  try {
    f(*m_store);
    m_lastError.clear();
    return true;
  } catch (const std::exception& e) {
    m_lastError = QString::fromStdString(e.what());
    return false;
  }
}

QString RunRepository::defaultPath() {
  return QString::fromStdString(store::RunStore::defaultPath().string());
}

bool RunRepository::open(const QString& path) {
  const QString file = path.isEmpty() ? defaultPath() : path;
  try {
    auto opened = std::make_unique<store::RunStore>(file.toStdString());
    m_store = std::move(opened);
    m_path = file;
    m_dataVersion = -1;
    m_runsSignature.clear();
    m_lastError.clear();
    return true;
  } catch (const std::exception& e) {
    m_lastError = QString::fromStdString(e.what());
    return false;
  }
}

namespace {

// What views show of the runs: when it is unchanged, nothing needs redrawing.
QByteArray runsSignature(const std::vector<api::RunRecord>& runs) {
  QByteArray text;
  for (const auto& r : runs) {
    text += QByteArray::number(qint64(r.id)) + ' ' + QByteArray::fromStdString(r.status) + ' ' +
            QByteArray::fromStdString(r.finishedAt) + ' ' + QByteArray::fromStdString(r.name) + ' ' +
            QByteArray::fromStdString(r.notes) + ' ' + QByteArray::number(r.metricAfter, 'g', 17) + ' ' +
            QByteArray::number(r.keptFraction, 'g', 17) + ' ' + QByteArray::fromStdString(r.error);
    for (const auto& tag : r.tags) text += ' ' + QByteArray::fromStdString(tag);
    text += '\n';
  }
  return text;
}

}  // namespace

std::optional<std::vector<api::RunRecord>> RunRepository::pollRuns() {
  qint64 version = -1;
  if (!guarded([&](store::RunStore& s) { version = s.dataVersion(); }) || version == m_dataVersion)
    return std::nullopt;
  m_dataVersion = version;
  std::vector<api::RunRecord> runs;
  if (!guarded([&](store::RunStore& s) { runs = s.listRuns(); })) return std::nullopt;
  QByteArray signature = runsSignature(runs);
  if (signature == m_runsSignature) return std::nullopt;
  m_runsSignature = std::move(signature);
  return runs;
}

std::vector<api::RunRecord> RunRepository::listRuns() {
  std::vector<api::RunRecord> runs;
  guarded([&](store::RunStore& s) {
    m_dataVersion = s.dataVersion();
    runs = s.listRuns();
  });
  m_runsSignature = runsSignature(runs);
  return runs;
}

std::vector<api::RunRecord> RunRepository::metricRecords(const std::vector<api::RunRecord>& runs) {
  std::map<int64_t, std::vector<api::EvalPoint>> evals;
  if (!guarded([&](store::RunStore& s) { evals = s.evalsByRun(); })) return runs;
  std::vector<api::RunRecord> out;
  out.reserve(runs.size());
  for (const auto& run : runs) {
    const auto it = evals.find(run.id);
    if (it == evals.end()) {
      out.push_back(run);
      continue;
    }
    for (auto& r : api::metricRecords(run, it->second)) out.push_back(std::move(r));
  }
  return out;
}

std::optional<api::RunRecord> RunRepository::findRun(qint64 id) {
  std::optional<api::RunRecord> run;
  guarded([&](store::RunStore& s) { run = s.findRun(id); });
  return run;
}

std::optional<api::RunData> RunRepository::loadRun(qint64 id) {
  std::optional<api::RunData> data;
  guarded([&](store::RunStore& s) { data = s.loadRun(id); });
  return data;
}

bool RunRepository::deleteRuns(const QList<qint64>& ids) {
  return guarded([&](store::RunStore& s) {
    for (qint64 id : ids) s.deleteRun(id);
  });
}

QString RunRepository::liveOwner(qint64 id) {
  std::string owner;
  guarded([&](store::RunStore& s) { owner = s.liveOwner(id); });
  return QString::fromStdString(owner);
}

bool RunRepository::setTags(qint64 id, const QStringList& tags) {
  std::vector<std::string> list;
  for (const QString& t : tags) list.push_back(t.toStdString());
  return guarded([&](store::RunStore& s) { s.setTags(id, list); });
}

bool RunRepository::setNotes(qint64 id, const QString& notes) {
  return guarded([&](store::RunStore& s) { s.setNotes(id, notes.toStdString()); });
}

}  // namespace ranklab::app
