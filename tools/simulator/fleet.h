// fleet.h: the simulated IoT fleet, a deterministic RecordSource.
//
// N devices take turns (device i % N, its reading i / N), each at its own
// event time start + k * interval (staggered across devices). Around the
// readings the fleet injects duplicates, malformed messages and late
// (held-back) readings at the configured rates, and reports each finished
// anomaly episode to a labels callback. The same options and seed give the
// same records and labels, byte for byte.
//
//   FleetOptions opts;
//   opts.devices = 10;
//   auto fleet = FleetSimulator::Make(opts, [](const std::string& key, const std::string& line) {
//     labels_file << line << '\n';
//   });
//   Record r;
//   while ((*fleet)->Next(&r)) sink.Send(r);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <deque>
#include <string>
#include <vector>

#include "anomaly.h"
#include "record.h"
#include "sensor_signal.h"
#include "vigil/status.h"

namespace vigil::sim {

/// \brief How the fleet looks and what it injects.
struct FleetOptions {
  int devices = 100;
  int metrics = 3;                          ///< per device, 1..6
  std::vector<std::string> device_classes;  ///< empty: all classes, assigned round robin
  int sites = 4;
  uint64_t seed = 42;
  int64_t start_ms = 1767225600000;         ///< 2026-01-01T00:00:00Z
  int64_t interval_ms = 1000;               ///< per device, in event time
  int64_t max_messages = 0;                 ///< stop after this many messages (0: no limit)
  AnomalyOptions anomaly;
  double duplicate_rate = 0.0;              ///< fraction of messages that repeat an earlier one
  double malformed_rate = 0.0;              ///< fraction of messages that are broken
  double late_rate = 0.0;                   ///< fraction of normal readings held back
  int64_t max_lateness_ms = 30000;          ///< a late reading is held up to this long (event time)
  int64_t oversize_bytes = 131072;          ///< size of an oversized payload
};

/// \brief Called with (device_id, label JSON line) for each finished episode.
using LabelsCallback = std::function<void(const std::string&, const std::string&)>;

/// \brief Counts of injected episodes per kind.
struct EpisodeCounts {
  int64_t by_kind[kNumAnomalyKinds] = {};
  int64_t total = 0;
};

class FleetSimulator : public RecordSource {
  struct Key {
    explicit Key() = default;
  };

 public:
  /// \brief Use Make(); public only for std::make_unique.
  FleetSimulator(Key key, const FleetOptions& options, LabelsCallback labels);

  /// \brief Validate `options` and build the fleet.
  static Result<std::unique_ptr<FleetSimulator>> Make(const FleetOptions& options,
                                                      LabelsCallback labels);

  bool Next(Record* out) override;
  void Finish() override { finishing_ = true; }

  const EpisodeCounts& episodes() const { return episodes_; }

  /// \brief Append an episode as one JSON line (no newline) to `out`.
  void AppendLabelJson(const Episode& e, std::string* out) const;

 private:
  // A reading held back until its device's reading at `release_ts` has been made.
  struct Held {
    int64_t release_ts;
    size_t device;
    std::string key;
    std::string value;
    int64_t ts_ms;
  };
  struct Device {
    std::string id;
    std::string site;
    DeviceSignal signal;
    AnomalyInjector injector;
    std::vector<std::string> names;
    std::vector<int> decimals;
    std::vector<double> values;
    std::vector<Held> held;   // in event-time order
    int64_t max_ts = INT64_MIN;  // latest event time sent
  };

  bool NextReading(Record* out);
  void MakeMalformedRecord(Record* out);
  void EmitHeld(Held h, Record* out);
  bool DrainOne(Record* out);
  void Release(Device* dev, int64_t now_ts);
  void Remember(const Record& r);
  void Label(const Device& dev, const Episode& e);
  void CloseEpisodes();
  EventView View(const Device& dev, std::string_view event_id, int64_t ts_ms) const;

  FleetOptions options_;
  LabelsCallback labels_;
  Rng rng_;
  std::vector<Device> devices_;
  int64_t slot_ = 0;
  int64_t clock_ms_ = 0;
  int64_t emitted_ = 0;
  int64_t next_episode_ = 1;
  int64_t malformed_seq_ = 0;
  int64_t held_count_ = 0;
  bool finishing_ = false;
  bool closed_ = false;
  std::deque<Held> ready_;  // held readings due for sending
  std::vector<Record> recent_;  // ring of recent readings, for duplicates
  size_t recent_next_ = 0;
  EpisodeCounts episodes_;
  std::string event_id_;
  std::string label_line_;
};

}  // namespace vigil::sim
