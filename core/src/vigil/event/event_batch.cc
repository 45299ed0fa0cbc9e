#include "vigil/event/event_batch.h"

#include <cmath>
#include <string>
#include <unordered_map>

namespace vigil {

namespace internal {
bool CpuHasAvx2() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("pclmul");
#else
  return true;
#endif
}
}  // namespace internal

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMalformedJson: return "malformed_json";
    case RejectReason::kMissingField: return "missing_field";
    case RejectReason::kWrongType: return "wrong_type";
    case RejectReason::kNonFinite: return "non_finite";
    case RejectReason::kTimestampOutOfRange: return "timestamp_out_of_range";
    case RejectReason::kPayloadTooLarge: return "payload_too_large";
    case RejectReason::kTooManyMetrics: return "too_many_metrics";
    case RejectReason::kUnknownSchemaVersion: return "unknown_schema_version";
    case RejectReason::kEmptyMetrics: return "empty_metrics";
    case RejectReason::kBadTimestamp: return "bad_timestamp";
    case RejectReason::kInvalidId: return "invalid_id";
    case RejectReason::kDuplicateMetric: return "duplicate_metric";
    case RejectReason::kNullInput: return "null_input";
  }
  return "unknown";
}

int64_t EventBatch::memory_bytes() const {
  int64_t b = static_cast<int64_t>(arena_.capacity());
  b += source_index_.capacity() * 4 + metric_offsets_.capacity() * 4 + metric_ids_.capacity() * 4;
  b += (event_id_.capacity() + device_id_.capacity() + device_class_.capacity()) * sizeof(StrRef);
  b += ts_ms_.capacity() * 8 + schema_version_.capacity() * 4 + metric_values_.capacity() * 8;
  for (const auto& n : metric_names_) b += static_cast<int64_t>(sizeof(std::string) + n.capacity());
  return b;
}

void EventBatch::Clear() {
  source_index_.clear();
  event_id_.clear();
  device_id_.clear();
  device_class_.clear();
  ts_ms_.clear();
  schema_version_.clear();
  metric_offsets_.assign(1, 0);
  metric_ids_.clear();
  metric_values_.clear();
  metric_names_.clear();
  arena_.clear();
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct EventBatchBuilder::Dict {
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> ids;
  // Events of one producer repeat their metric names in the same order: try the
  // id at the same position in the previous event before hashing.
  std::vector<uint32_t> last_ids;
  size_t pos = 0;
};

EventBatchBuilder::EventBatchBuilder() : dict_(std::make_unique<Dict>()) {}
EventBatchBuilder::~EventBatchBuilder() = default;
EventBatchBuilder::EventBatchBuilder(EventBatchBuilder&&) noexcept = default;
EventBatchBuilder& EventBatchBuilder::operator=(EventBatchBuilder&&) noexcept = default;

EventBatch::StrRef EventBatchBuilder::Append(std::string_view s) {
  EventBatch::StrRef r{static_cast<uint32_t>(batch_.arena_.size()), static_cast<uint32_t>(s.size())};
  batch_.arena_.append(s.data(), s.size());
  return r;
}

void EventBatchBuilder::BeginEvent(uint32_t source_index, std::string_view event_id,
                                   std::string_view device_id, int64_t ts_ms, int32_t schema_version,
                                   std::string_view device_class) {
  if (open_) AbortEvent();
  open_ = true;
  dict_->pos = 0;
  PushRow(source_index, event_id, device_id, ts_ms, schema_version, device_class);
}

void EventBatchBuilder::PushRow(uint32_t source_index, std::string_view event_id, std::string_view device_id,
                                int64_t ts_ms, int32_t schema_version, std::string_view device_class) {
  batch_.source_index_.push_back(source_index);
  batch_.event_id_.push_back(Append(event_id));
  batch_.device_id_.push_back(Append(device_id));
  batch_.device_class_.push_back(Append(device_class));
  batch_.ts_ms_.push_back(ts_ms);
  batch_.schema_version_.push_back(schema_version);
}

Status EventBatchBuilder::CheckMetrics(std::span<const uint32_t> ids, std::span<const double> values) const {
  if (ids.empty()) return Status::Invalid("event has no metrics");
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return Status::Invalid("metric '" + batch_.metric_names_[ids[i]] + "' is not finite");
    }
    for (size_t j = 0; j < i; ++j) {
      if (ids[j] == ids[i]) return Status::Invalid("metric '" + batch_.metric_names_[ids[i]] + "' appears twice");
    }
  }
  return Status::OK();
}

