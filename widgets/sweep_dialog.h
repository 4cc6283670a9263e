// SweepDialog: turns the job panel's job into a sweep (issue 8): the decompositions, rank selectors,
// budgets p and seeds to cross, and an optional sweep name. Every combination becomes a normal run
// tagged with the sweep's id; the app layer expands and queues them (jobs/sweep.h), skipping points a
// previous run of the same sweep finished.
//
// The Queue button says how many runs the grid makes and is disabled, with the reason shown, while
// the grid is not runnable (an empty list, a budget outside (0, 1], a malformed number, RankDyna
// with a weighted decomposition or without fine-tuning steps).
// GUI thread only.
#pragma once

#include <QDialog>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <string>
#include <vector>

#include "api/job.h"

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace ranklab::widgets {

struct SweepRequest {
  api::JobSpec base;  // the job panel's job: everything the lists below do not vary
  std::vector<std::string> decompositions;
  std::vector<std::string> selectors;
  std::vector<double> keeps;
  std::vector<uint64_t> seeds;
  std::string sweepId;  // empty: derived from the points
};

class SweepDialog : public QDialog {
  Q_OBJECT

 public:
  explicit SweepDialog(const api::JobSpec& base, QWidget* parent = nullptr);

  SweepRequest request() const;
  // Runs the grid makes (the product of the list sizes); 0 when a list is empty or malformed.
  int pointCount() const;
  // Why the grid cannot be queued; empty when it can.
  QString problem() const;

  // For tests and for presetting: the fields as the user would type or tick them.
  void setChecked(const QString& name, bool checked);  // a decomposition or selector name
  void setBudgetsText(const QString& text);            // "0.3, 0.5 0.7"
  void setSeedsText(const QString& text);              // "0 1 2" or a range "0-4"
  void setSweepName(const QString& text);

 private:
  void updateSummary();
  QStringList checkedIn(const std::vector<QCheckBox*>& boxes) const;

  api::JobSpec m_base;
  std::vector<QCheckBox*> m_decompositions;
  std::vector<QCheckBox*> m_selectors;
  QLineEdit* m_budgets = nullptr;
  QLineEdit* m_seeds = nullptr;
  QLineEdit* m_name = nullptr;
  QLabel* m_summary = nullptr;
  QDialogButtonBox* m_buttons = nullptr;
};

// "0.3, 0.5 0.7" -> {0.3, 0.5, 0.7}; false (and `error`) on a malformed entry.
bool parseNumberList(const QString& text, std::vector<double>* out, QString* error);
// "0 1 2", "0, 1" or "0-4" -> seeds; false (and `error`) on a malformed entry.
bool parseSeedList(const QString& text, std::vector<uint64_t>* out, QString* error);

}  // namespace ranklab::widgets
