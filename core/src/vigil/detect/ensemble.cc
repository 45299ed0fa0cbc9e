#include "vigil/detect/ensemble.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "vigil/detect/factory_internal.h"

namespace vigil {

Status EnsembleOptions::Validate() const {
  if (!(threshold > 0 && threshold <= 1)) return Status::Invalid("ensemble.threshold: must be in (0, 1]");
  if (!(fire_threshold > 0 && fire_threshold <= 1)) {
    return Status::Invalid("ensemble.fire_threshold: must be in (0, 1]");
  }
  if (min_fired < 1) return Status::Invalid("ensemble.min_fired: must be >= 1");
  if (!(smoothing >= 0 && smoothing < 1)) return Status::Invalid("ensemble.smoothing: must be in [0, 1)");
  if (!(smoothed_threshold > 0 && smoothed_threshold <= 1)) {
    return Status::Invalid("ensemble.smoothed_threshold: must be in (0, 1]");
  }
  if (!(smoothed_release >= 0 && smoothed_release <= smoothed_threshold)) {
    return Status::Invalid("ensemble.smoothed_release: must be in [0, smoothed_threshold] (0 = no hysteresis)");
  }
  std::set<std::string> seen;
  int enabled = 0;
  for (const auto& m : members) {
    if (!seen.insert(m.name).second) return Status::Invalid("detectors." + m.name + ": listed twice");
    if (!(m.weight > 0 && m.weight <= 1)) return Status::Invalid("detectors." + m.name + ".weight: must be in (0, 1]");
    if (!(m.fire_threshold >= 0 && m.fire_threshold <= 1)) {
      return Status::Invalid("detectors." + m.name + ".fire_threshold: must be in [0, 1] (0 = ensemble.fire_threshold)");
    }
    if (m.refractory < 0) return Status::Invalid("detectors." + m.name + ".refractory: must be >= 0 (0 = none)");
    if (m.has_calibration) VIGIL_RETURN_NOT_OK(m.calibration.Validate("detectors." + m.name + ".calibration"));
    enabled += m.enabled ? 1 : 0;
  }
  if (enabled == 0) return Status::Invalid("detectors: no detector is enabled");
  if (enabled > 32) return Status::Invalid("detectors: at most 32 detectors (the mask is 32 bits)");
  return Status::OK();
}

double Calibrator::Calibrate(double raw) const {
  if (opts_ == nullptr) return raw > 0 ? std::min(raw, 1.0) : 0.0;
  switch (opts_->kind) {
    case CalibrationOptions::Kind::kIdentity:
      return raw > 0 ? std::min(raw, 1.0) : 0.0;  // NaN: 0
    case CalibrationOptions::Kind::kLogistic:
      if (!(raw > 0)) return 0.0;  // not warm, or nothing to report (or NaN)
      return 1.0 / (1.0 + std::exp(-(raw - opts_->center) / opts_->scale));
    case CalibrationOptions::Kind::kTail: {
      if (n_ < static_cast<uint64_t>(opts_->warmup) || !(raw > 0)) return 0.0;
      const double sd = std::max(std::sqrt(var_), 1e-3 * std::fabs(mean_) + 1e-12);
      const double z = (raw - mean_) / sd;
      return 1.0 / (1.0 + std::exp(-(z - opts_->center) / opts_->scale));
    }
  }
  return 0.0;
}

void Calibrator::Observe(double raw) {
  if (!stateful() || !(raw > 0)) return;  // a zero raw score means "not warm"; NaN is not learned
  if (n_ >= static_cast<uint64_t>(opts_->warmup)) {
    // Learn anomalies clipped, so a burst does not teach the calibration that it is normal.
    const double sd = std::sqrt(var_);
    raw = std::min(raw, mean_ + opts_->center * sd);
  }
  internal::EwmaStats s{mean_, var_, n_};
  s.Add(raw, internal::AlphaFromHalflife(opts_->halflife));
  mean_ = s.mean;
  var_ = s.var;
  n_ = s.n;
}

void Calibrator::SerializeTo(StateWriter* w) const {
  w->WriteDouble(1, mean_);
  w->WriteDouble(2, var_);
  w->WriteUInt(3, n_);
}

Status Calibrator::DeserializeFrom(StateReader* r) {
  VIGIL_RETURN_NOT_OK(r->ReadDouble(1, &mean_));
  VIGIL_RETURN_NOT_OK(r->ReadDouble(2, &var_));
  VIGIL_RETURN_NOT_OK(r->ReadUInt(3, &n_));
  if (!std::isfinite(mean_) || !(var_ >= 0)) return Status::Corrupt("calibrator state: bad mean/variance");
  return Status::OK();
}

double NoisyOr(std::span<const double> weighted_p) {
  double keep = 1.0;
  for (double p : weighted_p) keep *= 1.0 - std::clamp(p, 0.0, 1.0);
  return 1.0 - keep;
}

}  // namespace vigil