uint32_t EventBatchBuilder::InternMetric(std::string_view name) {
  Dict& d = *dict_;
  if (d.pos < d.last_ids.size()) {
    const uint32_t guess = d.last_ids[d.pos];
    if (batch_.metric_names_[guess] == name) {
      ++d.pos;
      return guess;
    }
  }
  uint32_t id;
  auto it = d.ids.find(name);
  if (it != d.ids.end()) {
    id = it->second;
  } else {
    id = static_cast<uint32_t>(batch_.metric_names_.size());
    batch_.metric_names_.emplace_back(name);
    d.ids.emplace(std::string(name), id);
  }
  if (d.pos < d.last_ids.size()) {
    d.last_ids[d.pos] = id;
  } else {
    d.last_ids.push_back(id);
  }
  ++d.pos;
  return id;
}

void EventBatchBuilder::AddMetric(uint32_t metric_id, double value) {
  batch_.metric_ids_.push_back(metric_id);
  batch_.metric_values_.push_back(value);
}

Status EventBatchBuilder::FinishEvent() {
  const uint32_t begin = batch_.metric_offsets_.back();
  const uint32_t end = static_cast<uint32_t>(batch_.metric_ids_.size());
  Status st = CheckMetrics({batch_.metric_ids_.data() + begin, end - begin},
                           {batch_.metric_values_.data() + begin, end - begin});
  if (!st.ok()) {
    AbortEvent();
    return st;
  }
  batch_.metric_offsets_.push_back(end);
  open_ = false;
  return Status::OK();
}

Status EventBatchBuilder::AddEvent(uint32_t source_index, std::string_view event_id, std::string_view device_id,
                                   int64_t ts_ms, int32_t schema_version, std::string_view device_class,
                                   std::span<const uint32_t> metric_ids, std::span<const double> metric_values) {
  if (metric_values.size() != metric_ids.size()) return Status::Invalid("metric ids and values differ in length");
  VIGIL_RETURN_NOT_OK(CheckMetrics(metric_ids, metric_values));
  if (open_) AbortEvent();
  PushRow(source_index, event_id, device_id, ts_ms, schema_version, device_class);
  EventBatch& b = batch_;
  for (size_t i = 0; i < metric_ids.size(); ++i) {  // a few: cheaper than insert's memmove
    b.metric_ids_.push_back(metric_ids[i]);
    b.metric_values_.push_back(metric_values[i]);
  }
  b.metric_offsets_.push_back(static_cast<uint32_t>(b.metric_ids_.size()));
  dict_->pos = 0;  // the next event's InternMetric calls guess from position 0 again
  return Status::OK();
}

void EventBatchBuilder::AbortEvent() {
  if (!open_) return;
  open_ = false;
  const uint32_t begin = batch_.metric_offsets_.back();
  batch_.metric_ids_.resize(begin);
  batch_.metric_values_.resize(begin);
  const auto arena_begin = batch_.event_id_.back().offset;
  batch_.arena_.resize(arena_begin);
  batch_.source_index_.pop_back();
  batch_.event_id_.pop_back();
  batch_.device_id_.pop_back();
  batch_.device_class_.pop_back();
  batch_.ts_ms_.pop_back();
  batch_.schema_version_.pop_back();
}

EventBatch EventBatchBuilder::Finish() {
  if (open_) AbortEvent();
  EventBatch out = std::move(batch_);
  batch_ = EventBatch();
  dict_ = std::make_unique<Dict>();
  return out;
}

void EventBatchBuilder::Reset(EventBatch reuse) {
  reuse.Clear();
  batch_ = std::move(reuse);
  dict_ = std::make_unique<Dict>();
  open_ = false;
}

}  // namespace vigil
