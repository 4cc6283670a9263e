// PlotTheme: colours every QCustomPlot under a widget from that widget's palette, so plots follow
// the desktop's light or dark theme (background, axes, tick labels, grid, legend), and builds the
// views' colour maps (the shared kept-fraction scale, others from their stops). Data colours are left
// to the views. GUI thread only.
#pragma once

#include <QColor>
#include <initializer_list>
#include <utility>

class QWidget;
class QCustomPlot;
class QCPColorGradient;
class QCPAbstractItem;

namespace ranklab::widgets {

// Marks an annotation (a QCPItemText, QCPItemStraightLine or QCPItemLine) to be drawn in the theme's
// text colour, so that it stays legible on light and dark backgrounds; call applyPlotTheme after.
void setThemedAnnotation(QCPAbstractItem* item);
// WCAG 2 contrast ratio of two opaque colours (1 to 21; AA asks 4.5 for text).
double contrastRatio(const QColor& a, const QColor& b);
// Themes one plot from `plot`'s own palette and replots it.
void applyPlotTheme(QCustomPlot& plot);
// Themes every QCustomPlot found under `root` (root itself included).
void applyPlotThemeTree(QWidget& root);
// A colour map through `stops` (position in [0, 1], colour); NaN handling is left to the caller.
QCPColorGradient colorGradient(std::initializer_list<std::pair<double, QColor>> stops);
// The colour scale of kept-fraction maps: perceptually ordered (viridis-like) from dark purple at 0
// to yellow at 1, so that kept fraction reads as lightness. NaN handling is left to the caller.
QCPColorGradient keptFractionGradient();

}  // namespace ranklab::widgets
