// Symmetric eigen-decomposition (cyclic Jacobi) and the Wilson-Hilferty
// chi-square quantile for the PCA detector. Small dense matrices (a device's
// metrics, at most max_metrics_per_device), recomputed every `refresh` points.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "vigil/detect/pca_internal.h"

namespace vigil::internal {

void SymmetricEigen(int n, std::span<double> a, std::span<double> values, std::span<double> vectors) {
  const size_t un = static_cast<size_t>(n);
  std::vector<double> v(un * un, 0.0);
  for (size_t i = 0; i < un; ++i) v[i * un + i] = 1.0;
  auto at = [&](size_t i, size_t j) -> double& { return a[i * un + j]; };
  constexpr int kMaxSweeps = 64;
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    double off = 0, diag = 0;
    for (size_t i = 0; i < un; ++i) {
      diag += at(i, i) * at(i, i);
      for (size_t j = i + 1; j < un; ++j) off += at(i, j) * at(i, j);
    }
    if (off <= 1e-30 * diag || off == 0) break;
    for (size_t p = 0; p + 1 < un; ++p) {
      for (size_t q = p + 1; q < un; ++q) {
        const double apq = at(p, q);
        if (apq == 0) continue;
        const double theta = (at(q, q) - at(p, p)) / (2 * apq);
        const double t = std::fabs(theta) > 1e150
                             ? 0.5 / theta
                             : std::copysign(1.0, theta) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1);
        const double s = t * c;
        for (size_t k = 0; k < un; ++k) {  // columns p, q of A P
          const double akp = at(k, p), akq = at(k, q);
          at(k, p) = c * akp - s * akq;
          at(k, q) = s * akp + c * akq;
        }
        for (size_t k = 0; k < un; ++k) {  // rows p, q of P^T (A P)
          const double apk = at(p, k), aqk = at(q, k);
          at(p, k) = c * apk - s * aqk;
          at(q, k) = s * apk + c * aqk;
        }
        at(p, q) = at(q, p) = 0.0;
        for (size_t k = 0; k < un; ++k) {  // V P
          const double vkp = v[k * un + p], vkq = v[k * un + q];
          v[k * un + p] = c * vkp - s * vkq;
          v[k * un + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  // Descending eigenvalues; ties keep their index order (deterministic).
  std::vector<size_t> order(un);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return at(x, x) > at(y, y); });
  for (size_t j = 0; j < un; ++j) {
    values[j] = at(order[j], order[j]);
    // Sign convention: the largest-magnitude entry of each eigenvector is positive.
    size_t big = 0;
    for (size_t i = 1; i < un; ++i) {
      if (std::fabs(v[i * un + order[j]]) > std::fabs(v[big * un + order[j]])) big = i;
    }
    const double sign = v[big * un + order[j]] < 0 ? -1.0 : 1.0;
    for (size_t i = 0; i < un; ++i) vectors[i * un + j] = sign * v[i * un + order[j]];
  }
}

double ChiSquareToNormal(double x, double dof) {
  const double v = 2.0 / (9.0 * dof);
  return (std::cbrt(std::max(x, 0.0) / dof) - (1.0 - v)) / std::sqrt(v);
}

}  // namespace vigil::internal
