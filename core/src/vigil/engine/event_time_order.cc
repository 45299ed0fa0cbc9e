// OrderByEventTime: split at the watermark, sort the live rows by (ts, partition, offset).
#include "vigil/engine/event_time_order.h"

#include <algorithm>
#include <string>
#include <tuple>

namespace vigil {

Status OrderByEventTime(const EventBatch& batch, int64_t watermark_ms, std::span<const int32_t> partition,
                        std::span<const int64_t> offset, EventTimeOrder* out) {
  if (partition.size() != offset.size()) {
    return Status::Invalid("OrderByEventTime: " + std::to_string(partition.size()) + " partitions but " +
                           std::to_string(offset.size()) + " offsets");
  }
  out->live.clear();
  out->late.clear();
  out->max_ts_ms = std::numeric_limits<int64_t>::min();
  out->min_live_ts_ms = std::numeric_limits<int64_t>::max();
  const int64_t n = batch.size();
  out->live.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    if (batch.source_index(i) >= partition.size()) {
      return Status::Invalid("OrderByEventTime: event " + std::to_string(i) + " has input position " +
                             std::to_string(batch.source_index(i)) + " beyond the " +
                             std::to_string(partition.size()) + " Kafka positions given");
    }
    const int64_t ts = batch.ts_ms(i);
    out->max_ts_ms = std::max(out->max_ts_ms, ts);
    if (watermark_ms > 0 && ts < watermark_ms) {
      out->late.push_back(static_cast<uint32_t>(i));
    } else {
      out->live.push_back(static_cast<uint32_t>(i));
      out->min_live_ts_ms = std::min(out->min_live_ts_ms, ts);
    }
  }
  // A partition's events mostly come in event-time order already: skip the sort then.
  auto key = [&](uint32_t i) {
    const uint32_t src = batch.source_index(i);
    return std::make_tuple(batch.ts_ms(i), partition[src], offset[src]);
  };
  auto before = [&](uint32_t a, uint32_t b) { return key(a) < key(b); };
  if (!std::is_sorted(out->live.begin(), out->live.end(), before)) {
    std::sort(out->live.begin(), out->live.end(), before);
  }
  return Status::OK();
}

}  // namespace vigil
