#include "widgets/job_panel.h"

#include <QAbstractScrollArea>
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSlider>
#include <QSpinBox>
#include <QThread>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

namespace ranklab::widgets {

namespace {

// A form label that names `buddy`, so its "&" makes a keyboard shortcut (Alt+letter) instead of
// showing up as text when the field is a row of widgets.
QLabel* buddyLabel(const QString& text, QWidget* buddy) {
  auto* label = new QLabel(text);
  label->setBuddy(buddy);
  return label;
}

// The mouse wheel over a spin box, combo box or slider that does not have the keyboard focus
// scrolls the panel instead of changing the value (scrolling the dock had silently changed lambda).
class WheelGuard : public QObject {
 public:
  using QObject::QObject;

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override {
    auto* widget = qobject_cast<QWidget*>(watched);
    if (event->type() != QEvent::Wheel || !widget || widget->hasFocus()) return false;
    for (QWidget* w = widget->parentWidget(); w; w = w->parentWidget())
      if (auto* area = qobject_cast<QAbstractScrollArea*>(w)) {
        QCoreApplication::sendEvent(area->viewport(), event);
        break;
      }
    return true;
  }
};

QSpinBox* spin(int min, int max, int value, const QString& tip) {
  auto* s = new QSpinBox;
  s->setRange(min, max);
  s->setValue(value);
  s->setToolTip(tip);
  s->setAccelerated(true);
  return s;
}

QDoubleSpinBox* dspin(double min, double max, double value, int decimals, double step, const QString& tip) {
  auto* s = new QDoubleSpinBox;
  s->setRange(min, max);
  s->setDecimals(decimals);
  s->setSingleStep(step);
  s->setValue(value);
  s->setToolTip(tip);
  return s;
}

QString count(double n) { return QLocale().toString(qlonglong(std::llround(n))); }

QString duration(double seconds) {
  if (seconds < 0) return QStringLiteral("?");
  const qint64 s = qint64(std::llround(seconds));
  if (s < 60) return QStringLiteral("%1 s").arg(s);
  if (s < 3600) return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
  return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

bool isLabelledSet(const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  return suffix == QLatin1String("tsv") || suffix == QLatin1String("jsonl") || QFileInfo(path).isDir();
}

}  // namespace

JobPanel::JobPanel(QWidget* parent) : QWidget(parent) {
  // The form scrolls; what starts and follows a job (the reason Run is unavailable, the buttons, the
  // progress) stays in view below it however short the dock is.
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  auto* form = new QWidget;
  auto* layout = new QVBoxLayout(form);

  auto* modelBox = new QGroupBox(tr("Model and data"));
  auto* modelForm = new QFormLayout(modelBox);
  m_model = new QComboBox;
  m_model->setEditable(true);
  m_model->setInsertPolicy(QComboBox::NoInsert);
  m_model->setMinimumContentsLength(10);
  m_model->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_model->setToolTip(tr("A Hugging Face directory, a .gguf file or a llama2.c .bin (shipped demos first)"));
  auto* browse = new QToolButton;
  browse->setText(QStringLiteral("…"));
  browse->setToolTip(tr("Choose a model directory"));
  auto* modelRow = new QHBoxLayout;
  modelRow->addWidget(m_model, 1);
  modelRow->addWidget(browse);
  modelForm->addRow(buddyLabel(tr("&Model"), m_model), modelRow);
  m_tokenizer = new QLineEdit;
  m_tokenizer->setPlaceholderText(tr("found next to the model"));
  modelForm->addRow(tr("Tokenizer"), m_tokenizer);
  auto dataRow = [&](QLineEdit*& edit, const QString& label, const QString& placeholder,
                     const QString& title) {
    edit = new QLineEdit;
    edit->setPlaceholderText(placeholder);
    auto* button = new QToolButton;
    button->setText(QStringLiteral("…"));
    auto* row = new QHBoxLayout;
    row->addWidget(edit, 1);
    row->addWidget(button);
    modelForm->addRow(buddyLabel(label, edit), row);
    QLineEdit* target = edit;
    connect(button, &QToolButton::clicked, this, [this, target, title] { browseData(target, title); });
  };
  dataRow(m_calib, tr("&Calibration"), tr("text (decoders) or labelled .tsv (classifiers)"),
          tr("Calibration data"));
  dataRow(m_eval, tr("&Evaluation"), tr("text: perplexity; .tsv/.jsonl: accuracy"), tr("Evaluation data"));
  dataRow(m_choices, tr("M&ultiple choice"), tr(".jsonl: zero-shot acc, acc_norm (HellaSwag, PIQA, ARC...)"),
          tr("Multiple-choice set"));
  m_choices->setToolTip(
      tr("A multiple-choice set scored as lm-evaluation-harness scores it: RankLab's items "
         "(context, choices, gold) or a HellaSwag, PIQA, ARC, OpenBookQA, WinoGrande, BoolQ or MathQA "
         "file, detected from its keys (ranklab-cli --choices)"));
  m_maxDocs = spin(0, 100000000, 0,
                   tr("Evaluate the first N documents of the evaluation text (ranklab-cli --max-docs); "
                      "all: the whole file. Runs compare only when evaluated the same way"));
  m_maxDocs->setSpecialValueText(tr("all"));
  modelForm->addRow(buddyLabel(tr("Ma&x documents"), m_maxDocs), m_maxDocs);
  m_calibSamples = spin(0, 100000, 0,
                        tr("Calibration windows (or examples). Auto: 16,384 tokens' worth of windows "
                           "(128 windows of 128 tokens for ARS and RankDyna, 32 of 512 otherwise); 32 "
                           "examples for a classifier"));
  m_calibSamples->setSpecialValueText(tr("auto"));
  modelForm->addRow(tr("Calibration samples"), m_calibSamples);
  m_calibLength = spin(0, 1 << 20, 0,
                       tr("Tokens per calibration window (ranklab-cli --calib-len). Auto: 128 for ARS and "
                          "RankDyna, 512 (or the model's context if shorter) otherwise"));
  m_calibLength->setSpecialValueText(tr("auto"));
  modelForm->addRow(tr("Calibration length"), m_calibLength);
  layout->addWidget(modelBox);

  auto* methodBox = new QGroupBox(tr("Method and budget"));
  auto* methodForm = new QFormLayout(methodBox);
  m_decomposition = new QComboBox;
  m_decomposition->addItem(tr("SVD"), QStringLiteral("svd"));
  m_decomposition->addItem(tr("Fisher-weighted SVD"), QStringLiteral("fwsvd"));
  m_decomposition->addItem(tr("Importance-weighted SVD"), QStringLiteral("iwsvd"));
  m_decomposition->addItem(tr("Activation-aware SVD"), QStringLiteral("asvd"));
  m_decomposition->addItem(tr("Whitened SVD (SVD-LLM)"), QStringLiteral("whiten"));
  methodForm->addRow(tr("&Decomposition"), m_decomposition);
  m_selector = new QComboBox;
  m_selector->addItem(tr("Uniform ranks"), QStringLiteral("uniform"));
  m_selector->addItem(tr("Energy threshold"), QStringLiteral("energy"));
  m_selector->addItem(tr("Manual ranks"), QStringLiteral("manual"));
  m_selector->addItem(tr("Sensitivity search (ASVD)"), QStringLiteral("sensitivity"));
  m_selector->addItem(tr("ARS (learned masks)"), QStringLiteral("ars"));
  m_selector->addItem(tr("RankDyna (RankLab's reading)"), QStringLiteral("rankdyna"));
  m_selector->setItemData(
      m_selector->findData(QStringLiteral("rankdyna")),
      tr("Ranks move between layers during one fine-tuning run. The paper's full text was not at hand: "
         "this follows section 5 of docs/METHODS.md, which says what was assumed."),
      Qt::ToolTipRole);
  methodForm->addRow(tr("&Rank selector"), m_selector);
  m_manualRanks = new QLineEdit;
  m_manualRanks->setObjectName(QStringLiteral("manualRanks"));
  m_manualRanks->setPlaceholderText(tr("layers.*.attn.*=32, layers.*.mlp.*=0.5"));
  m_manualRanks->setToolTip(
      tr("Op name or glob = rank (an integer) or fraction of full rank (below 1), comma-separated; ops "
         "not named keep full rank (ranklab-cli --select manual --ranks)"));
  m_manualRow = buddyLabel(tr("Ran&ks"), m_manualRanks);
  methodForm->addRow(m_manualRow, m_manualRanks);
  m_keep = dspin(0.01, 1.0, 0.5, 3, 0.05,
                 tr("p: the kept fraction of the compressible parameters (docs/METHODS.md, section 1)"));
  m_keepSlider = new QSlider(Qt::Horizontal);
  m_keepSlider->setRange(1, 100);
  m_keepSlider->setValue(50);
  auto* keepRow = new QHBoxLayout;
  keepRow->addWidget(m_keepSlider, 1);
  keepRow->addWidget(m_keep);
  methodForm->addRow(buddyLabel(tr("&Budget p"), m_keep), keepRow);
  m_ledger = new QLabel;
  m_ledger->setWordWrap(true);
  m_ledger->setTextInteractionFlags(Qt::TextSelectableByMouse);
  methodForm->addRow(QString(), m_ledger);
  layout->addWidget(methodBox);

  m_arsBox = new QGroupBox(tr("ARS"));
  auto* arsForm = new QFormLayout(m_arsBox);
  m_arsSteps = spin(1, 1000000, 1000,
                    tr("The most mask-training steps (fewer when the budget is met and the loss plateaus)"));
  m_lambda = dspin(0.0, 1e6, 16.0, 2, 1.0, tr("Budget hinge weight lambda"));
  m_gamma = dspin(0.0, 1e6, 10.0, 2, 1.0, tr("Alignment regulariser weight gamma"));
  m_tau = dspin(0.01, 10.0, 0.4, 2, 0.05, tr("Gumbel-sigmoid temperature tau"));
  m_alignNorm = new QComboBox;
  m_alignNorm->addItem(tr("share of energy (2-norm)"), QStringLiteral("energy"));
  m_alignNorm->addItem(tr("largest value"), QStringLiteral("max"));
  m_alignNorm->setToolTip(tr("How each op's singular values are scaled in the alignment term"));
  m_logEvery = spin(1, 100000, 10, tr("Record the masks every N steps"));
  m_timeBudget = spin(0, 7 * 24 * 3600, 0,
                      tr("Seconds of mask training after which ARS stops and reads off the masks it has "
                         "learned (none: train to the step limit or the plateau)"));
  m_timeBudget->setSuffix(tr(" s"));
  m_timeBudget->setSpecialValueText(tr("none"));
  arsForm->addRow(tr("Steps"), m_arsSteps);
  arsForm->addRow(tr("Time budget"), m_timeBudget);
  arsForm->addRow(tr("λ (budget)"), m_lambda);
  arsForm->addRow(tr("γ (alignment)"), m_gamma);
  arsForm->addRow(tr("τ (temperature)"), m_tau);
  arsForm->addRow(tr("Alignment scale"), m_alignNorm);
  arsForm->addRow(tr("Log every"), m_logEvery);
  layout->addWidget(m_arsBox);

  m_dynaBox = new QGroupBox(tr("RankDyna"));
  auto* dynaForm = new QFormLayout(m_dynaBox);
  m_warmup = spin(-1, 1000000, -1, tr("Steps at full rank; -1: 10% of the steps"));
  m_final = spin(-1, 1000000, -1, tr("Steps at the final budget with masks frozen; -1: 20% of the steps"));
  m_realloc = spin(1, 100000, 10, tr("Reallocate every N steps"));
  dynaForm->addRow(tr("Warm-up steps"), m_warmup);
  dynaForm->addRow(tr("Final steps"), m_final);
  dynaForm->addRow(tr("Reallocate every"), m_realloc);
  layout->addWidget(m_dynaBox);

  auto* trainBox = new QGroupBox(tr("Fine-tuning and device"));
  auto* trainForm = new QFormLayout(trainBox);
  m_finetuneSteps =
      spin(0, 10000000, 0, tr("Fine-tuning steps after compression (RankDyna: its whole run); 0: none"));
  m_learningRate = dspin(1e-7, 1.0, 1e-4, 6, 1e-5, tr("Fine-tuning learning rate"));
  m_batch = spin(1, 4096, 8, tr("Batch size (fine-tuning and ARS)"));
  m_device = new QComboBox;
  m_device->addItems({QStringLiteral("auto"), QStringLiteral("cpu")});
  m_seed = spin(0, 1 << 30, 0, tr("Seed: same seed, same ranks"));
  trainForm->addRow(tr("&Fine-tune steps"), m_finetuneSteps);
  trainForm->addRow(tr("Learning rate"), m_learningRate);
  trainForm->addRow(tr("Batch"), m_batch);
  trainForm->addRow(tr("De&vice"), m_device);
  trainForm->addRow(tr("Seed"), m_seed);
  layout->addWidget(trainBox);

  // What real-sized models need: the options that trade time for memory or accuracy for time, and
  // the memory the job will need (the app fills it in from the model's headers).
  auto* scaleBox = new QGroupBox(tr("Memory and speed"));
  auto* scaleForm = new QFormLayout(scaleBox);
  m_randomizedSvd = new QCheckBox(tr("Randomized SVD"));
  m_randomizedSvd->setToolTip(
      tr("Compute only the top singular triplets each op keeps (ranklab-cli --randomized-svd): faster on "
         "large matrices. Needs the ranks before decomposing: uniform or manual ranks"));
  m_propagateCompressed = new QCheckBox(tr("Calibrate each layer on the compressed ones before it"));
  m_propagateCompressed->setToolTip(
      tr("Activation-aware and whitened SVD: the next layer's calibration inputs come from this layer "
         "compressed at its ranks, as SVD-LLM's sequential mode does, instead of the dense layer "
         "(ranklab-cli --propagate compressed). Uniform or manual ranks"));
  m_checkpointing = new QComboBox;
  m_checkpointing->addItem(tr("auto"), QStringLiteral("auto"));
  m_checkpointing->addItem(tr("on: recompute each layer"), QStringLiteral("on"));
  m_checkpointing->addItem(tr("off: keep every activation"), QStringLiteral("off"));
  m_checkpointing->setToolTip(
      tr("Training through the model (ARS, RankDyna, fine-tuning): recomputing each decoder layer in the "
         "backward pass costs about one more forward pass and holds a fraction of the activations. Auto "
         "turns it on when keeping them would not fit in memory (ranklab-cli --activation-checkpointing)"));
  // The job takes at most 4 x the hardware threads.
  m_threads = spin(0, 4 * std::max(1, QThread::idealThreadCount()), 0,
                   tr("CPU threads for the job (ranklab-cli --threads); auto: LibTorch's default"));
  m_threads->setSpecialValueText(tr("auto"));
  m_memory = new QLabel(tr("Choose a model to see the memory the job needs."));
  m_memory->setObjectName(QStringLiteral("memoryEstimate"));
  m_memory->setWordWrap(true);
  m_memory->setTextInteractionFlags(Qt::TextSelectableByMouse);
  scaleForm->addRow(QString(), m_randomizedSvd);
  scaleForm->addRow(QString(), m_propagateCompressed);
  scaleForm->addRow(buddyLabel(tr("Activation c&heckpointing"), m_checkpointing), m_checkpointing);
  scaleForm->addRow(tr("Threads"), m_threads);
  scaleForm->addRow(tr("Memory"), m_memory);
  layout->addWidget(scaleBox);
  layout->addStretch(1);
  auto* scroll = new QScrollArea;
  scroll->setWidget(form);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  outer->addWidget(scroll, 1);
  auto* footer = new QVBoxLayout;
  footer->setContentsMargins(9, 0, 9, 9);
  outer->addLayout(footer);

  m_problem = new QLabel;
  m_problem->setWordWrap(true);
  m_problem->setStyleSheet(QStringLiteral("color: palette(highlight);"));
  footer->addWidget(m_problem);
  auto* buttons = new QHBoxLayout;
  m_run = new QPushButton(tr("&Run"));
  m_run->setToolTip(tr("Run this job now (Ctrl+R)"));
  m_queue = new QPushButton(tr("&Queue"));
  m_queue->setToolTip(tr("Run it after the jobs already waiting"));
  m_sweep = new QPushButton(tr("S&weep..."));
  m_sweep->setToolTip(tr("Queue this job over several decompositions, selectors, budgets and seeds"));
  m_cancel = new QPushButton(tr("Cancel"));
  m_cancel->setToolTip(tr("Cancel the running job (Esc)"));
  buttons->addWidget(m_run);
  buttons->addWidget(m_queue);
  buttons->addWidget(m_sweep);
  buttons->addWidget(m_cancel);
  footer->addLayout(buttons);
  m_progress = new QProgressBar;
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  m_progress->setTextVisible(true);
  footer->addWidget(m_progress);
  m_status = new QLabel(tr("Idle"));
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  footer->addWidget(m_status);

  connect(browse, &QToolButton::clicked, this, &JobPanel::browseModel);
  connect(m_model, &QComboBox::currentTextChanged, this, &JobPanel::updateState);
  // Inspecting a model reads every weight: only when a path is picked or typing is finished.
  connect(m_model, &QComboBox::textActivated, this, [this](const QString& text) {
    const QString path = modelPath();
    if (!text.trimmed().isEmpty() && !path.isEmpty()) {
      m_lastChosen = path;
      emit modelChosen(path);
    }
  });
  connect(m_model->lineEdit(), &QLineEdit::editingFinished, this, [this] {
    const QString path = modelPath();
    if (!path.isEmpty() && path != m_lastChosen) emit modelChosen(path);
    m_lastChosen = path;
  });
  connect(m_eval, &QLineEdit::textChanged, this, &JobPanel::updateState);
  connect(m_choices, &QLineEdit::textChanged, this, &JobPanel::updateState);
  connect(m_manualRanks, &QLineEdit::textChanged, this, &JobPanel::updateState);
  connect(m_keepSlider, &QSlider::valueChanged, this, [this](int v) {
    if (std::lround(m_keep->value() * 100) != v) m_keep->setValue(v / 100.0);
  });
  connect(m_keep, &QDoubleSpinBox::valueChanged, this, [this](double v) {
    const QSignalBlocker block(m_keepSlider);
    m_keepSlider->setValue(int(std::lround(v * 100)));
    updateLedger();
  });
  for (QComboBox* box : {m_selector, m_decomposition})
    connect(box, &QComboBox::currentIndexChanged, this, &JobPanel::updateState);
  connect(m_finetuneSteps, &QSpinBox::valueChanged, this, &JobPanel::updateState);
  // Any edit of the form restarts a short timer; when it fires, specEdited() lets the app re-estimate
  // the job's memory (once per pause in typing, not per keystroke).
  m_editTimer = new QTimer(this);
  m_editTimer->setSingleShot(true);
  m_editTimer->setInterval(kEditPauseMs);
  connect(m_editTimer, &QTimer::timeout, this, [this] { emit specEdited(spec()); });
  auto edited = [this] { m_editTimer->start(); };
  for (auto* w : findChildren<QLineEdit*>()) connect(w, &QLineEdit::textChanged, this, edited);
  for (auto* w : findChildren<QComboBox*>()) connect(w, &QComboBox::currentIndexChanged, this, edited);
  for (auto* w : findChildren<QSpinBox*>()) connect(w, &QSpinBox::valueChanged, this, edited);
  for (auto* w : findChildren<QDoubleSpinBox*>()) connect(w, &QDoubleSpinBox::valueChanged, this, edited);
  for (auto* w : findChildren<QCheckBox*>()) connect(w, &QCheckBox::toggled, this, edited);
  connect(m_run, &QPushButton::clicked, this, [this] {
    if (problem().isEmpty()) emit runRequested(spec());
  });
  connect(m_queue, &QPushButton::clicked, this, [this] {
    if (problem().isEmpty()) emit queueRequested(spec());
  });
  connect(m_sweep, &QPushButton::clicked, this, [this] {
    if (!modelPath().isEmpty()) emit sweepRequested(spec());
  });
  connect(m_cancel, &QPushButton::clicked, this, &JobPanel::cancelRequested);
  auto* wheelGuard = new WheelGuard(this);
  for (QWidget* w : findChildren<QWidget*>()) {
    if (!qobject_cast<QAbstractSpinBox*>(w) && !qobject_cast<QComboBox*>(w) && !qobject_cast<QSlider*>(w))
      continue;
    w->setFocusPolicy(Qt::StrongFocus);  // a click or Tab gives the focus; the wheel alone does not
    w->installEventFilter(wheelGuard);
  }
  updateState();
  updateLedger();
}

api::JobSpec JobPanel::spec() const {
  api::JobSpec s = m_base;
  s.model = modelPath().toStdString();
  s.tokenizer = m_tokenizer->text().trimmed().toStdString();
  s.calib = m_calib->text().trimmed().toStdString();
  const QString eval = m_eval->text().trimmed();
  s.evalText.clear();
  s.evalLabelled.clear();
  if (!eval.isEmpty()) (isLabelledSet(eval) ? s.evalLabelled : s.evalText) = eval.toStdString();
  s.evalChoices = m_choices->text().trimmed().toStdString();
  s.maxEvalDocuments = m_maxDocs->value();
  s.calibSamples = m_calibSamples->value();
  s.calibLength = m_calibLength->value();
  s.decomposition = m_decomposition->currentData().toString().toStdString();
  s.selector = m_selector->currentData().toString().toStdString();
  if (s.selector == "manual") {
    std::map<std::string, double> ranks;
    if (parseManualRanks(m_manualRanks->text(), &ranks, nullptr)) s.manualRanks = ranks;
  }
  s.keep = m_keep->value();
  s.arsSteps = m_arsSteps->value();
  s.arsLambda = m_lambda->value();
  s.arsGamma = m_gamma->value();
  s.arsTau = m_tau->value();
  s.arsAlignNorm = m_alignNorm->currentData().toString().toStdString();
  s.logEvery = m_logEvery->value();
  s.arsTimeBudget = s.selector == "ars" ? m_timeBudget->value() : 0.0;  // only ARS takes one
  s.warmupSteps = m_warmup->value();
  s.finalSteps = m_final->value();
  s.reallocEvery = m_realloc->value();
  s.finetuneSteps = m_finetuneSteps->value();
  s.learningRate = m_learningRate->value();
  s.batchSize = m_batch->value();
  s.device = m_device->currentText().toStdString();
  s.seed = static_cast<uint64_t>(m_seed->value());
  // Options the chosen method cannot take stay out of the spec (the job would refuse them).
  s.randomizedSvd = m_randomizedSvd->isEnabled() && m_randomizedSvd->isChecked();
  s.propagateCompressed = m_propagateCompressed->isEnabled() && m_propagateCompressed->isChecked();
  s.activationCheckpointing = m_checkpointing->currentData().toString().toStdString();
  s.threads = m_threads->value();
  return s;
}

void JobPanel::setSpec(const api::JobSpec& s) {
  m_base = s;
  setModelPath(QString::fromStdString(s.model));
  m_tokenizer->setText(QString::fromStdString(s.tokenizer));
  m_calib->setText(QString::fromStdString(s.calib));
  m_eval->setText(QString::fromStdString(!s.evalLabelled.empty() ? s.evalLabelled : s.evalText));
  m_choices->setText(QString::fromStdString(s.evalChoices));
  m_calibSamples->setValue(int(s.calibSamples));
  m_calibLength->setValue(int(std::clamp<int64_t>(s.calibLength, 0, m_calibLength->maximum())));
  m_maxDocs->setValue(int(std::clamp<int64_t>(s.maxEvalDocuments, 0, m_maxDocs->maximum())));
  {
    QStringList parts;
    for (const auto& [name, rank] : s.manualRanks)
      parts << QStringLiteral("%1=%2").arg(QString::fromStdString(name)).arg(rank, 0, 'g', 10);
    m_manualRanks->setText(parts.join(QStringLiteral(", ")));
  }
  auto select = [](QComboBox* box, const std::string& value) {
    const int i = box->findData(QString::fromStdString(value));
    if (i >= 0) box->setCurrentIndex(i);
  };
  select(m_decomposition, s.decomposition);
  select(m_selector, s.selector);
  m_keep->setValue(s.keep);
  m_arsSteps->setValue(int(s.arsSteps));
  m_lambda->setValue(s.arsLambda);
  m_gamma->setValue(s.arsGamma);
  m_tau->setValue(s.arsTau);
  select(m_alignNorm, s.arsAlignNorm);
  m_logEvery->setValue(int(s.logEvery));
  m_timeBudget->setValue(int(std::lround(s.arsTimeBudget)));
  m_warmup->setValue(int(s.warmupSteps));
  m_final->setValue(int(s.finalSteps));
  m_realloc->setValue(int(s.reallocEvery));
  m_finetuneSteps->setValue(int(s.finetuneSteps));
  m_learningRate->setValue(s.learningRate);
  m_batch->setValue(int(s.batchSize));
  if (m_device->findText(QString::fromStdString(s.device)) < 0)
    m_device->addItem(QString::fromStdString(s.device));
  m_device->setCurrentText(QString::fromStdString(s.device));
  m_seed->setValue(int(s.seed));
  m_randomizedSvd->setChecked(s.randomizedSvd);
  m_propagateCompressed->setChecked(s.propagateCompressed);
  select(m_checkpointing, s.activationCheckpointing);
  m_threads->setValue(std::clamp(s.threads, 0, m_threads->maximum()));
  updateState();
}

void JobPanel::setModelChoices(const QStringList& shipped, const QStringList& recent) {
  const QString current = modelPath();
  const QSignalBlocker block(m_model);
  m_model->clear();
  for (const QString& path : shipped) {
    m_model->addItem(QFileInfo(QDir::cleanPath(path)).fileName(), path);
    m_model->setItemData(m_model->count() - 1, tr("Shipped demo model: %1").arg(path), Qt::ToolTipRole);
  }
  for (const QString& path : recent) {
    if (shipped.contains(path)) continue;
    m_model->addItem(path, path);
    m_model->setItemData(m_model->count() - 1, path, Qt::ToolTipRole);
  }
  setModelPath(current);
}

QString JobPanel::modelPath() const {
  const QString text = m_model->currentText().trimmed();
  const int index = m_model->findText(text, Qt::MatchExactly);
  if (index >= 0 && m_model->itemData(index).isValid()) return m_model->itemData(index).toString();
  return text;
}

void JobPanel::setModelPath(const QString& path) {
  int index = m_model->findData(path);
  if (index < 0 && !path.isEmpty()) {
    for (int i = 0; i < m_model->count() && index < 0; ++i)
      if (QDir::cleanPath(m_model->itemData(i).toString()) == QDir::cleanPath(path)) index = i;
  }
  if (index >= 0)
    m_model->setCurrentIndex(index);
  else
    m_model->setCurrentText(path);
}

bool JobPanel::parseManualRanks(const QString& text, std::map<std::string, double>* ranks, QString* error) {
  std::map<std::string, double> out;
  for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    const QString item = part.trimmed();
    if (item.isEmpty()) continue;
    const qsizetype eq = item.indexOf(QLatin1Char('='));
    bool ok = false;
    const double rank = eq > 0 ? item.mid(eq + 1).trimmed().toDouble(&ok) : 0.0;
    if (eq <= 0 || !ok || !(rank >= 0.0) || (rank >= 1.0 && rank != std::floor(rank))) {
      if (error)
        *error = tr("Ranks: \"%1\" is not name=rank (an integer rank, or a fraction below 1)").arg(item);
      return false;
    }
    out[item.left(eq).trimmed().toStdString()] = rank;
  }
  if (out.empty()) {
    if (error) *error = tr("Manual ranks: give at least one op, e.g. layers.*.attn.*=32");
    return false;
  }
  if (ranks) *ranks = std::move(out);
  return true;
}

void JobPanel::setDevices(const QStringList& devices) {
  const QString current = m_device->currentText();
  m_device->clear();
  m_device->addItems(devices);
  if (m_device->findText(current) >= 0) m_device->setCurrentText(current);
}

void JobPanel::setModelSummary(const api::ModelSummary& summary) {
  m_summary = summary;
  updateLedger();
}

void JobPanel::setRunning(bool running) {
  m_running = running;
  if (!running) {
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
  }
  updateState();
}

void JobPanel::showProgress(const QString& phase, qint64 done, qint64 total, double elapsedSeconds,
                            double etaSeconds) {
  if (total > 0) {
    m_progress->setRange(0, 1000);
    m_progress->setValue(int(std::lround(1000.0 * double(done) / double(total))));
    m_progress->setFormat(QStringLiteral("%1 %2/%3").arg(phase).arg(done).arg(total));
  } else {
    m_progress->setRange(0, 0);  // busy indicator
    m_progress->setFormat(phase);
  }
  m_status->setText(
      tr("%1 — elapsed %2, this phase %3 left").arg(phase, duration(elapsedSeconds), duration(etaSeconds)));
}

void JobPanel::showIdle(const QString& message) { m_status->setText(message); }

void JobPanel::setMemoryEstimate(const QString& text, const QString& details, bool tooLarge) {
  m_memory->setText(text);
  m_memory->setToolTip(details.isEmpty() ? QString()
                                         : QStringLiteral("<pre>%1</pre>").arg(details.toHtmlEscaped()));
  m_memory->setStyleSheet(tooLarge ? QStringLiteral("color: palette(highlight); font-weight: bold;")
                                   : QString());
}

QString JobPanel::memoryEstimate() const { return m_memory->text(); }

QString JobPanel::problem() const {
  if (modelPath().isEmpty()) return tr("Choose a model to compress.");
  if (m_eval->text().trimmed().isEmpty() && m_choices->text().trimmed().isEmpty())
    return tr("Choose evaluation data: without it the run measures nothing to compare.");
  const QString selector = m_selector->currentData().toString();
  if (selector == QLatin1String("manual")) {
    QString why;
    if (!parseManualRanks(m_manualRanks->text(), nullptr, &why)) return why;
  }
  if (selector == QLatin1String("rankdyna")) {
    if (m_decomposition->currentData().toString() != QLatin1String("svd"))
      return tr("RankDyna re-parametrises the weights with a plain SVD: choose SVD.");
    if (m_finetuneSteps->value() <= 0)
      return tr("RankDyna compresses during fine-tuning: set fine-tune steps.");
  }
  return {};
}

QString JobPanel::ledgerText() const { return m_ledger->text(); }

void JobPanel::updateState() {
  const QString selector = m_selector->currentData().toString();
  m_arsBox->setVisible(selector == QLatin1String("ars"));
  m_dynaBox->setVisible(selector == QLatin1String("rankdyna"));
  m_manualRanks->setVisible(selector == QLatin1String("manual"));
  m_manualRow->setVisible(selector == QLatin1String("manual"));
  const bool ranksUpFront = selector == QLatin1String("uniform") || selector == QLatin1String("manual");
  const QString decomposition = m_decomposition->currentData().toString();
  m_randomizedSvd->setEnabled(ranksUpFront);
  m_propagateCompressed->setEnabled(
      ranksUpFront && (decomposition == QLatin1String("asvd") || decomposition == QLatin1String("whiten")));
  m_checkpointing->setEnabled(selector == QLatin1String("ars") || selector == QLatin1String("rankdyna") ||
                              m_finetuneSteps->value() > 0);
  const QString why = problem();
  m_problem->setText(why);
  m_problem->setVisible(!why.isEmpty());
  m_run->setEnabled(why.isEmpty() && !m_running);
  m_queue->setEnabled(why.isEmpty());
  // The sweep dialog checks its own grid (it may change the selector and decomposition): a model is enough.
  m_sweep->setEnabled(!modelPath().isEmpty());
  m_cancel->setEnabled(m_running);
}

void JobPanel::updateLedger() {
  if (m_summary.compressibleParams <= 0) {
    m_ledger->setText(tr("Load the model to see the parameter ledger."));
    return;
  }
  const double p = m_keep->value();
  const double compressible = double(m_summary.compressibleParams);
  const double total = double(m_summary.totalParams);
  const double kept = p * compressible;
  m_ledger->setText(
      tr("%1 ops. Compressible %2 → at most %3; whole model %4 → at most %5 (%6% of it).")
          .arg(m_summary.ops.size())
          .arg(count(compressible), count(kept), count(total), count(total - compressible + kept))
          .arg(QLocale().toString(100.0 * (total - compressible + kept) / total, 'f', 1)));
}

void JobPanel::browseModel() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Model directory"), modelPath());
  if (dir.isEmpty()) return;
  setModelPath(dir);
  m_lastChosen = dir;
  emit modelChosen(dir);
}

void JobPanel::browseData(QLineEdit* target, const QString& title) {
  const QString file = QFileDialog::getOpenFileName(
      this, title, target->text(), tr("Text or labelled data (*.txt *.tsv *.jsonl);;All files (*)"));
  if (!file.isEmpty()) target->setText(file);
}

}  // namespace ranklab::widgets
