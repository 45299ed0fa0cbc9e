// vigil/engine/engine.h: per-key detector state, scoring a batch of events.
//
// The engine keeps, per device, one instance of each univariate detector per
// metric and one of each multivariate detector over the device's metric vector
// (metrics in the order first seen, then sorted by name; values missing from an
// event are carried forward). Process() scores then learns every event of a
// batch in order; callers sort by event time per device.
//
//   VIGIL_ASSIGN_OR_RAISE(auto opts, vigil::EngineOptions::FromYamlFile("config/detectors.yaml"));
//   VIGIL_ASSIGN_OR_RAISE(auto engine, vigil::Engine::Make(opts));
//   vigil::VerdictBatch verdicts;
//   VIGIL_RETURN_NOT_OK(engine->Process(batch, &verdicts));
//   std::string blob = engine->SaveAll();   // per-bucket state for the Spark job
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/detect/ensemble.h"
#include "vigil/event/event_batch.h"
#include "vigil/status.h"

namespace vigil {

/// \brief When the engine renders the explanation JSON of a verdict.
enum class ExplainMode : uint8_t { kNone = 0, kAnomalies = 1, kAll = 2 };

struct EngineOptions {
  EnsembleOptions ensemble;
  uint64_t seed = 42;
  ExplainMode explain = ExplainMode::kAnomalies;
  int32_t max_metrics_per_device = 64;   ///< further metrics of a device are ignored
  int32_t top_attributions = 3;          ///< metrics listed in an explanation

  /// \brief The built-in default, identical to config/detectors.yaml.
  static EngineOptions Defaults();
  /// \brief Parse YAML (the format of config/detectors.yaml); errors name the bad key.
  static Result<EngineOptions> FromYaml(std::string_view yaml_text);
  static Result<EngineOptions> FromYamlFile(const std::string& path);
  Status Validate() const;
};

/// \brief One verdict per event, column by column; row i is event i of the batch.
struct VerdictBatch {
  std::vector<uint32_t> index;        ///< the event's source_index
  std::vector<double> score;          ///< in [0,1]
  std::vector<uint8_t> severity;      ///< 0-100
  std::vector<uint8_t> is_anomaly;    ///< 0/1
  /// Bit j = Engine::detector_names()[j] fired. Never 0 on an anomaly: a collective-only
  /// one names the members that fired at the point (refractory or not), else the one
  /// with the top evidence (the explanation's "by"), else what its alarm last named.
  std::vector<uint32_t> detector_mask;
  std::vector<std::string> top_metric;  ///< metric that explains the score most ("" if none)
  std::vector<double> observed;       ///< value of top_metric
  std::vector<double> expected_lo;    ///< expected range of top_metric (NaN if unknown)
  std::vector<double> expected_hi;
  std::vector<std::string> explanation_json;  ///< "" unless rendered (see ExplainMode)

  int64_t size() const { return static_cast<int64_t>(score.size()); }
  void Clear();
  /// \brief n rows of defaults (empty strings), for writing by position.
  void Resize(int64_t n);
};

/// \brief Per-key detector state and the verdict loop. Not thread-safe: use one
/// engine per task (the Spark job keeps one per partition of device buckets).
class Engine {
 public:
  virtual ~Engine() = default;

  static Result<std::unique_ptr<Engine>> Make(const EngineOptions& options);

  /// \brief Score, then learn, every event of `batch` in order; `out` is replaced, one
  /// verdict per event at its position. Devices are independent, so each device's events
  /// are taken in batch order, device by device (the same verdicts as strict order).
  virtual Status Process(const EventBatch& batch, VerdictBatch* out) = 0;
  /// \brief As Process, on the events rows[0], rows[1], ... of `batch` only, in that order
  /// (a subset, e.g. OrderByEventTime's live rows); verdict k is row rows[k]'s. Invalid if
  /// a row is outside the batch.
  virtual Status ProcessRows(const EventBatch& batch, std::span<const uint32_t> rows, VerdictBatch* out) = 0;

  /// \brief State of one device as a blob (NotFound if unknown).
  virtual Result<std::string> SaveDevice(std::string_view device_id) const = 0;
  /// \brief Replace (or create) one device's state from SaveDevice's blob.
  virtual Status LoadDevice(std::string_view device_id, std::string_view blob) = 0;
  /// \brief All devices in one blob.
  virtual std::string SaveAll() const = 0;
  /// \brief Add every device of a SaveAll() blob (replacing devices already held).
  virtual Status LoadAll(std::string_view blob) = 0;
  /// \brief Forget a device; false if it was unknown.
  virtual bool EraseDevice(std::string_view device_id) = 0;
  virtual void Clear() = 0;

  virtual int64_t num_devices() const = 0;
  /// \brief Approximate heap bytes of all device state.
  virtual int64_t memory_bytes() const = 0;
  /// \brief Names of the ensemble's detectors; bit j of a detector mask is names[j].
  virtual const std::vector<std::string>& detector_names() const = 0;
  /// \brief Identifies detector code + config, e.g. "vigil-0.1.0/3f2a9c1d" (goes into anomaly ids).
  virtual const std::string& detector_version() const = 0;
  const EngineOptions& options() const { return options_; }

 protected:
  explicit Engine(EngineOptions options) : options_(std::move(options)) {}
  EngineOptions options_;
};

/// \brief Names of the detectors set in `mask`, comma-separated.
std::string DetectorMaskNames(uint32_t mask, const std::vector<std::string>& names);

}  // namespace vigil
