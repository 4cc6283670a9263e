#include "widgets/teach_svd2.h"

#include <cmath>

namespace ranklab::widgets {

std::array<double, 2> Svd2::v1() const { return {std::cos(theta), -std::sin(theta)}; }
std::array<double, 2> Svd2::v2() const { return {std::sin(theta), std::cos(theta)}; }
std::array<double, 2> Svd2::u1() const { return {std::cos(phi), std::sin(phi)}; }
std::array<double, 2> Svd2::u2() const { return {-flip * std::sin(phi), flip * std::cos(phi)}; }

Svd2 svd2(double a, double b, double c, double d) {
  // A = R(phi) diag(q + r, q - r) R(theta) (Blinn's decomposition); a negative q - r becomes a
  // reflection in U so that both singular values are non-negative.
  const double e = (a + d) / 2, f = (a - d) / 2, g = (c + b) / 2, h = (c - b) / 2;
  const double q = std::hypot(e, h), r = std::hypot(f, g);
  const double a1 = std::atan2(g, f), a2 = std::atan2(h, e);
  Svd2 out;
  out.theta = (a2 - a1) / 2;
  out.phi = (a2 + a1) / 2;
  out.s1 = q + r;
  out.s2 = std::abs(q - r);
  out.flip = q - r < 0 ? -1.0 : 1.0;
  return out;
}

}  // namespace ranklab::widgets
