// RunRepository: the GUI thread's read side of the run store (DESIGN.md "Run store": one SQLite
// connection per thread; the job's worker writes through its own). Views never see SQL or the store:
// they get api value types from here, through the app layer.
//
// Every call catches core's errors: it returns an empty result / false and puts the message (which
// names the database file) in lastError(), so a damaged or locked database never crashes the UI.
// GUI thread only.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>
#include <memory>
#include <optional>
#include <vector>

#include "api/run.h"

namespace ranklab::store {
class RunStore;
}

namespace ranklab::app {

class RunRepository {
 public:
  RunRepository();
  ~RunRepository();

  // Opens (creating when missing) the database at `path`; empty = the default database
  // (RunStore::defaultPath()). False and lastError() on failure; the previous database stays open.
  bool open(const QString& path = {});
  bool isOpen() const { return m_store != nullptr; }
  QString path() const { return m_path; }
  static QString defaultPath();

  std::vector<api::RunRecord> listRuns();  // newest first
  std::optional<api::RunRecord> findRun(qint64 id);
  std::optional<api::RunData> loadRun(qint64 id);  // the whole run: ops, series, frames, evals
  // `runs` with one record per further metric each measured (api::metricRecords): what the budget
  // curves pick a metric from. `runs` unchanged when the evaluations cannot be read.
  std::vector<api::RunRecord> metricRecords(const std::vector<api::RunRecord>& runs);
  bool deleteRuns(const QList<qint64>& ids);  // each in its own transaction
  // "pid N on HOST" when run `id` is running in a process that may still be writing it; empty
  // otherwise (and when the database cannot be read).
  QString liveOwner(qint64 id);
  bool setTags(qint64 id, const QStringList& tags);
  bool setNotes(qint64 id, const QString& notes);

  // For a timer: the runs, when another connection (a job's worker thread, another window, a
  // ranklab-cli process, a merge) committed since the last call and the runs listed differ from the
  // last listing (listRuns or pollRuns) in anything a view shows; nullopt otherwise. Cheap when
  // nothing changed (one PRAGMA data_version); a job appending series points does not count.
  std::optional<std::vector<api::RunRecord>> pollRuns();

  QString lastError() const { return m_lastError; }

 private:
  template <typename F>
  bool guarded(F&& f);

  std::unique_ptr<store::RunStore> m_store;
  qint64 m_dataVersion = -1;
  QByteArray m_runsSignature;
  QString m_path;
  QString m_lastError;
};

}  // namespace ranklab::app
