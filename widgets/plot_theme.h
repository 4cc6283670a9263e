// PlotTheme: colours every QCustomPlot under a widget from that widget's palette, so plots follow
// the desktop's light or dark theme (background, axes, tick labels, grid, legend). Colour maps and
// data colours are left to the views. GUI thread only.
#pragma once

class QWidget;
class QCustomPlot;

namespace ranklab::widgets {

// Themes one plot from `plot`'s own palette and replots it.
void applyPlotTheme(QCustomPlot& plot);
// Themes every QCustomPlot found under `root` (root itself included).
void applyPlotThemeTree(QWidget& root);

}  // namespace ranklab::widgets
