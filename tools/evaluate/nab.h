// evaluate/nab.h: NAB-style windowed scoring of anomaly detections.
//
// Two scoring rules, each with NAB's three application profiles
// (standard: A_tp 1, A_fp 0.11, A_fn 1; reward_low_FP: A_fp 0.22; reward_low_FN: A_fn 2):
//
// - kNab, Numenta's rule (nab/sweeper.py): every detection row counts. The first
//   detection in a window scores A_tp * S(y) / S(-1), where S(y) = 2 / (1 + e^(5y)) - 1
//   and y = -(right - i + 1) / width is the row's position in the window (-1 at its
//   left edge); later detections in the same window add nothing. A detection outside
//   every window scores A_fp * S(distance past the previous window / its width), or
//   -A_fp when no window precedes it. A window without a detection costs A_fn. Rows in
//   the probationary head of each file (min(15% of rows, 750)) are not scored.
// - kSkab, SKAB's rule (the tsad package it imports): time windows, A_tp at the left
//   edge falling along a tanh to -A_fp at the right edge; every detection outside the
//   windows costs A_fp; overlapping windows are cut ("cut right window"). SKAB turns
//   an outlier prediction into change points with |diff(prediction)|, which
//   `Detections::kEdges` reproduces.
//
// Both normalise as 100 * (score - null) / (perfect - null), with null = -A_fn and
// perfect = A_tp per window, summed over all files before dividing.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "evaluate/series.h"

namespace vigil::evaluate {

enum class NabScoring { kNab, kSkab };
/// \brief Which rows are detections: every predicted row, the first row of each
/// predicted run, or every row where the prediction changes (SKAB's change points).
enum class Detections { kAll, kOnsets, kEdges };
/// \brief Where a changepoint's window lies relative to it.
enum class WindowPosition { kRight, kCenter, kLeft };

struct NabProfile {
  std::string_view name;
  double tp, fp, fn;
};

inline constexpr std::array<NabProfile, 3> kNabProfiles = {{
    {"standard", 1.0, 0.11, 1.0},
    {"reward_low_FP", 1.0, 0.22, 1.0},
    {"reward_low_FN", 1.0, 0.11, 2.0},
}};

struct NabOptions {
  NabScoring scoring = NabScoring::kNab;
  Detections detections = Detections::kAll;
  /// Width of the window put around each changepoint (when the windows come from changepoints).
  int64_t window_ms = 60'000;
  WindowPosition position = WindowPosition::kRight;
  /// Share of each file's head that is probationary (kNab only), capped at 750 rows as in NAB.
  double probation = 0.15;
};

struct NabTotals {
  std::array<double, 3> raw{}, null{}, perfect{};
  int64_t windows = 0;
  int64_t detected_windows = 0;
  int64_t false_detections = 0;

  void Add(const NabTotals& o);
  /// \brief Return 100 * (raw - null) / (perfect - null) for profile `p`, or 0 without windows.
  double Normalized(size_t p) const;
};

/// \brief Return NAB's scaled sigmoid S(y) = 2 / (1 + e^(5y)) - 1 (-1 for y > 3).
double ScaledSigmoid(double y);

/// \brief Return the rows that count as detections.
std::vector<size_t> DetectionRows(const std::vector<uint8_t>& predicted, Detections mode);

/// \brief Return the scoring windows of a series: its labels-file windows; else a
/// window at each changepoint; else one window per run of labelled rows.
std::vector<Window> ScoringWindows(const Series& series, const NabOptions& options);

/// \brief Score one series; add the results of many with NabTotals::Add.
NabTotals ScoreNab(const Series& series, const NabOptions& options);

}  // namespace vigil::evaluate
