// The SVD of a 2 x 2 matrix in closed form, for the teaching mode's geometry chapter:
// A = U diag(s1, s2) V^T with V^T = R(theta) a rotation, U = R(phi) diag(1, flip) a rotation that is
// followed by a reflection when det A < 0 (flip = -1), and s1 >= s2 >= 0. R(a) = [cos a, -sin a;
// sin a, cos a]. Plain arithmetic; never throws.
#pragma once

#include <array>

namespace ranklab::widgets {

struct Svd2 {
  double theta = 0.0;  // V^T = R(theta)
  double phi = 0.0;    // U = R(phi) diag(1, flip)
  double flip = 1.0;   // +1 or -1
  double s1 = 1.0, s2 = 1.0;
  // Unit vectors: columns of V (right singular vectors) and of U (left singular vectors).
  std::array<double, 2> v1() const;
  std::array<double, 2> v2() const;
  std::array<double, 2> u1() const;
  std::array<double, 2> u2() const;
};

// A = [[a, b], [c, d]] (row-major).
Svd2 svd2(double a, double b, double c, double d);

}  // namespace ranklab::widgets
