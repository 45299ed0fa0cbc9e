// event_json.h: the event as JSON (docs/HACKING.md), and the malformed variants.
//
//   EventView e{...};
//   std::string out;
//   AppendEventJson(e, &out);
//   // {"schema_version":1,"event_id":"dev-00042-000000001234","device_id":"dev-00042",
//   //  "ts":"2026-11-23T10:00:00.000Z","metrics":{"current_a":6.512},
//   //  "tags":{"device_class":"pump","site":"plant-1"}}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rng.h"

namespace vigil::sim {

/// \brief The parts of one event, borrowed from the simulator.
struct EventView {
  std::string_view event_id;
  std::string_view device_id;
  int64_t ts_ms = 0;
  const std::vector<std::string>* metric_names = nullptr;
  const std::vector<double>* values = nullptr;
  const std::vector<int>* decimals = nullptr;  ///< digits per metric; null: shortest form
  std::string_view device_class;
  std::string_view site;
  /// All strings are known to need no escaping (the simulator's own identifiers).
  bool plain_strings = false;
};

/// \brief Append `e` as one line of JSON (no newline) to `out`.
void AppendEventJson(const EventView& e, std::string* out);

/// \brief Append a JSON string literal (quoted, escaped) to `out`.
void AppendJsonString(std::string_view s, std::string* out);

/// \brief Append a finite number with `decimals` digits, 0..6 (-1: shortest round-trip form).
void AppendNumber(double v, int decimals, std::string* out);

/// \brief The ways a message is deliberately broken.
enum class MalformedKind : int {
  kInvalidJson = 0,  ///< not JSON: cut short, so the object never closes
  kMissingField,     ///< one of event_id, device_id, ts, metrics left out
  kWrongType,        ///< a field of the wrong JSON type (metric as string, ts as bool, ...)
  kNonFinite,        ///< a metric written NaN / Infinity / -Infinity (as Python's json.dumps does)
  kOversized,        ///< valid JSON padded past the size limit
  kBadTimestamp,     ///< a timestamp that cannot be: Feb 30, hour 25, year 9999, negative epoch
};
constexpr int kNumMalformedKinds = 6;

/// \brief Return the name of a malformed kind, e.g. "invalid_json".
std::string_view MalformedKindName(MalformedKind kind);

/// \brief Write a broken version of `e` of kind `kind` to `out` (replacing its contents).
/// `oversize_bytes` is the size an oversized payload reaches.
void MakeMalformed(MalformedKind kind, const EventView& e, int64_t oversize_bytes, Rng* rng,
                   std::string* out);

}  // namespace vigil::sim
