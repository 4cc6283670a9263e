// SpectrumView: the singular spectrum of one op on a log-scale y axis, index i = 0 (largest) on the
// left. Shows the spectrum of the matrix actually decomposed (weighted) and, when it differs, the
// plain spectrum of W; a vertical line at the cut (between index k - 1, kept, and k, dropped); a
// label with rank k of full rank, energy kept and storage k (M + N) against M N; and, when mask bits
// are given, the kept indices as highlighted points (a learned mask need not be a prefix).
// Non-positive singular values are left out of the log plot (gaps), not of the numbers.
// GUI thread only; never throws.
#pragma once

#include <QString>
#include <QWidget>
#include <cstdint>
#include <vector>

#include "api/run.h"

class QCPGraph;
class QCPItemStraightLine;
class QCustomPlot;
class QLabel;
class QPushButton;

namespace ranklab::widgets {

class PlaceholderStack;
class PlotInteraction;

class SpectrumView : public QWidget {
  Q_OBJECT

 public:
  explicit SpectrumView(QWidget* parent = nullptr);

  // `maskBits`: packed mask of the op's singular values, bit i = byte i / 8, bit i % 8, LSB first
  // (api::MaskFrame::bits layout); bytes missing at the end read as zero, bits past the spectrum are
  // ignored. Empty: no mask overlay. `decomposition` (RunRecord::decomposition: svd, fwsvd, ...)
  // names the spectrum in the label and legend; `maskStep` is the training step of the mask's frame
  // (-1: not known).
  void setOp(const api::OpResult& op, const std::vector<uint8_t>& maskBits = {},
             const QString& decomposition = {}, int64_t maskStep = -1);
  // Back to the "no op selected" placeholder.
  void clear();

  // Saves by suffix: .png / .pdf (the plot, via PlotExport) or .csv with columns
  // index,singular value,plain singular value,kept (kept: 1/0 from the mask when given, else
  // index < rank; plain value empty when no plain spectrum is stored). Returns false with a one-line
  // reason in `error` on failure.
  bool exportTo(const QString& path, QString* error = nullptr);
  // Asks for a file name and exports; reports a failure in a message box.
  void exportWithDialog();

  // sum_{i<k} s_i^2 / sum_i s_i^2 over the decomposed spectrum (k clamped to its length); the op's
  // stored energyKept when the spectrum is empty or all zero; NaN with no op.
  double energyKept() const { return m_energy; }
  // The chosen rank k (the op's rank); -1 with no op.
  int cutRank() const { return m_hasOp ? int(m_op.rank) : -1; }
  // Singular-value curves drawn: 0 (no spectrum), 1 (decomposed only) or 2 (plus plain).
  int spectrumGraphCount() const;
  bool plainSpectrumShown() const;
  // Indices whose mask bit is set, ascending; empty without a mask.
  std::vector<int> maskedIndices() const { return m_masked; }
  // The text of the info label (rank, energy, storage).
  QString infoText() const;
  bool placeholderShown() const;

  QCustomPlot* plot() const { return m_plot; }
  PlotInteraction* interaction() const { return m_interaction; }
  // The hover read-out at plot pixel `pixel`: the nearest index's singular value (and W's), and
  // whether the rank (and the mask) keeps it; empty off the data.
  QString hoverText(const QPoint& pixel) const;
  QCPGraph* spectrumGraph() const { return m_spectrum; }
  QCPGraph* plainGraph() const { return m_plain; }
  QCPGraph* maskGraph() const { return m_mask; }

 private:
  void showPlaceholder(const QString& text);
  bool writeCsv(const QString& path, QString* error) const;

  api::OpResult m_op;
  bool m_hasOp = false;
  bool m_hasMask = false;
  bool m_plainDiffers = false;
  double m_energy = 0.0;
  std::vector<int> m_masked;
  QString m_decomposition;
  PlotInteraction* m_interaction = nullptr;
  int64_t m_maskStep = -1;

  QLabel* m_info = nullptr;
  QPushButton* m_exportButton = nullptr;
  PlaceholderStack* m_stack = nullptr;
  QCustomPlot* m_plot = nullptr;
  QCPGraph* m_spectrum = nullptr;
  QCPGraph* m_plain = nullptr;
  QCPGraph* m_mask = nullptr;
  QCPItemStraightLine* m_cut = nullptr;
};

}  // namespace ranklab::widgets
