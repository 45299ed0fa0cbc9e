// vigil/engine/event_time_order.h: a decoded batch split at a watermark, in scoring order.
//
// The Spark job scores a bucket's micro-batch in event-time order, ties broken by Kafka
// position, so the verdicts never depend on the order the batch was read in; events
// behind the watermark are late (dead letters) and are not scored.
//
//   vigil::EventTimeOrder order;
//   VIGIL_RETURN_NOT_OK(vigil::OrderByEventTime(batch, watermark_ms, partition, offset, &order));
//   VIGIL_RETURN_NOT_OK(engine->ProcessRows(batch, order.live, &verdicts));
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "vigil/event/event_batch.h"
#include "vigil/status.h"

namespace vigil {

struct EventTimeOrder {
  std::vector<uint32_t> live;  ///< rows with ts >= watermark, by (ts, partition, offset)
  std::vector<uint32_t> late;  ///< rows with ts < watermark, in row order
  int64_t max_ts_ms = std::numeric_limits<int64_t>::min();       ///< over every row
  int64_t min_live_ts_ms = std::numeric_limits<int64_t>::max();  ///< over the live rows
};

/// \brief Split `batch`'s rows at `watermark_ms` (<= 0: no watermark, nothing is late)
/// and order the live ones. `partition` and `offset` give each input position's Kafka
/// coordinates (indexed by source_index; one entry per input value, rejects included).
Status OrderByEventTime(const EventBatch& batch, int64_t watermark_ms, std::span<const int32_t> partition,
                        std::span<const int64_t> offset, EventTimeOrder* out);

}  // namespace vigil
