// anomaly.h: anomaly kinds, their magnitudes, and the per-device injector.
//
// An episode is one injected anomaly on one device. Magnitudes are in units of
// the metric's noise sd ("sigma"), so every episode stands well clear of the
// noise (a reasonable online detector sees it) without leaving physical
// bounds. See README.md for the table of kinds, lengths and magnitudes.
//
//   AnomalyInjector inj(&options, seed);
//   inj.OnReading(&signal, k, ts_ms, values);   // may start, apply or end an episode
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sensor_signal.h"
#include "vigil/status.h"

namespace vigil::sim {

enum class AnomalyKind : int {
  kSpike = 0,
  kDip,
  kLevelShift,
  kDrift,
  kStuck,
  kNoiseBurst,
  kDropout,
  kCorrelationBreak,
};
constexpr int kNumAnomalyKinds = 8;

/// \brief Return the flag and label name of a kind, e.g. "level_shift".
std::string_view AnomalyKindName(AnomalyKind kind);

/// \brief Parse "spike=2,dip=1,..." into weights per kind (kinds not named get 0).
Result<std::array<double, kNumAnomalyKinds>> ParseAnomalyMix(std::string_view text);

/// \brief How anomalies are injected.
struct AnomalyOptions {
  double rate = 0.002;         ///< chance that an idle, warmed-up device starts an episode at a reading
  int warmup_readings = 300;   ///< no episode in a device's first readings (detector warm-up)
  int gap_readings = 200;      ///< quiet readings between two episodes of a device
  double scale = 1.0;          ///< multiplies every magnitude
  std::array<double, kNumAnomalyKinds> mix{1, 1, 1, 1, 1, 1, 1, 1};
};

/// \brief One injected anomaly, as written to the labels file.
struct Episode {
  int64_t id = 0;
  AnomalyKind kind = AnomalyKind::kSpike;
  int device = 0;
  std::vector<int> metrics;  ///< affected metric indices (correlation_break: broken one first)
  int64_t start_ts_ms = 0;
  int64_t end_ts_ms = 0;
  double magnitude = 0.0;    ///< in sigmas (noise_burst: noise multiplier)
  std::vector<std::string> event_ids;
};

/// \brief Decides, applies and closes the episodes of one device.
class AnomalyInjector {
 public:
  AnomalyInjector(const AnomalyOptions* options, uint64_t seed) : options_(options), rng_(seed) {}

  /// \brief What happens to the current reading.
  enum class Effect { kNone, kAnomalous, kDropped };

  /// \brief Possibly start an episode at reading `k` (only if `may_start`), then apply
  /// the active one to `values` (one per metric, from `signal`). `next_id` numbers
  /// new episodes.
  Effect Apply(DeviceSignal* signal, int64_t k, int64_t ts_ms, bool may_start, int64_t* next_id,
               std::vector<double>* values);

  /// \brief The active episode (after Apply returned kAnomalous: the one the reading belongs to).
  Episode* active() { return active_ ? &*active_ : nullptr; }

  /// \brief If the episode ended at this reading, move it out (for the labels file).
  std::optional<Episode> TakeFinished();

  /// \brief Close the active episode at the end of the run, if it has any event.
  std::optional<Episode> TakeUnfinished();

 private:
  void Start(DeviceSignal* signal, int64_t k, int64_t ts_ms, int64_t id);

  const AnomalyOptions* options_;
  Rng rng_;
  std::optional<Episode> active_;
  bool finished_ = false;
  int64_t start_k_ = 0;
  int64_t length_ = 0;      // abnormal readings (dropout: missing readings)
  bool recovery_ = false;   // the reading after the episode is labelled too (the step back)
  int sign_ = 1;
  std::vector<double> frozen_;  // stuck values
  int64_t last_end_k_ = -1;
};

}  // namespace vigil::sim
