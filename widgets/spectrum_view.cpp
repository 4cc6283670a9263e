#include "widgets/spectrum_view.h"

#include <qcustomplot.h>

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>

#include "widgets/placeholder_stack.h"
#include "widgets/plot_export.h"
#include "widgets/plot_interaction.h"

namespace ranklab::widgets {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool maskBit(const std::vector<uint8_t>& bits, size_t i) {
  const size_t byte = i / 8;
  return byte < bits.size() && ((bits[byte] >> (i % 8)) & 1u) != 0;
}

QString count(int64_t n) { return QLocale().toString(qlonglong(n)); }

// A log axis cannot show s <= 0; NaN leaves a gap in the curve instead of a plunge to -infinity.
QVector<double> logSafe(const std::vector<float>& values) {
  QVector<double> out;
  out.reserve(qsizetype(values.size()));
  for (float v : values) out.append(v > 0.0f && std::isfinite(v) ? double(v) : kNaN);
  return out;
}

// What the decomposed spectrum is, named after the run's decomposition (RunRecord::decomposition).
QString decompositionText(const QString& decomposition) {
  if (decomposition == QLatin1String("svd")) return SpectrumView::tr("plain SVD of W");
  if (decomposition == QLatin1String("fwsvd")) return SpectrumView::tr("Fisher-weighted SVD");
  if (decomposition == QLatin1String("iwsvd")) return SpectrumView::tr("importance-weighted SVD");
  if (decomposition == QLatin1String("asvd")) return SpectrumView::tr("activation-aware SVD (ASVD)");
  if (decomposition == QLatin1String("whiten")) return SpectrumView::tr("whitened SVD (SVD-LLM)");
  return decomposition.isEmpty() ? SpectrumView::tr("decomposed") : decomposition;
}

QString spectrumName(const QString& decomposition) {
  if (decomposition == QLatin1String("svd")) return SpectrumView::tr("singular values of W");
  if (decomposition.isEmpty()) return SpectrumView::tr("decomposed matrix");
  return decompositionText(decomposition);
}

}  // namespace

SpectrumView::SpectrumView(QWidget* parent) : QWidget(parent) {
  m_info = new QLabel(this);
  m_info->setObjectName(QStringLiteral("spectrumInfo"));
  m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_info->setWordWrap(true);
  m_exportButton = new QPushButton(tr("Export..."), this);
  m_exportButton->setObjectName(QStringLiteral("exportButton"));
  connect(m_exportButton, &QPushButton::clicked, this, &SpectrumView::exportWithDialog);

  m_plot = new QCustomPlot(this);
  m_plot->setObjectName(QStringLiteral("spectrumPlot"));
  PlotExport::addExportMenu(*m_plot, [this] { exportWithDialog(); });
  m_interaction = new PlotInteraction(m_plot);
  m_interaction->setHoverText([this](const QPoint& pixel) { return hoverText(pixel); });
  m_plot->xAxis->setLabel(tr("index i (0 = largest)"));
  m_plot->yAxis->setLabel(tr("singular value"));
  m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
  m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  m_plot->yAxis->setNumberFormat(QStringLiteral("eb"));
  m_plot->yAxis->setNumberPrecision(0);
  m_plot->yAxis->grid()->setSubGridVisible(true);
  m_plot->legend->setVisible(true);
  m_plot->legend->setFont(QFont(font().family(), 8));
  m_plot->legend->setBrush(QColor(255, 255, 255, 220));
  m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);

  m_spectrum = m_plot->addGraph();
  m_spectrum->setName(tr("decomposed (weighted)"));
  m_spectrum->setPen(QPen(QColor(78, 121, 167), 1.6));
  m_plain = m_plot->addGraph();
  m_plain->setName(tr("plain W"));
  m_plain->setPen(QPen(QColor(150, 150, 150), 1.2, Qt::DashLine));
  m_mask = m_plot->addGraph();
  m_mask->setName(tr("kept by mask"));
  m_mask->setLineStyle(QCPGraph::lsNone);
  m_mask->setScatterStyle(
      QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(242, 142, 43), QColor(242, 142, 43), 5));

  m_cut = new QCPItemStraightLine(m_plot);
  m_cut->setPen(QPen(QColor(225, 87, 89), 1.5));
  m_cut->point1->setCoords(0, 1);
  m_cut->point2->setCoords(0, 2);

  m_stack = new PlaceholderStack(m_plot, QStringLiteral("placeholder"), this);

  auto* top = new QHBoxLayout;
  top->addWidget(m_info, 1);
  top->addWidget(m_exportButton, 0, Qt::AlignTop);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(m_stack, 1);

  clear();
}

