// Private structures of the engine: members and per-device state.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vigil/detect/detector.h"
#include "vigil/detect/ensemble.h"
#include "vigil/engine/engine.h"

namespace vigil::internal {

/// \brief One enabled detector of the ensemble.
struct Member {
  std::string name;
  std::unique_ptr<DetectorFactory> factory;
  DetectorKind kind;
  double weight;
  double fire;   ///< weighted p at or above which the member fires
  int32_t refractory;  ///< events after a fire in which a further fire is no point alarm
  CalibrationOptions calibration;
  uint32_t bit;  ///< index in detector_names()
};

/// \brief One member's detector for one key, and its calibrator.
struct KeyMember {
  std::unique_ptr<Detector> detector;  ///< nullptr: does not apply to this key
  Calibrator calibrator;
};

/// \brief Detectors of one key, parallel to the members of one kind.
struct KeyDetectors {
  std::vector<KeyMember> members;
  int64_t memory_bytes() const;
};

struct MetricState {
  std::string name;
  double last_value = 0;
  bool has_value = false;
  KeyDetectors univariate;
};

struct DeviceState {
  std::string device_class;
  uint64_t events = 0;
  double smoothed = 0;                      ///< EMA of the event score (collective path)
  bool collective = false;                  ///< the collective alarm is on (hysteresis)
  /// Detector mask the running collective alarm last reported (0 while it is off):
  /// what a point without any evidence inside the alarm reports.
  uint32_t collective_mask = 0;
  /// Per member bit: events since it last fired, capped at its refractory period
  /// (empty = every member quiet; used only when a member has a refractory period).
  std::vector<uint64_t> since_fire;
  std::vector<MetricState> metrics;         ///< in the order first seen
  // Multivariate members see the metrics present in the device's first event,
  // sorted by name; values missing later are carried forward.
  bool has_multivariate = false;
  std::vector<std::string> mv_names;
  std::vector<int32_t> mv_slots;            ///< metric slot of each dimension
  std::vector<double> mv_values;
  KeyDetectors multivariate;
  // Process's scratch, never saved: the batch that last saw the device, its group there.
  uint64_t batch_generation = 0;
  uint32_t batch_group = 0;

  int64_t memory_bytes() const;
};

/// \brief 64-bit FNV-1a, for seeds and the detector version.
uint64_t Fnv1a(std::string_view s, uint64_t h = 1469598103934665603ULL);

/// \brief Version of the device blob layout written by SaveDevice / SaveAll.
inline constexpr uint64_t kDeviceStateVersion = 1;

/// \brief Render the explanation JSON of one verdict.
struct ExplainInput {
  double score;
  int severity;
  uint32_t mask;
  const std::vector<std::string>* names;
  std::string_view metric;
  double observed;
  double expected_lo, expected_hi;
  std::string_view note;
  std::string_view detector;  ///< member that explains the score most
  std::vector<std::pair<std::string_view, double>> attribution;
};
std::string RenderExplanation(const ExplainInput& in);

}  // namespace vigil::internal
