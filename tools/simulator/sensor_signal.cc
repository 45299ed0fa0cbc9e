#include "sensor_signal.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace vigil::sim {
namespace {

// Load: 0.5 + kDailyAmp * sin(day cycle) + AR(1) wander with sd kArSd.
constexpr double kDailyAmp = 0.25;
constexpr double kArPhi = 0.995;
constexpr double kArSd = 0.003;
constexpr double kMsPerDay = 86400000.0;
constexpr double kTwoPi = 6.283185307179586;

const std::vector<DeviceClass>& BuildClasses() {
  // name, base, load_gain, lag, noise_sd, trend/day, min, max, decimals
  static const std::vector<DeviceClass> kClasses = {
      {"pump",
       {{"current_a", 6.0, 8.0, 1.0, 0.12, 0.0, 0.0, 40.0, 3},
        {"vibration_mm_s", 1.2, 2.0, 1.0, 0.04, 0.01, 0.0, 50.0, 4},
        {"temperature_c", 38.0, 14.0, 0.03, 0.15, 0.02, -20.0, 150.0, 3},
        {"pressure_bar", 2.0, 3.0, 1.0, 0.04, 0.0, 0.0, 25.0, 4},
        {"flow_m3h", 20.0, 40.0, 1.0, 0.5, 0.0, 0.0, 300.0, 3},
        {"speed_rpm", 1200.0, 1000.0, 1.0, 8.0, 0.0, 0.0, 3600.0, 2}}},
      {"compressor",
       {{"power_kw", 15.0, 30.0, 1.0, 0.3, 0.0, 0.0, 120.0, 3},
        {"discharge_temp_c", 70.0, 25.0, 0.05, 0.25, 0.01, -20.0, 200.0, 3},
        {"pressure_bar", 6.0, 3.0, 1.0, 0.05, 0.0, 0.0, 20.0, 4},
        {"vibration_mm_s", 2.0, 1.5, 1.0, 0.05, 0.01, 0.0, 50.0, 4},
        {"current_a", 30.0, 40.0, 1.0, 0.5, 0.0, 0.0, 250.0, 3},
        {"oil_temp_c", 50.0, 12.0, 0.02, 0.12, 0.0, -20.0, 150.0, 3}}},
      {"hvac",
       {{"supply_temp_c", 16.0, -5.0, 0.1, 0.08, 0.0, -10.0, 40.0, 3},
        {"return_temp_c", 21.0, 3.0, 0.1, 0.08, 0.0, -10.0, 45.0, 3},
        {"power_kw", 4.0, 12.0, 1.0, 0.15, 0.0, 0.0, 60.0, 3},
        {"humidity_pct", 55.0, -15.0, 0.2, 0.4, 0.0, 0.0, 100.0, 2},
        {"fan_rpm", 600.0, 800.0, 1.0, 6.0, 0.0, 0.0, 2000.0, 2},
        {"airflow_m3h", 1500.0, 2500.0, 1.0, 20.0, 0.0, 0.0, 8000.0, 1}}},
      {"environment",
       {{"temperature_c", 16.0, 10.0, 0.02, 0.12, 0.0, -40.0, 60.0, 3},
        {"humidity_pct", 70.0, -30.0, 0.02, 0.5, 0.0, 0.0, 100.0, 2},
        {"co2_ppm", 420.0, 500.0, 0.05, 8.0, 0.0, 300.0, 5000.0, 1},
        {"pressure_hpa", 1013.0, 2.0, 0.01, 0.1, 0.0, 900.0, 1100.0, 2},
        {"light_lux", 50.0, 800.0, 1.0, 8.0, 0.0, 0.0, 100000.0, 1},
        {"noise_db", 35.0, 25.0, 1.0, 0.5, 0.0, 0.0, 140.0, 2}}},
  };
  return kClasses;
}

}  // namespace

const std::vector<DeviceClass>& DeviceClasses() { return BuildClasses(); }

Result<const DeviceClass*> FindDeviceClass(std::string_view name) {
  std::string known;
  for (const DeviceClass& c : DeviceClasses()) {
    if (name == c.name) return &c;
    known += known.empty() ? "" : ", ";
    known += c.name;
  }
  return Status::NotFound("unknown device class '" + std::string(name) + "' (known: " + known +
                          ")");
}

DeviceSignal::DeviceSignal(const DeviceClass* cls, int num_metrics, uint64_t seed,
                           int64_t start_ms)
    : cls_(cls),
      num_metrics_(std::clamp(num_metrics, 1, kMaxMetrics)),
      start_ms_(start_ms),
      rng_(seed),
      phase_(rng_.Uniform(-0.1, 0.1)),
      lagged_(static_cast<size_t>(num_metrics_)),
      expected_(static_cast<size_t>(num_metrics_)),
      noise_(static_cast<size_t>(num_metrics_)) {
  ar_ = rng_.Normal(0.0, kArSd);
}

void DeviceSignal::Step(int64_t ts_ms) {
  const double day_frac = std::fmod(static_cast<double>(ts_ms) / kMsPerDay + phase_, 1.0);
  // Peak load mid-afternoon (sin peaks at day_frac = 0.25 + 0.35 = 0.6, i.e. 14:24).
  const double daily = kDailyAmp * std::sin(kTwoPi * (day_frac - 0.35));
  ar_ = kArPhi * ar_ + rng_.Normal(0.0, kArSd * std::sqrt(1.0 - kArPhi * kArPhi));
  load_ = 0.5 + daily + ar_;
  const double days = static_cast<double>(ts_ms - start_ms_) / kMsPerDay;
  for (int m = 0; m < num_metrics_; ++m) {
    const MetricSpec& s = cls_->metrics[m];
    const auto i = static_cast<size_t>(m);
    lagged_[i] = first_ ? load_ : lagged_[i] + s.lag * (load_ - lagged_[i]);
    expected_[i] = s.base + s.load_gain * lagged_[i] + s.trend_per_day * days;
    noise_[i] = rng_.Normal(0.0, s.noise_sd);
  }
  first_ = false;
}

double DeviceSignal::value(int m) const {
  return Clamp(m, expected_[static_cast<size_t>(m)] + noise_[static_cast<size_t>(m)]);
}

double DeviceSignal::Clamp(int m, double v) const {
  const MetricSpec& s = cls_->metrics[m];
  return std::clamp(v, s.min, s.max);
}

}  // namespace vigil::sim
