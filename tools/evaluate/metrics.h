// evaluate/metrics.h: point-wise and event-wise detection metrics.
//
// Point-wise: every row is a sample (SKAB's leaderboard rule): precision,
// recall, F1, false-alarm rate FAR = FP/(FP+TN), missed-alarm rate
// MAR = FN/(FN+TP). Event-wise: a true event is a run of labelled rows; it is
// detected when any of its rows is predicted; a predicted event (a run of
// predicted rows) is correct when it overlaps a true event. Counts add up over
// files, so metrics over many files are those of their concatenation.
//
//   Confusion c = PointConfusion(series.label, series.predicted);
//   double f1 = c.F1();
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace vigil::evaluate {

/// \brief Return a/b, or 0 when b is 0 (no samples: the rate is reported as 0).
inline double Ratio(double a, double b) { return b == 0 ? 0.0 : a / b; }

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;

  void Add(const Confusion& o) {
    tp += o.tp;
    fp += o.fp;
    tn += o.tn;
    fn += o.fn;
  }
  double Precision() const { return Ratio(tp, tp + fp); }
  double Recall() const { return Ratio(tp, tp + fn); }
  /// \brief 2TP / (2TP + FP + FN), the same as SKAB's TP / (TP + (FN + FP) / 2).
  double F1() const { return Ratio(2.0 * tp, 2.0 * tp + fp + fn); }
  double FalseAlarmRate() const { return Ratio(fp, fp + tn); }
  double MissedAlarmRate() const { return Ratio(fn, fn + tp); }
};

struct EventCounts {
  int64_t true_events = 0;
  int64_t detected_true_events = 0;
  int64_t predicted_events = 0;
  int64_t correct_predicted_events = 0;

  void Add(const EventCounts& o) {
    true_events += o.true_events;
    detected_true_events += o.detected_true_events;
    predicted_events += o.predicted_events;
    correct_predicted_events += o.correct_predicted_events;
  }
  double Precision() const { return Ratio(correct_predicted_events, predicted_events); }
  double Recall() const { return Ratio(detected_true_events, true_events); }
  double F1() const {
    double p = Precision(), r = Recall();
    return Ratio(2 * p * r, p + r);
  }
};

/// \brief Return the [first, last] row ranges of the runs of non-zero values.
std::vector<std::pair<size_t, size_t>> Runs(const std::vector<uint8_t>& flags);

/// \brief Count TP/FP/TN/FN over rows. `label` and `predicted` have the same length.
Confusion PointConfusion(const std::vector<uint8_t>& label, const std::vector<uint8_t>& predicted);

/// \brief Match runs of labelled rows against runs of predicted rows.
EventCounts EventMatch(const std::vector<uint8_t>& label, const std::vector<uint8_t>& predicted);

}  // namespace vigil::evaluate
