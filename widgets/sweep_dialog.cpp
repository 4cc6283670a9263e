#include "widgets/sweep_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>
#include <algorithm>

namespace ranklab::widgets {

namespace {

struct Choice {
  const char* name;
  const char* label;
};
const Choice kDecompositions[] = {{"svd", "SVD"},
                                  {"fwsvd", "Fisher-weighted SVD"},
                                  {"iwsvd", "Importance-weighted SVD"},
                                  {"asvd", "Activation-aware SVD"},
                                  {"whiten", "Whitened SVD (SVD-LLM)"}};
const Choice kSelectors[] = {{"uniform", "Uniform ranks"},
                             {"energy", "Energy threshold"},
                             {"sensitivity", "Sensitivity search (ASVD)"},
                             {"ars", "ARS (learned masks)"},
                             {"rankdyna", "RankDyna (RankLab's reading)"}};

QStringList tokens(const QString& text) {
  return text.split(QRegularExpression(QStringLiteral("[\\s,;]+")), Qt::SkipEmptyParts);
}

}  // namespace

bool parseNumberList(const QString& text, std::vector<double>* out, QString* error) {
  out->clear();
  for (const QString& t : tokens(text)) {
    bool ok = false;
    const double v = t.toDouble(&ok);
    if (!ok) {
      if (error) *error = QObject::tr("'%1' is not a number").arg(t);
      return false;
    }
    if (std::find(out->begin(), out->end(), v) == out->end()) out->push_back(v);
  }
  return true;
}

bool parseSeedList(const QString& text, std::vector<uint64_t>* out, QString* error) {
  out->clear();
  static const QRegularExpression range(QStringLiteral("^(\\d+)-(\\d+)$"));
  auto add = [out](uint64_t v) {
    if (std::find(out->begin(), out->end(), v) == out->end()) out->push_back(v);
  };
  for (const QString& t : tokens(text)) {
    const auto m = range.match(t);
    if (m.hasMatch()) {
      const uint64_t a = m.captured(1).toULongLong(), b = m.captured(2).toULongLong();
      if (b < a || b - a >= 1000) {
        if (error) *error = QObject::tr("seed range '%1' must go upwards and hold at most 1000 seeds").arg(t);
        return false;
      }
      for (uint64_t v = a; v <= b; ++v) add(v);
      continue;
    }
    bool ok = false;
    const qulonglong v = t.toULongLong(&ok);
    if (!ok) {
      if (error) *error = QObject::tr("'%1' is not a seed (a whole number, or a range like 0-4)").arg(t);
      return false;
    }
    add(v);
  }
  return true;
}

SweepDialog::SweepDialog(const api::JobSpec& base, QWidget* parent) : QDialog(parent), m_base(base) {
  setWindowTitle(tr("Sweep"));
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(
      tr("Every combination below becomes one run of <b>%1</b>, tagged with the sweep's id. Everything else "
         "(data, fine-tuning, ARS and RankDyna settings, device) comes from the job panel. Decompositions "
         "are "
         "computed once and shared through the cache; running the same sweep again skips the runs it "
         "finished.")
          .arg(QFileInfo(QString::fromStdString(base.model)).fileName().toHtmlEscaped()));
  intro->setWordWrap(true);
  layout->addWidget(intro);

  auto makeBoxes = [this](const QString& title, const auto& choices, const std::string& current,
                          std::vector<QCheckBox*>* boxes) {
    auto* group = new QGroupBox(title);
    auto* v = new QVBoxLayout(group);
    for (const Choice& c : choices) {
      auto* box = new QCheckBox(tr(c.label));
      box->setObjectName(QString::fromLatin1(c.name));
      box->setChecked(current == c.name);
      connect(box, &QCheckBox::toggled, this, &SweepDialog::updateSummary);
      v->addWidget(box);
      boxes->push_back(box);
    }
    return group;
  };
  auto* lists = new QHBoxLayout;
  lists->addWidget(makeBoxes(tr("Decompositions"), kDecompositions, base.decomposition, &m_decompositions));
  lists->addWidget(makeBoxes(tr("Rank selectors"), kSelectors, base.selector, &m_selectors));
  layout->addLayout(lists);

  auto* form = new QFormLayout;
  m_budgets = new QLineEdit(QStringLiteral("0.3, 0.5, 0.7"));
  m_budgets->setObjectName(QStringLiteral("budgets"));
  m_budgets->setToolTip(tr("Kept fractions p, separated by commas or spaces"));
  m_seeds = new QLineEdit(QString::number(base.seed));
  m_seeds->setObjectName(QStringLiteral("seeds"));
  m_seeds->setToolTip(tr("Seeds: a list (0 1 2) or a range (0-4)"));
  m_name = new QLineEdit;
  m_name->setObjectName(QStringLiteral("sweepName"));
  m_name->setPlaceholderText(tr("derived from the runs"));
  m_name->setToolTip(tr("Sweep id: letters, digits, '-', '_' and '.'. The same id resumes the same sweep."));
  form->addRow(tr("&Budgets p"), m_budgets);
  form->addRow(tr("S&eeds"), m_seeds);
  form->addRow(tr("Sweep &name"), m_name);
  layout->addLayout(form);
  for (QLineEdit* e : {m_budgets, m_seeds, m_name})
    connect(e, &QLineEdit::textChanged, this, &SweepDialog::updateSummary);

  m_summary = new QLabel;
  m_summary->setObjectName(QStringLiteral("summary"));
  m_summary->setWordWrap(true);
  layout->addWidget(m_summary);
  m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  connect(m_buttons, &QDialogButtonBox::accepted, this, [this] {
    if (problem().isEmpty()) accept();
  });
  connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  layout->addWidget(m_buttons);
  updateSummary();
}

QStringList SweepDialog::checkedIn(const std::vector<QCheckBox*>& boxes) const {
  QStringList names;
  for (const QCheckBox* b : boxes)
    if (b->isChecked()) names << b->objectName();
  return names;
}

SweepRequest SweepDialog::request() const {
  SweepRequest r;
  r.base = m_base;
  for (const QString& n : checkedIn(m_decompositions)) r.decompositions.push_back(n.toStdString());
  for (const QString& n : checkedIn(m_selectors)) r.selectors.push_back(n.toStdString());
  parseNumberList(m_budgets->text(), &r.keeps, nullptr);
  parseSeedList(m_seeds->text(), &r.seeds, nullptr);
  r.sweepId = m_name->text().trimmed().toStdString();
  return r;
}

int SweepDialog::pointCount() const {
  const SweepRequest r = request();
  if (!problem().isEmpty()) return 0;
  return static_cast<int>(r.decompositions.size() * r.selectors.size() * r.keeps.size() * r.seeds.size());
}

QString SweepDialog::problem() const {
  const QStringList decompositions = checkedIn(m_decompositions), selectors = checkedIn(m_selectors);
  if (decompositions.isEmpty()) return tr("Tick at least one decomposition.");
  if (selectors.isEmpty()) return tr("Tick at least one rank selector.");
  std::vector<double> keeps;
  QString error;
  if (!parseNumberList(m_budgets->text(), &keeps, &error)) return tr("Budgets: %1.").arg(error);
  if (keeps.empty()) return tr("Give at least one budget p.");
  for (double p : keeps)
    if (!(p > 0.0 && p <= 1.0)) return tr("Budgets: p = %1 is outside (0, 1].").arg(p);
  std::vector<uint64_t> seeds;
  if (!parseSeedList(m_seeds->text(), &seeds, &error)) return tr("Seeds: %1.").arg(error);
  if (seeds.empty()) return tr("Give at least one seed.");
  static const QRegularExpression idPattern(QStringLiteral("^[A-Za-z0-9._-]{0,100}$"));
  if (!idPattern.match(m_name->text().trimmed()).hasMatch())
    return tr("The sweep name may use only letters, digits, '-', '_' and '.'.");
  if (selectors.contains(QStringLiteral("rankdyna"))) {
    if (decompositions != QStringList{QStringLiteral("svd")})
      return tr("RankDyna re-parametrises ops by their plain SVD: tick only SVD, or untick RankDyna.");
    if (m_base.finetuneSteps <= 0)
      return tr("RankDyna compresses while fine-tuning: set fine-tuning steps in the job panel.");
  }
  const bool needsCalibration = decompositions != QStringList{QStringLiteral("svd")} ||
                                selectors.contains(QStringLiteral("ars")) ||
                                selectors.contains(QStringLiteral("sensitivity"));
  if (needsCalibration && m_base.calib.empty())
    return tr(
        "Weighted decompositions, ARS and the sensitivity search need calibration data: set it in the job "
        "panel.");
  return {};
}

void SweepDialog::setChecked(const QString& name, bool checked) {
  for (auto* boxes : {&m_decompositions, &m_selectors})
    for (QCheckBox* b : *boxes)
      if (b->objectName() == name) b->setChecked(checked);
}

void SweepDialog::setBudgetsText(const QString& text) { m_budgets->setText(text); }
void SweepDialog::setSeedsText(const QString& text) { m_seeds->setText(text); }
void SweepDialog::setSweepName(const QString& text) { m_name->setText(text); }

void SweepDialog::updateSummary() {
  const QString why = problem();
  QPushButton* ok = m_buttons->button(QDialogButtonBox::Ok);
  if (!why.isEmpty()) {
    m_summary->setText(why);
    ok->setText(tr("&Queue"));
    ok->setEnabled(false);
    return;
  }
  const SweepRequest r = request();
  const int n = pointCount();
  m_summary->setText(tr("%1 decomposition(s) x %2 selector(s) x %3 budget(s) x %4 seed(s) = %5 runs")
                         .arg(r.decompositions.size())
                         .arg(r.selectors.size())
                         .arg(r.keeps.size())
                         .arg(r.seeds.size())
                         .arg(n));
  ok->setText(tr("&Queue %1 Runs").arg(n));
  ok->setEnabled(true);
}

}  // namespace ranklab::widgets
