// The consumers' librdkafka defaults and their creation.
#include "consumer.h"

#include <string>

namespace vigil::kafka::internal {
namespace {
// The reader's defaults; Settings may override any of them.
const Settings& DefaultSettings() {
  static const Settings kDefaults = {
      {"client.id", "vigil-stream"},
      // Offsets live in Spark's checkpoint: partitions are assigned, never subscribed,
      // and nothing is committed. librdkafka still wants a group id for assign().
      {"group.id", "vigil-stream"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      // A range below the first retained offset is data loss: fail, never skip.
      {"auto.offset.reset", "error"},
      // What Spark's Kafka source reads (the Java client's default): the planned
      // end offsets are high watermarks, which a read_committed consumer may not reach.
      {"isolation.level", "read_uncommitted"},
      {"enable.partition.eof", "true"},
      // A long poll on the broker ends as soon as data arrives; bound the wait anyway.
      {"fetch.wait.max.ms", "100"},
      // Prefetch thresholds. Once the queue holds queued.min.messages or
      // queued.max.messages.kbytes, librdkafka 2.0 stops fetching for a fixed 1 s (made
      // configurable only in 2.1, fetch.queue.backoff.ms): with its defaults (100,000
      // messages, 64 MB) a 250,000-event range stalled ~1 s mid-read (debug=fetch: "not
      // fetchable: queued.min.messages exceeded"). A PartitionReader empties the queue as
      // messages arrive, so it reaches these only when the reader already holds its cap
      // (partition_reader.cc); they bound what librdkafka buffers beyond that.
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "131072"},
  };
  return kDefaults;
}

}  // namespace

Result<KafkaHandle> NewConsumer(const Settings& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  bool has_bootstrap = false;
  for (const Settings* s : {&DefaultSettings(), &settings}) {
    for (const auto& [k, v] : *s) {
      if (k == "bootstrap.servers" || k == "metadata.broker.list") has_bootstrap = !v.empty();
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return Status::Invalid("Kafka setting " + k + "=" + v + ": " + err);
      }
    }
  }
  if (!has_bootstrap) {
    rd_kafka_conf_destroy(conf);
    return Status::Invalid("Kafka settings: bootstrap.servers is required");
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) {  // rd_kafka_new frees conf only on success
    rd_kafka_conf_destroy(conf);
    return Status::IOError(std::string("cannot create a Kafka consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(rk);
  return KafkaHandle(rk);
}

}  // namespace vigil::kafka::internal
