// JobPanel: the form that describes a compression job (api::JobSpec) and starts, queues and cancels
// it: model, data, decomposition, rank selector and its parameters, budget with a live parameter
// ledger, fine-tuning, device and seed, the memory and speed options real-sized models need (randomized
// SVD, layer-streamed calibration on compressed layers, activation checkpointing, threads) with the
// job's estimated memory; below it the running job's phase, progress and ETA.
//
// The panel only edits a JobSpec and emits requests; the app layer runs jobs (JobController). It
// checks what it can before a request is sent (a model is named; RankDyna needs plain SVD and
// fine-tuning steps) and says why Run is disabled. GUI thread only.
#pragma once

#include <QWidget>
#include <map>
#include <string>

#include "api/job.h"
#include "api/types.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QGroupBox;
class QTimer;

namespace ranklab::widgets {

class JobPanel : public QWidget {
  Q_OBJECT

 public:
  explicit JobPanel(QWidget* parent = nullptr);

  // The form as a JobSpec (fields the form does not show keep the values last given to setSpec()).
  api::JobSpec spec() const;
  void setSpec(const api::JobSpec& spec);

  // Models offered in the model box: the shipped demos by name (their path as item data and
  // tooltip), then recent ones by path; the text stays editable (a typed path is used as typed).
  void setModelChoices(const QStringList& shipped, const QStringList& recent = {});
  // The model the form names: the path behind a shipped model's name, else the text as typed.
  QString modelPath() const;
  void setModelPath(const QString& path);
  // Devices offered ("auto", "cpu", "cuda:0", ...).
  void setDevices(const QStringList& devices);
  // The loaded model's op table feeds the ledger (compressible and whole-model parameters before and
  // after at the chosen p). An empty summary clears it.
  void setModelSummary(const api::ModelSummary& summary);

  // Job state: while running, Run becomes unavailable and Cancel available; Queue stays available.
  void setRunning(bool running);
  // `etaSeconds` < 0: unknown.
  void showProgress(const QString& phase, qint64 done, qint64 total, double elapsedSeconds,
                    double etaSeconds);
  void showIdle(const QString& message);
  // The job's estimated peak memory (one line), the full plan (its tooltip) and whether it exceeds
  // the memory available (then it is highlighted). The app computes it when specEdited() fires.
  void setMemoryEstimate(const QString& text, const QString& details, bool tooLarge);
  QString memoryEstimate() const;

  // Why Run is disabled (empty when it is enabled).
  QString problem() const;
  QString ledgerText() const;

  QComboBox* modelBox() const { return m_model; }
  QComboBox* selectorBox() const { return m_selector; }
  QComboBox* decompositionBox() const { return m_decomposition; }
  QDoubleSpinBox* keepBox() const { return m_keep; }
  QSpinBox* finetuneStepsBox() const { return m_finetuneSteps; }
  QSpinBox* timeBudgetBox() const { return m_timeBudget; }
  QLineEdit* evalEdit() const { return m_eval; }
  QLineEdit* choicesEdit() const { return m_choices; }
  QSpinBox* maxDocumentsBox() const { return m_maxDocs; }
  QLineEdit* manualRanksEdit() const { return m_manualRanks; }
  QCheckBox* randomizedSvdBox() const { return m_randomizedSvd; }
  QCheckBox* propagateCompressedBox() const { return m_propagateCompressed; }
  QComboBox* checkpointingBox() const { return m_checkpointing; }
  QSpinBox* threadsBox() const { return m_threads; }
  QSpinBox* calibLengthBox() const { return m_calibLength; }
  // "name=rank, glob=rank, ..." (rank an integer, or a fraction of full rank below 1) as the
  // manual selector's map; false and a reason in `error` for malformed text.
  static bool parseManualRanks(const QString& text, std::map<std::string, double>* ranks, QString* error);
  QPushButton* runButton() const { return m_run; }
  QPushButton* queueButton() const { return m_queue; }
  QPushButton* sweepButton() const { return m_sweep; }
  QPushButton* cancelButton() const { return m_cancel; }
  QProgressBar* progressBar() const { return m_progress; }
  QLabel* statusLabel() const { return m_status; }

 signals:
  void runRequested(const ranklab::api::JobSpec& spec);
  void queueRequested(const ranklab::api::JobSpec& spec);
  void cancelRequested();
  // Sweep... was pressed: the app opens the sweep dialog on this job.
  void sweepRequested(const ranklab::api::JobSpec& spec);
  // The model text changed to a path (typed, picked or browsed): the app may inspect it.
  void modelChosen(const QString& path);
  // The form was edited and then left alone for kEditPauseMs: `spec` is what it now describes.
  void specEdited(const ranklab::api::JobSpec& spec);

 public:
  static constexpr int kEditPauseMs = 300;

 private:
  void updateState();
  void updateLedger();
  void browseModel();
  void browseData(QLineEdit* target, const QString& title);

  api::JobSpec m_base;
  api::ModelSummary m_summary;
  bool m_running = false;
  QString m_lastChosen;

  QComboBox* m_model = nullptr;
  QLineEdit* m_tokenizer = nullptr;
  QLineEdit* m_calib = nullptr;
  QLineEdit* m_eval = nullptr;
  QLineEdit* m_choices = nullptr;  // multiple-choice set: acc and acc_norm
  QSpinBox* m_maxDocs = nullptr;
  QLineEdit* m_manualRanks = nullptr;
  QWidget* m_manualRow = nullptr;
  QComboBox* m_decomposition = nullptr;
  QComboBox* m_selector = nullptr;
  QDoubleSpinBox* m_keep = nullptr;
  QSlider* m_keepSlider = nullptr;
  QLabel* m_ledger = nullptr;
  QGroupBox* m_arsBox = nullptr;
  QSpinBox* m_arsSteps = nullptr;
  QDoubleSpinBox* m_lambda = nullptr;
  QDoubleSpinBox* m_gamma = nullptr;
  QDoubleSpinBox* m_tau = nullptr;
  QComboBox* m_alignNorm = nullptr;
  QSpinBox* m_logEvery = nullptr;
  QSpinBox* m_timeBudget = nullptr;
  QGroupBox* m_dynaBox = nullptr;
  QSpinBox* m_warmup = nullptr;
  QSpinBox* m_final = nullptr;
  QSpinBox* m_realloc = nullptr;
  QSpinBox* m_finetuneSteps = nullptr;
  QDoubleSpinBox* m_learningRate = nullptr;
  QSpinBox* m_batch = nullptr;
  QSpinBox* m_calibSamples = nullptr;
  QSpinBox* m_calibLength = nullptr;
  QCheckBox* m_randomizedSvd = nullptr;
  QCheckBox* m_propagateCompressed = nullptr;
  QComboBox* m_checkpointing = nullptr;
  QSpinBox* m_threads = nullptr;
  QLabel* m_memory = nullptr;
  QTimer* m_editTimer = nullptr;
  QComboBox* m_device = nullptr;
  QSpinBox* m_seed = nullptr;
  QPushButton* m_run = nullptr;
  QPushButton* m_queue = nullptr;
  QPushButton* m_sweep = nullptr;
  QPushButton* m_cancel = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_problem = nullptr;
};

}  // namespace ranklab::widgets
