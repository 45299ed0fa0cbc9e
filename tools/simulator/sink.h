// sink.h: where records go: Kafka (librdkafka) or a JSON-lines file.
//
//   KafkaSinkOptions ko; ko.bootstrap = "127.0.0.1:9092"; ko.topic = "vigil-events";
//   VIGIL_ASSIGN_OR_RAISE(std::unique_ptr<Sink> sink, MakeKafkaSink(ko));
//   VIGIL_RETURN_NOT_OK(sink->Send(record.key, record.value));
//   VIGIL_RETURN_NOT_OK(sink->Close(/*timeout_ms=*/30000));
//   SinkCounters c = sink->counters();   // delivered, failed, first errors
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vigil/status.h"

namespace vigil::sim {

/// \brief What a sink has done so far.
struct SinkCounters {
  int64_t delivered = 0;        ///< acknowledged (Kafka) or written (file)
  int64_t labels_delivered = 0; ///< label messages acknowledged (labels topic)
  int64_t failed = 0;           ///< delivery errors
  int64_t delivered_bytes = 0;  ///< value bytes acknowledged
  int64_t in_flight = 0;        ///< queued, not yet acknowledged (Kafka outq_len)
  std::vector<std::string> errors;  ///< the first distinct delivery errors, with their topic
};

/// \brief A destination for messages.
class Sink {
 public:
  virtual ~Sink() = default;
  /// \brief Queue one message for the main topic (or file).
  virtual Status Send(const std::string& key, const std::string& value) = 0;
  /// \brief Queue one message for the labels topic (no-op for a file sink).
  virtual Status SendLabel(const std::string& key, const std::string& value) = 0;
  /// \brief Serve delivery reports without blocking.
  virtual void Poll() {}
  /// \brief Flush everything; an error if anything is still unsent after `timeout_ms`.
  virtual Status Close(int timeout_ms) = 0;
  virtual SinkCounters counters() const = 0;
};

/// \brief Settings of the Kafka producer.
struct KafkaSinkOptions {
  std::string bootstrap;
  std::string topic;
  std::string labels_topic;  ///< empty: no labels topic
  std::string compression = "lz4";
  int linger_ms = 20;
  int batch_size = 1000000;  ///< bytes per partition batch
  int queue_max_messages = 1000000;
  /// Extra librdkafka properties (`--kafka-config k=v`), applied last: SASL, TLS, ...
  std::vector<std::pair<std::string, std::string>> extra;
};

/// \brief Build an idempotent (acks=all) producer with delivery reports.
Result<std::unique_ptr<Sink>> MakeKafkaSink(const KafkaSinkOptions& options);

/// \brief Write values as lines to `path` ("-": standard output).
Result<std::unique_ptr<Sink>> MakeFileSink(const std::string& path);

}  // namespace vigil::sim
