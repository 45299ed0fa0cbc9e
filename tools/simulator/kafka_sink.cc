// The Kafka sink, after confluentinc/librdkafka examples/producer.cpp: every
// conf->set() checked, poll(0) per message, poll(1000) and retry on a full
// queue, flush() at close and the remaining outq_len() reported.
#include <librdkafka/rdkafkacpp.h>

#include <iostream>
#include <set>

#include "sink.h"

namespace vigil::sim {
namespace {

constexpr size_t kMaxReportedErrors = 10;
// msg_opaque values telling event deliveries from label deliveries.
char kEventTag;
char kLabelTag;

class DeliveryCounter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      if (message.msg_opaque() == &kLabelTag) {
        ++counters_.labels_delivered;
      } else {
        ++counters_.delivered;
        counters_.delivered_bytes += static_cast<int64_t>(message.len());
      }
      return;
    }
    ++counters_.failed;
    std::string what = "delivery to " + message.topic_name() + " failed: " + message.errstr();
    if (counters_.errors.size() < kMaxReportedErrors && seen_.insert(what).second) {
      std::cerr << "vigil-produce: " << what << "\n";
      counters_.errors.push_back(what);
    }
  }
  SinkCounters counters_;
  std::set<std::string> seen_;
};

class KafkaSink : public Sink {
 public:
  Status Init(const KafkaSinkOptions& o) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::vector<std::pair<std::string, std::string>> props = {
        {"bootstrap.servers", o.bootstrap},
        {"client.id", "vigil-produce"},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.type", o.compression},
        {"linger.ms", std::to_string(o.linger_ms)},
        {"batch.size", std::to_string(o.batch_size)},
        {"queue.buffering.max.messages", std::to_string(o.queue_max_messages)},
        // Same key -> same partition as the Java client (murmur2), so replays agree.
        {"partitioner", "murmur2_random"},
    };
    props.insert(props.end(), o.extra.begin(), o.extra.end());
    std::string err;
    for (const auto& [k, v] : props) {
      if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
        return Status::Invalid("Kafka setting " + k + "=" + v + ": " + err);
      }
    }
    if (conf->set("dr_cb", &reports_, err) != RdKafka::Conf::CONF_OK) {
      return Status::Internal("cannot set the delivery report callback: " + err);
    }
    producer_.reset(RdKafka::Producer::create(conf.get(), err));
    if (!producer_) return Status::IOError("cannot create the Kafka producer: " + err);
    VIGIL_RETURN_NOT_OK(OpenTopic(o.topic, &topic_));
    if (!o.labels_topic.empty()) VIGIL_RETURN_NOT_OK(OpenTopic(o.labels_topic, &labels_topic_));
    return Status::OK();
  }

  Status Send(const std::string& key, const std::string& value) override {
    return Produce(topic_.get(), key, value, &kEventTag);
  }

  Status SendLabel(const std::string& key, const std::string& value) override {
    if (!labels_topic_) return Status::OK();
    return Produce(labels_topic_.get(), key, value, &kLabelTag);
  }

  void Poll() override { producer_->poll(0); }

  Status Close(int timeout_ms) override {
    producer_->flush(timeout_ms);
    const int left = producer_->outq_len();
    if (left > 0) {
      return Status::IOError(std::to_string(left) + " message(s) still unsent after flushing for " +
                             std::to_string(timeout_ms) + " ms (is the broker at the bootstrap "
                             "address reachable?)");
    }
    return Status::OK();
  }

  SinkCounters counters() const override {
    SinkCounters c = reports_.counters_;
    c.in_flight = producer_ ? producer_->outq_len() : 0;
    return c;
  }

 private:
  Status OpenTopic(const std::string& name, std::unique_ptr<RdKafka::Topic>* out) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> tconf(RdKafka::Conf::create(RdKafka::Conf::CONF_TOPIC));
    out->reset(RdKafka::Topic::create(producer_.get(), name, tconf.get(), err));
    if (!*out) return Status::Invalid("cannot use topic '" + name + "': " + err);
    return Status::OK();
  }

  Status Produce(RdKafka::Topic* topic, const std::string& key, const std::string& value,
                 void* tag) {
    for (;;) {
      const RdKafka::ErrorCode code = producer_->produce(
          topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
          const_cast<char*>(value.data()), value.size(), key.data(), key.size(), tag);
      if (code == RdKafka::ERR_NO_ERROR) break;
      if (code == RdKafka::ERR__QUEUE_FULL) {
        producer_->poll(1000);  // let deliveries drain the local queue, then retry
        continue;
      }
      return Status::IOError("produce to " + topic->name() + " failed: " + RdKafka::err2str(code));
    }
    producer_->poll(0);
    return Status::OK();
  }

  DeliveryCounter reports_;
  // Declared after reports_ and before the topics: topics are destroyed first.
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<RdKafka::Topic> topic_;
  std::unique_ptr<RdKafka::Topic> labels_topic_;
};

}  // namespace

Result<std::unique_ptr<Sink>> MakeKafkaSink(const KafkaSinkOptions& options) {
  if (options.bootstrap.empty()) {
    return Status::Invalid("no Kafka bootstrap address: set KAFKA_BOOTSTRAP or --bootstrap");
  }
  if (options.topic.empty()) return Status::Invalid("no topic: set KAFKA_TOPIC or --topic");
  if (options.compression != "lz4" && options.compression != "zstd" &&
      options.compression != "none" && options.compression != "snappy" &&
      options.compression != "gzip") {
    return Status::Invalid("--compression must be lz4, zstd, snappy, gzip or none, got '" +
                           options.compression + "'");
  }
  auto sink = std::make_unique<KafkaSink>();
  VIGIL_RETURN_NOT_OK(sink->Init(options));
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace vigil::sim
