// vigil/kafka/range_reader.h: read fixed Kafka offset ranges as columns (librdkafka).
//
// The streaming job's source plans each micro-batch as one offset range per
// partition, [start, end), and stores the ranges in Spark's checkpoint; a task
// reads its range with a PartitionReader, and a replayed batch reads exactly the
// same messages again. Messages leave in the Arrow binary layout the decoder takes
// (concatenated values + int32 offsets + validity bitmap), with their offsets and
// timestamps, so nothing runs per message outside C++.
//
//   auto r = vigil::kafka::PartitionReader::Make(settings, "sensor-events", 0).ValueOrDie();
//   VIGIL_RETURN_NOT_OK(r->Seek(1000, 6000));
//   while (true) {
//     VIGIL_ASSIGN_OR_RAISE(auto cols, r->Next(100000, 8 << 20));
//     if (cols.size() == 0) break;                      // the range is complete
//     decoder->Decode(cols.data.data(), cols.value_offsets.data(), cols.size(), ...);
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vigil/status.h"

namespace vigil::kafka {

/// librdkafka settings as (name, value) pairs, applied in order after the
/// reader's defaults (so a later pair wins). An unknown name or a bad value fails Make().
using Settings = std::vector<std::pair<std::string, std::string>>;

/// One partition's messages, column by column (n = offsets.size()).
struct MessageColumns {
  std::vector<uint8_t> data;            ///< the values, concatenated
  std::vector<int32_t> value_offsets;   ///< n + 1 offsets into `data`
  std::vector<uint8_t> validity;        ///< Arrow validity bitmap; empty = no null value
  std::vector<int64_t> offsets;         ///< Kafka offset of each message
  std::vector<int64_t> timestamps_ms;   ///< Kafka timestamp (create or log-append time), -1 if none

  int64_t size() const { return static_cast<int64_t>(offsets.size()); }
};

/// Reads [start, end) ranges of one topic partition, in offset order.
///
/// A reader keeps its connection between ranges but fetches only while it reads
/// one: Seek() assigns the start offset, and a thread of the reader's own drops the
/// assignment as soon as the range's last message has arrived (kafka/README.md says
/// why). One thread at a time may call a reader. A message missing
/// from the log inside the range (compaction, transaction markers) is skipped; a
/// range that starts before the partition's first retained offset fails (data loss).
class PartitionReader {
 public:
  virtual ~PartitionReader() = default;

  /// Create a consumer for `topic`/`partition` with `settings` (bootstrap.servers required).
  static Result<std::unique_ptr<PartitionReader>> Make(const Settings& settings, std::string topic,
                                                       int32_t partition);

  /// Start reading the range [start, end); end >= start >= 0.
  virtual Status Seek(int64_t start, int64_t end) = 0;

  /// Return the next messages of the range: at most `max_messages`, and fewer once
  /// their values pass `max_bytes`. Empty once the range is complete. Fails when no
  /// message arrives for `timeout`, or on a Kafka error, naming topic, partition and offset.
  virtual Result<MessageColumns> Next(int64_t max_messages, int64_t max_bytes,
                                      std::chrono::milliseconds timeout) = 0;

  virtual const std::string& topic() const = 0;
  virtual int32_t partition() const = 0;
};

/// The low (first retained) and high (next to be written) offsets of a partition.
struct Watermarks {
  int64_t low = 0;
  int64_t high = 0;
};

/// Metadata queries for planning micro-batches: a topic's partitions and their offsets.
class OffsetClient {
 public:
  virtual ~OffsetClient() = default;

  static Result<std::unique_ptr<OffsetClient>> Make(const Settings& settings);

  /// The topic's partition ids, ascending. NotFound if the topic does not exist.
  virtual Result<std::vector<int32_t>> Partitions(const std::string& topic,
                                                  std::chrono::milliseconds timeout) = 0;

  /// Each partition's watermarks, in the order of `partitions`.
  virtual Result<std::vector<Watermarks>> QueryWatermarks(const std::string& topic,
                                                          const std::vector<int32_t>& partitions,
                                                          std::chrono::milliseconds timeout) = 0;
};

/// The end offsets of the next micro-batch: each partition's `latest`, but at most
/// `max_total` messages over all partitions, shared in proportion to each
/// partition's backlog (latest - start), as Spark's Kafka source does for
/// maxOffsetsPerTrigger. Every partition with a backlog advances by at least one
/// message. Invalid if the vectors differ in size or a start exceeds its latest.
Result<std::vector<int64_t>> CapEndOffsets(const std::vector<int64_t>& start,
                                           const std::vector<int64_t>& latest, int64_t max_total);

}  // namespace vigil::kafka