int SpectrumView::spectrumGraphCount() const {
  if (placeholderShown()) return 0;
  return int(m_spectrum->visible()) + int(m_plain->visible());
}

bool SpectrumView::plainSpectrumShown() const { return !placeholderShown() && m_plain->visible(); }

QString SpectrumView::infoText() const { return m_info->text(); }

bool SpectrumView::placeholderShown() const { return m_stack->placeholderShown(); }

void SpectrumView::showPlaceholder(const QString& text) {
  m_stack->showPlaceholder(text);
  m_exportButton->setEnabled(m_hasOp);
}

void SpectrumView::clear() {
  m_op = api::OpResult();
  m_hasOp = false;
  m_hasMask = false;
  m_plainDiffers = false;
  m_energy = kNaN;
  m_masked.clear();
  m_info->clear();
  m_spectrum->data()->clear();
  m_plain->data()->clear();
  m_mask->data()->clear();
  showPlaceholder(tr("No op selected. Click a bar or a heatmap cell in the rank allocation."));
}

QString SpectrumView::hoverText(const QPoint& pixel) const {
  if (!m_hasOp || placeholderShown() || !m_plot->axisRect()->rect().contains(pixel)) return {};
  const std::vector<float>& base = m_op.spectrum.empty() ? m_op.plainSpectrum : m_op.spectrum;
  const double key = m_plot->xAxis->pixelToCoord(pixel.x());
  const long long i = std::llround(key);
  if (i < 0 || i >= static_cast<long long>(base.size())) return {};
  QString text = tr("i = %1: singular value %2").arg(i).arg(double(base[size_t(i)]), 0, 'g', 5);
  if (m_plainDiffers && size_t(i) < m_op.plainSpectrum.size())
    text += tr(" (of W: %1)").arg(double(m_op.plainSpectrum[size_t(i)]), 0, 'g', 5);
  text += i < m_op.rank ? tr("\nkept by the rank %1").arg(m_op.rank)
                        : tr("\ndropped by the rank %1").arg(m_op.rank);
  if (m_hasMask) {
    const bool kept = std::binary_search(m_masked.begin(), m_masked.end(), int(i));
    text += kept ? tr(" \u00b7 kept by the mask") : tr(" \u00b7 dropped by the mask");
  }
  return text;
}

