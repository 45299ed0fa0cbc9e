// vigil/event/event_batch.h: a columnar batch of decoded events.
//
// A batch owns its strings (event and device ids, device classes) in one arena
// and its metric names in a dictionary. Metrics are stored CSR-style: event i
// has metrics [metric_offsets()[i], metric_offsets()[i + 1]) in the parallel
// columns metric_ids() / metric_values().
//
//   vigil::EventBatchBuilder b;
//   b.BeginEvent(/*source_index=*/0, "e-1", "dev-1", /*ts_ms=*/1700000000000);
//   b.AddMetric("temperature", 21.5);
//   VIGIL_RETURN_NOT_OK(b.FinishEvent());
//   vigil::EventBatch batch = b.Finish();
//   double t = batch.metric_values(0)[0];
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

/// \brief Why an input event was rejected. Values are stable (they may be stored).
enum class RejectReason : uint8_t {
  kMalformedJson = 0,         ///< not a JSON object, or trailing content
  kMissingField = 1,          ///< event_id, device_id, ts or metrics absent
  kWrongType = 2,             ///< a field has the wrong JSON type
  kNonFinite = 3,             ///< a metric is NaN or infinite (or overflows a double)
  kTimestampOutOfRange = 4,   ///< ts outside DecoderOptions' range
  kPayloadTooLarge = 5,       ///< more bytes than DecoderOptions::max_payload_bytes
  kTooManyMetrics = 6,        ///< more metrics than DecoderOptions::max_metrics
  kUnknownSchemaVersion = 7,  ///< schema_version not accepted
  kEmptyMetrics = 8,          ///< metrics is an empty object
  kBadTimestamp = 9,          ///< ts is a string but not RFC 3339
  kInvalidId = 10,            ///< event_id or device_id empty or too long
  kDuplicateMetric = 11,      ///< the same metric name twice in one event
  kNullInput = 12,            ///< a null entry in the input column
};

/// \brief Return a stable snake_case name, e.g. "malformed_json" (the dead-letter `reason`).
std::string_view RejectReasonName(RejectReason reason);

/// \brief An input event that did not make it into a batch, with its input position.
struct Reject {
  uint32_t index;      ///< position in the input (same numbering as source_index)
  RejectReason reason;
  std::string detail;  ///< human-readable, names the field
};

/// \brief Decoded events, column by column.
class EventBatch {
 public:
  EventBatch() = default;
  EventBatch(EventBatch&&) noexcept = default;
  EventBatch& operator=(EventBatch&&) noexcept = default;
  EventBatch(const EventBatch&) = default;
  EventBatch& operator=(const EventBatch&) = default;

  int64_t size() const { return static_cast<int64_t>(ts_ms_.size()); }
  bool empty() const { return ts_ms_.empty(); }

  /// \brief Position of event i in the input it was decoded from.
  uint32_t source_index(int64_t i) const { return source_index_[i]; }
  std::string_view event_id(int64_t i) const { return View(event_id_[i]); }
  std::string_view device_id(int64_t i) const { return View(device_id_[i]); }
  /// \brief tags.device_class, or "" when absent.
  std::string_view device_class(int64_t i) const { return View(device_class_[i]); }
  int64_t ts_ms(int64_t i) const { return ts_ms_[i]; }
  int32_t schema_version(int64_t i) const { return schema_version_[i]; }

  /// \brief Metric ids of event i (indices into metric_names()).
  std::span<const uint32_t> metric_ids(int64_t i) const {
    return {metric_ids_.data() + metric_offsets_[i], metric_offsets_[i + 1] - metric_offsets_[i]};
  }
  /// \brief Metric values of event i, parallel to metric_ids(i).
  std::span<const double> metric_values(int64_t i) const {
    return {metric_values_.data() + metric_offsets_[i], metric_offsets_[i + 1] - metric_offsets_[i]};
  }
  /// \brief The metric name dictionary: id -> name.
  const std::vector<std::string>& metric_names() const { return metric_names_; }
  std::string_view metric_name(uint32_t id) const { return metric_names_[id]; }

  // Whole columns, for zero-copy export.
  std::span<const uint32_t> source_indices() const { return source_index_; }
  std::span<const int64_t> ts_ms_column() const { return ts_ms_; }
  std::span<const uint32_t> metric_offsets() const { return metric_offsets_; }
  std::span<const uint32_t> metric_id_column() const { return metric_ids_; }
  std::span<const double> metric_value_column() const { return metric_values_; }

  /// \brief Return the approximate heap bytes held by the batch.
  int64_t memory_bytes() const;

  /// \brief Remove all events and names, keeping capacity.
  void Clear();

 private:
  friend class EventBatchBuilder;
  struct StrRef {
    uint32_t offset;
    uint32_t length;
  };
  std::string_view View(StrRef r) const { return {arena_.data() + r.offset, r.length}; }

  std::vector<uint32_t> source_index_;
  std::vector<StrRef> event_id_;
  std::vector<StrRef> device_id_;
  std::vector<StrRef> device_class_;
  std::vector<int64_t> ts_ms_;
  std::vector<int32_t> schema_version_;
  std::vector<uint32_t> metric_offsets_{0};
  std::vector<uint32_t> metric_ids_;
  std::vector<double> metric_values_;
  std::vector<std::string> metric_names_;
  std::string arena_;
};

/// \brief Appends events to an EventBatch; used by the decoder and by CSV readers.
///
/// Call BeginEvent, AddMetric for each metric, then FinishEvent (or AbortEvent to
/// drop a half-built event). Finish() hands the batch over and resets the builder.
class EventBatchBuilder {
 public:
  EventBatchBuilder();
  ~EventBatchBuilder();
  EventBatchBuilder(EventBatchBuilder&&) noexcept;
  EventBatchBuilder& operator=(EventBatchBuilder&&) noexcept;

  void BeginEvent(uint32_t source_index, std::string_view event_id, std::string_view device_id,
                  int64_t ts_ms, int32_t schema_version = 1, std::string_view device_class = {});
  /// \brief Return the dictionary id of a metric name, adding it when new.
  uint32_t InternMetric(std::string_view name);
  void AddMetric(uint32_t metric_id, double value);
  void AddMetric(std::string_view name, double value) { AddMetric(InternMetric(name), value); }
  /// \brief Close the current event. Invalid if it has no metrics, a duplicate or a non-finite value.
  Status FinishEvent();
  /// \brief Drop the event begun by BeginEvent.
  void AbortEvent();
  /// \brief A whole event in one call: BeginEvent, AddMetric for each, FinishEvent.
  /// On Invalid (no metrics, a duplicate id, a non-finite value) nothing is appended.
  Status AddEvent(uint32_t source_index, std::string_view event_id, std::string_view device_id, int64_t ts_ms,
                  int32_t schema_version, std::string_view device_class, std::span<const uint32_t> metric_ids,
                  std::span<const double> metric_values);

  int64_t size() const { return batch_.size(); }
  /// \brief Hand over the batch; the builder is empty afterwards (its dictionary too).
  EventBatch Finish();
  /// \brief Start over, reusing `reuse`'s capacity.
  void Reset(EventBatch reuse);

 private:
  struct Dict;
  EventBatch::StrRef Append(std::string_view s);
  void PushRow(uint32_t source_index, std::string_view event_id, std::string_view device_id, int64_t ts_ms,
               int32_t schema_version, std::string_view device_class);
  Status CheckMetrics(std::span<const uint32_t> ids, std::span<const double> values) const;
  EventBatch batch_;
  std::unique_ptr<Dict> dict_;
  bool open_ = false;
};

}  // namespace vigil
