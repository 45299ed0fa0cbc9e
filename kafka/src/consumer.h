// Internal: librdkafka consumer handles with the readers' default settings.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>

#include "vigil/kafka/range_reader.h"

namespace vigil::kafka::internal {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

/// A consumer (assign-only, nothing committed) with the defaults of consumer.cc, then
/// `settings`. Invalid names the setting that librdkafka refused, or a missing bootstrap.
Result<KafkaHandle> NewConsumer(const Settings& settings);

}  // namespace vigil::kafka::internal