void SpectrumView::setOp(const api::OpResult& op, const std::vector<uint8_t>& maskBits,
                         const QString& decomposition, int64_t maskStep) {
  try {
    m_op = op;
    m_decomposition = decomposition;
    m_maskStep = maskStep;
    m_spectrum->setName(spectrumName(decomposition));
    m_hasOp = true;
    m_hasMask = !maskBits.empty();
    const std::vector<float>& s = op.spectrum;
    const std::vector<float>& plain = op.plainSpectrum;
    // The mask lives on the decomposed spectrum; with only a plain spectrum stored, it is drawn there.
    const std::vector<float>& base = s.empty() ? plain : s;
    m_plainDiffers = !plain.empty() && plain != s;

    const int64_t k = std::max<int64_t>(0, op.rank);
    double total = 0.0, kept = 0.0;
    for (size_t i = 0; i < s.size(); ++i) {
      const double v = double(s[i]) * double(s[i]);
      total += v;
      if (int64_t(i) < k) kept += v;
    }
    m_energy = total > 0.0 ? kept / total : op.energyKept;

    m_masked.clear();
    if (m_hasMask) {
      const size_t n = base.empty() ? size_t(std::max<int64_t>(0, op.fullRank)) : base.size();
      for (size_t i = 0; i < n; ++i)
        if (maskBit(maskBits, i)) m_masked.push_back(int(i));
    }

    // One model of the op's state, in this order: what was decomposed, the chosen rank, how it is
    // stored (factorized at k, or W kept dense: at full rank, or because k (M + N) >= M N), and the
    // learned mask of the frame shown, which is a training step's, not necessarily the final read-off.
    const int64_t m = op.inFeatures, n = op.outFeatures;
    const int64_t dense = m * n;
    const int64_t factored = k * (m + n);
    QString info = tr("<b>%1</b>  (%2, layer %3, %4 \u00d7 %5)<br>")
                       .arg(QString::fromStdString(op.name).toHtmlEscaped(),
                            QString::fromStdString(op.kind).toHtmlEscaped())
                       .arg(op.layer)
                       .arg(m)
                       .arg(n);
    info += tr("%1 \u00b7 rank %2 of %3 \u00b7 energy kept %4%<br>")
                .arg(decompositionText(m_decomposition))
                .arg(k)
                .arg(op.fullRank)
                .arg(100.0 * m_energy, 0, 'f', 2);
    if (op.factorized) {
      info += tr("stored factorized: k(M+N) = %1 vs MN = %2").arg(count(factored), count(dense));
      if (dense > 0) info += tr(" (%1%)").arg(100.0 * double(factored) / double(dense), 0, 'f', 1);
    } else if (k >= op.fullRank) {
      info += tr("stored dense: W at full rank, MN = %1 (100%)").arg(count(dense));
    } else {
      info += tr("stored dense: W itself, MN = %1 (100%), because k(M+N) = %2 is not smaller")
                  .arg(count(dense), count(factored));
    }
    if (m_hasMask) {
      const bool prefix = !m_masked.empty() && m_masked.back() == int(m_masked.size()) - 1;
      info += QStringLiteral("<br>");
      info += m_maskStep >= 0 ? tr("learned mask at step %1 keeps %2").arg(m_maskStep).arg(m_masked.size())
                              : tr("learned mask keeps %1").arg(m_masked.size());
      if (!m_masked.empty() && !prefix) info += tr(" (not a prefix)");
      if (int64_t(m_masked.size()) != k)
        info += tr("; the rank %1 comes from the run's final read-off, not from this frame").arg(k);
    }
    if (s.empty()) info += tr("<br>No decomposed spectrum stored; energy kept is the run's stored value.");
    m_info->setText(info);

    if (base.empty()) {
      showPlaceholder(tr("No singular values were stored for this op."));
      return;
    }

    const auto indices = [](size_t n) {
      QVector<double> keys(static_cast<qsizetype>(n));
      std::iota(keys.begin(), keys.end(), 0.0);
      return keys;
    };
    m_spectrum->setData(indices(s.size()), logSafe(s), true);
    m_spectrum->setVisible(!s.empty());
    if (!s.empty()) {
      m_spectrum->addToLegend();
    } else {
      m_spectrum->removeFromLegend();
    }
    const bool showPlain = !plain.empty() && (s.empty() || m_plainDiffers);
    m_plain->setData(indices(plain.size()), logSafe(plain), true);
    m_plain->setVisible(showPlain);
    if (showPlain) {
      m_plain->addToLegend();
    } else {
      m_plain->removeFromLegend();
    }
    QVector<double> maskKeys, maskValues;
    for (int i : m_masked) {
      const float v = base[size_t(i)];
      if (v > 0.0f && std::isfinite(v)) {
        maskKeys.append(i);
        maskValues.append(v);
      }
    }
    m_mask->setData(maskKeys, maskValues, true);
    m_mask->setVisible(m_hasMask);
    if (m_hasMask) {
      m_mask->addToLegend();
    } else {
      m_mask->removeFromLegend();
    }

    double lowest = std::numeric_limits<double>::infinity(), highest = 0.0;
    for (const std::vector<float>* values : {&s, &plain}) {
      if (values == &plain && !showPlain) continue;
      for (float v : *values) {
        if (v > 0.0f && std::isfinite(v)) {
          lowest = std::min(lowest, double(v));
          highest = std::max(highest, double(v));
        }
      }
    }
    if (highest > 0.0) {
      m_plot->yAxis->setRange(lowest / 1.5, highest * 1.5);
    } else {
      m_plot->yAxis->setRange(1e-3, 1.0);
    }
    const size_t length = std::max(s.size(), plain.size());
    m_plot->xAxis->setRange(-0.5, double(length) - 0.5);
    m_cut->point1->setCoords(double(k) - 0.5, 1.0);
    m_cut->point2->setCoords(double(k) - 0.5, 2.0);
    m_cut->setVisible(true);

    m_stack->showContent();
    m_exportButton->setEnabled(true);
    m_plot->replot();
  } catch (const std::exception& e) {
    showPlaceholder(tr("Cannot show this op: %1").arg(QString::fromLocal8Bit(e.what())));
  }
}

