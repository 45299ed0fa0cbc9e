// sensor_signal.h: realistic per-device sensor signals.
//
// Each device belongs to a class (pump, compressor, hvac, environment) whose
// metrics follow one shared latent "load": a daily cycle plus a slow AR(1)
// wander. Each metric is base + gain * load (optionally lagged, as a
// temperature follows load slowly) + slow trend + Gaussian noise, clamped to
// physical bounds. Metrics of a device therefore move together, and the
// anomaly injector can break that relationship.
//
//   DeviceSignal sig(PumpClass(), /*num_metrics=*/3, seed, start_ms);
//   sig.Step(ts_ms);                  // one reading
//   double v = sig.value(0);          // observed current_a
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "rng.h"
#include "vigil/status.h"

namespace vigil::sim {

/// \brief One metric of a device class.
struct MetricSpec {
  const char* name;
  double base;           ///< value at zero load
  double load_gain;      ///< change per unit of load (negative: moves against load)
  double lag;            ///< per-reading smoothing of the load response (1 = immediate)
  double noise_sd;       ///< sd of the Gaussian measurement noise (the anomaly unit "sigma")
  double trend_per_day;  ///< slow drift of the base, per day of event time (wear, fouling)
  double min;            ///< physical lower bound
  double max;            ///< physical upper bound
  int decimals;          ///< digits written after the decimal point
};

constexpr int kMaxMetrics = 6;

/// \brief A kind of device and its metrics, in the order `--metrics N` takes them.
struct DeviceClass {
  const char* name;
  MetricSpec metrics[kMaxMetrics];
};

/// \brief Return every built-in device class.
const std::vector<DeviceClass>& DeviceClasses();

/// \brief Return the class called `name`, or NotFound naming the known ones.
Result<const DeviceClass*> FindDeviceClass(std::string_view name);

/// \brief The noise-free and observed signal of one device, advanced one reading at a time.
class DeviceSignal {
 public:
  DeviceSignal(const DeviceClass* cls, int num_metrics, uint64_t seed, int64_t start_ms);

  /// \brief Advance to the reading at event time `ts_ms` (readings come in time order).
  void Step(int64_t ts_ms);

  int num_metrics() const { return num_metrics_; }
  const DeviceClass& device_class() const { return *cls_; }
  const MetricSpec& spec(int m) const { return cls_->metrics[m]; }
  /// \brief The expected value of metric `m` at the last step (no noise).
  double expected(int m) const { return expected_[static_cast<size_t>(m)]; }
  /// \brief The noise drawn for metric `m` at the last step.
  double noise(int m) const { return noise_[static_cast<size_t>(m)]; }
  /// \brief expected + noise, clamped to the metric's bounds.
  double value(int m) const;
  /// \brief The latent load at the last step.
  double load() const { return load_; }
  /// \brief Clamp `v` to the bounds of metric `m`.
  double Clamp(int m, double v) const;
  /// \brief The device's own random stream (used by the anomaly injector too).
  Rng* rng() { return &rng_; }

 private:
  const DeviceClass* cls_;
  int num_metrics_;
  int64_t start_ms_;
  Rng rng_;
  double phase_;  // fraction of a day: devices do not all peak at the same hour
  double ar_ = 0.0;
  double load_ = 0.0;
  bool first_ = true;
  std::vector<double> lagged_;
  std::vector<double> expected_;
  std::vector<double> noise_;
};

}  // namespace vigil::sim
