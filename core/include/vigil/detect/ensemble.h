// vigil/detect/ensemble.h: calibration of raw scores and their combination.
//
// Each member detector's raw score is mapped to p in [0,1] by its calibration
// (fixed logistic, identity, or a per-key tail calibration that standardizes the
// raw score by its own history). Members combine by weighted noisy-OR:
//   score = 1 - prod_i (1 - w_i * p_i)
// A member "fires" when w_i * p_i >= fire_threshold; an event is anomalous when
// score >= threshold and at least min_fired members fired. A second, collective
// path keeps an EMA of each device's event score (weight `smoothing`) and also
// alarms when it reaches smoothed_threshold: minutes-long anomalies make many
// moderate scores in a row, which the point path alone reports in fragments.
// The collective alarm has hysteresis: once on, it ends only when the smoothed
// score falls below smoothed_release.
//
//   vigil::Calibrator cal(opts);
//   double p = cal.Calibrate(raw);   // then cal.Observe(raw) to learn (kTail)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vigil/detect/detector.h"
#include "vigil/detect/params.h"
#include "vigil/state/state.h"

namespace vigil {

/// \brief One detector of the ensemble.
struct MemberOptions {
  std::string name;                 ///< registry name, e.g. "ewma"
  bool enabled = true;
  double weight = 1.0;              ///< in (0, 1]
  /// Weighted p at or above which this member fires (0 = EnsembleOptions::fire_threshold).
  /// A member that is sensitive but noisy can demand stronger evidence for a point
  /// alarm while its p still feeds the score and the collective path unchanged.
  double fire_threshold = 0;
  /// Refractory period, in events of the device (0 = none): the member's fire
  /// counts toward a point alarm only when it did not fire on any of the device's
  /// previous `refractory` events. Its point alarms are then isolated outliers and
  /// the onsets of its evidence; what it keeps (re)firing on -- a drifting or
  /// flickering sensor, a long shift -- is left to the collective path, which its
  /// p still feeds unchanged.
  int32_t refractory = 0;
  bool has_calibration = false;     ///< false: the factory's default calibration
  CalibrationOptions calibration;
  Params params{"detectors"};       ///< the detector's own settings
};

struct EnsembleOptions {
  std::vector<MemberOptions> members;
  double threshold = 0.5;           ///< score at or above which an event is anomalous
  double fire_threshold = 0.5;      ///< weighted p at or above which a member fired
  int32_t min_fired = 1;
  double smoothing = 0;             ///< EMA weight of the per-device score; 0 = no collective path
  double smoothed_threshold = 0.5;  ///< smoothed score at or above which an event is anomalous
  /// Hysteresis of the collective path: once on, it stays on while the smoothed
  /// score is >= smoothed_release (0 = same as smoothed_threshold: no hysteresis).
  double smoothed_release = 0;

  /// \brief The smoothed score below which an active collective alarm ends.
  double release() const { return smoothed_release > 0 ? smoothed_release : smoothed_threshold; }

  Status Validate() const;
};

/// \brief Maps a raw score to [0,1]; holds per-key statistics for kTail.
class Calibrator {
 public:
  Calibrator() = default;
  explicit Calibrator(const CalibrationOptions* opts) : opts_(opts) {}

  /// \brief p in [0,1] for a raw score (pure).
  double Calibrate(double raw) const;
  /// \brief Learn from a raw score (kTail only; no-op otherwise).
  void Observe(double raw);

  void SerializeTo(StateWriter* w) const;
  Status DeserializeFrom(StateReader* r);
  bool stateful() const { return opts_ && opts_->kind == CalibrationOptions::Kind::kTail; }

 private:
  const CalibrationOptions* opts_ = nullptr;
  double mean_ = 0;
  double var_ = 0;
  uint64_t n_ = 0;
};

/// \brief 1 - prod(1 - w_i p_i), with each w_i p_i clamped to [0,1].
double NoisyOr(std::span<const double> weighted_p);

}  // namespace vigil