bool SpectrumView::writeCsv(const QString& path, QString* error) const {
  const std::vector<float>& s = m_op.spectrum;
  const std::vector<float>& plain = m_op.plainSpectrum;
  const size_t n = std::max(s.size(), plain.size());
  std::vector<bool> keptByMask;
  if (m_hasMask) {
    keptByMask.assign(n, false);
    for (int i : m_masked)
      if (size_t(i) < keptByMask.size()) keptByMask[size_t(i)] = true;
  }
  QVector<QStringList> rows;
  rows.reserve(qsizetype(n));
  for (size_t i = 0; i < n; ++i) {
    const bool kept = m_hasMask ? bool(keptByMask[i]) : int64_t(i) < m_op.rank;
    rows.append({QString::number(i), i < s.size() ? PlotExport::csvNumber(s[i]) : QString(),
                 i < plain.size() ? PlotExport::csvNumber(plain[i]) : QString(),
                 kept ? QStringLiteral("1") : QStringLiteral("0")});
  }
  return PlotExport::saveTable(
      path, QStringLiteral("index,singular value,plain singular value,kept").split(QLatin1Char(',')), rows,
      error);
}

bool SpectrumView::exportTo(const QString& path, QString* error) {
  try {
    if (!m_hasOp) {
      if (error) *error = tr("exporting %1: no op is shown").arg(path);
      return false;
    }
    if (PlotExport::isCsvPath(path)) return writeCsv(path, error);
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (placeholderShown() && (suffix == QLatin1String("png") || suffix == QLatin1String("pdf"))) {
      if (error) *error = tr("exporting %1: this op has no spectrum to plot").arg(path);
      return false;
    }
    return PlotExport::saveFigure(*m_plot, path, error);
  } catch (const std::exception& e) {
    if (error) *error = tr("exporting %1: %2").arg(path, QString::fromLocal8Bit(e.what()));
    return false;
  }
}

void SpectrumView::exportWithDialog() {
  if (!m_hasOp) return;
  QString base = QString::fromStdString(m_op.name);
  base.replace(QLatin1Char('.'), QLatin1Char('_'));
  PlotExport::exportWithDialog(this, QStringLiteral("spectrum_%1").arg(base),
                               PlotExport::Formats::FigureAndCsv, tr("Export spectrum"),
                               [this](const QString& path, QString* error) { return exportTo(path, error); });
}

}  // namespace ranklab::widgets
