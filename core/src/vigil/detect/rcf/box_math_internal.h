// Bounding-box arithmetic on padded float rows, written as kLanes independent
// accumulators so that the compiler vectorizes it without reassociating (the
// results are the same on every build with the same instruction set).
#pragma once

#include <algorithm>

#include "vigil/detect/rcf/point_store_internal.h"

namespace vigil::internal {

inline double SumLanes(const float* acc) {
  double total = 0.0;
  for (int j = 0; j < kLanes; ++j) total += acc[j];
  return total;
}

/// \brief Sum over dimensions of how far `x` lies outside the box [lo, hi].
inline double GapSum(const float* lo, const float* hi, const float* x, int stride) {
  float acc[kLanes] = {};
  for (int i = 0; i < stride; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const float below = lo[i + j] - x[i + j];
      const float above = x[i + j] - hi[i + j];
      acc[j] += std::max(below, 0.0f) + std::max(above, 0.0f);
    }
  }
  return SumLanes(acc);
}

/// \brief Sum of the box's side lengths.
inline double RangeSum(const float* lo, const float* hi, int stride) {
  float acc[kLanes] = {};
  for (int i = 0; i < stride; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] += hi[i + j] - lo[i + j];
  }
  return SumLanes(acc);
}

/// \brief Grow the box [lo, hi] to contain `x`.
inline void ExtendBox(float* lo, float* hi, const float* x, int stride) {
  for (int i = 0; i < stride; ++i) {
    lo[i] = std::min(lo[i], x[i]);
    hi[i] = std::max(hi[i], x[i]);
  }
}

/// \brief Set [lo, hi] to the union of boxes a and b.
inline void UnionBox(float* lo, float* hi, const float* a_lo, const float* a_hi, const float* b_lo,
                     const float* b_hi, int stride) {
  for (int i = 0; i < stride; ++i) {
    lo[i] = std::min(a_lo[i], b_lo[i]);
    hi[i] = std::max(a_hi[i], b_hi[i]);
  }
}

/// \brief Whether x touches a side of the box [lo, hi] in one of the first `dims` dimensions.
inline bool OnBoundary(const float* lo, const float* hi, const float* x, int dims) {
  int touches = 0;
  for (int i = 0; i < dims; ++i) touches |= static_cast<int>(x[i] == lo[i]) | static_cast<int>(x[i] == hi[i]);
  return touches != 0;
}

inline bool RowsEqual(const float* a, const float* b, int stride) {
  return std::equal(a, a + stride, b);
}

}  // namespace vigil::internal
