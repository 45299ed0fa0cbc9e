// record.h: one message to send, and the sources that make them.
//
// A RecordSource (the fleet simulator or a file replayer) fills Records one at
// a time; the runner paces them and hands them to a Sink (Kafka or a file).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "event_json.h"

namespace vigil::sim {

/// \brief What a message is, for the final counts (each message has exactly one kind).
enum class RecordKind : int {
  kNormal = 0,  ///< a reading with no anomaly, sent in order
  kAnomalous,   ///< a reading listed in an episode of the labels file
  kDuplicate,   ///< an earlier message sent again, byte for byte (same event_id)
  kMalformed,   ///< a deliberately broken message (see MalformedKind)
  kLate,        ///< a normal reading held back and sent after later readings of its device
};
constexpr int kNumRecordKinds = 5;

/// \brief Return the name of a kind, e.g. "duplicate".
std::string_view RecordKindName(RecordKind kind);

/// \brief One message: Kafka key and value, its kind and its event time.
struct Record {
  std::string key;
  std::string value;
  RecordKind kind = RecordKind::kNormal;
  MalformedKind malformed = MalformedKind::kInvalidJson;  ///< meaningful for kMalformed only
  int64_t ts_ms = 0;  ///< event time (pacing of replays at real time)
};

/// \brief A stream of records.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  /// \brief Fill `out` with the next record; false when the source is exhausted.
  virtual bool Next(Record* out) = 0;
  /// \brief Stop making new readings; Next then drains what is held back, then returns false.
  virtual void Finish() {}
};

}  // namespace vigil::sim
