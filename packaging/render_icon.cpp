// ranklab-render-icon SVG OUT.png SIZE: renders RankLab's SVG icon to a SIZE x SIZE PNG with Qt's
// SVG renderer (a build tool; the PNGs go to share/icons/hicolor).
#include <QImage>
#include <QPainter>
#include <QSvgRenderer>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: ranklab-render-icon SVG OUT.png SIZE\n");
    return 2;
  }
  const int size = QString::fromLocal8Bit(argv[3]).toInt();
  QSvgRenderer svg(QString::fromLocal8Bit(argv[1]));
  if (!svg.isValid() || size <= 0) {
    std::fprintf(stderr, "ranklab-render-icon: cannot render %s at size %s\n", argv[1], argv[3]);
    return 1;
  }
  QImage image(size, size, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::transparent);
  QPainter painter(&image);
  painter.setRenderHint(QPainter::Antialiasing);
  svg.render(&painter);
  painter.end();
  if (!image.save(QString::fromLocal8Bit(argv[2]), "PNG")) {
    std::fprintf(stderr, "ranklab-render-icon: cannot write %s\n", argv[2]);
    return 1;
  }
  return 0;
}
