// PartitionReader and OffsetClient on librdkafka's C API.
#include "vigil/kafka/range_reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>

namespace vigil::kafka {
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
      // fetchable: queued.min.messages exceeded"). Set so that the queue is past them only
      // when it holds more than a second of the task's work. A reader fetches only while
      // it reads a range, so this bounds one running task's buffer.
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "131072"},
  };
  return kDefaults;
}

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

constexpr int64_t kMaxBytes = int64_t{1} << 30;

class PartitionReaderImpl final : public PartitionReader {
 public:
  PartitionReaderImpl(KafkaHandle rk, std::string topic, int32_t partition)
      : rk_(std::move(rk)), queue_(rd_kafka_queue_get_consumer(rk_.get())), topic_(std::move(topic)),
        partition_(partition) {}

  ~PartitionReaderImpl() override {
    DropPending();
    rd_kafka_queue_destroy(queue_);
  }

  Status Seek(int64_t start, int64_t end) override {
    if (start < 0 || end < start) {
      return Status::Invalid(Where() + ": bad range [" + std::to_string(start) + ", " +
                             std::to_string(end) + ")");
    }
    // A reader fetches only while it reads a range: Next() drops the assignment at the
    // range's end, so an idle reader neither fills its queue nor keeps a position that
    // another worker's reader has since moved past. Keeping it was measured worse: when
    // librdkafka 2.0's fetcher had stopped on a full queue, the first fetch after a new
    // assign came ~1 s late; assign-on-seek costs ~10-20 ms.
    DropPending();
    if (start < end) {
      PartitionList list(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition_)->offset = start;
      rd_kafka_resp_err_t e = rd_kafka_assign(rk_.get(), list.get());
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Release();
        return Status::IOError(Where() + ": cannot assign at offset " + std::to_string(start) + ": " +
                               rd_kafka_err2str(e));
      }
      assigned_ = true;
    }
    seeked_ = true;
    next_ = start;
    end_ = end;
    return Status::OK();
  }

  Result<MessageColumns> Next(int64_t max_messages, int64_t max_bytes,
                              std::chrono::milliseconds timeout) override {
    MessageColumns out;
    out.value_offsets.push_back(0);
    if (!seeked_) return Status::Invalid(Where() + ": Next() before Seek()");
    // int32 value offsets: max_bytes plus one message (<= 1 GB in Kafka) must fit.
    if (max_messages < 1 || max_bytes < 1 || max_bytes > kMaxBytes) {
      return Status::Invalid(Where() + ": Next() needs max_messages >= 1 and 1 <= max_bytes <= " +
                             std::to_string(kMaxBytes));
    }
    int64_t want = std::min(max_messages, end_ - next_);
    out.offsets.reserve(want);
    out.timestamps_ms.reserve(want);
    out.value_offsets.reserve(want + 1);
    out.validity.reserve(want / 8 + 1);
    out.data.reserve(static_cast<size_t>(std::min(max_bytes, want * avg_bytes_) + 4096));
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int64_t bytes = 0;
    bool any_null = false;
    while (next_ < end_ && out.size() < max_messages && bytes < max_bytes) {
      if (pending_pos_ == pending_.size()) {
        // Holding messages already, return them rather than wait for more.
        VIGIL_RETURN_NOT_OK(Refill(deadline, timeout, /*may_wait=*/out.size() == 0));
        if (pending_.empty() && out.size() > 0) break;
        continue;
      }
      rd_kafka_message_t* m = pending_[pending_pos_++];
      std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(m, rd_kafka_message_destroy);
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // The log ends at m->offset: the rest of the range is gone or not yet written.
        if (m->offset >= end_) next_ = end_;  // the range's tail was all gaps
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Status st = Status::IOError(Where() + " at offset " + std::to_string(next_) + ": " +
                                    rd_kafka_message_errstr(m));
        if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
          st = Status::OutOfRange(Where() + ": offset " + std::to_string(next_) +
                                  " is no longer in Kafka (retention or truncation): data loss: " +
                                  rd_kafka_message_errstr(m));
        }
        Release();  // the next Seek assigns again
        return st;
      }
      if (m->offset < next_) continue;  // a message before the range (cannot happen after assign)
      if (m->offset >= end_) {          // a gap ran to the range's end; keep no stale position
        next_ = end_;
        Release();
        break;
      }
      Append(m, &out, &any_null);
      bytes += static_cast<int64_t>(m->len);
      next_ = m->offset + 1;
    }
    if (out.size() > 0) avg_bytes_ = std::max<int64_t>(1, bytes / out.size());
    if (!any_null) out.validity.clear();
    if (next_ >= end_) Release();
    return out;
  }

  const std::string& topic() const override { return topic_; }
  int32_t partition() const override { return partition_; }

 private:
  std::string Where() const { return "Kafka topic " + topic_ + " partition " + std::to_string(partition_); }

  // Take what the consumer queue holds (up to the range's end) without waiting; if it
  // holds nothing and `may_wait`, wait for one message, at most until `deadline`.
  Status Refill(std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds timeout,
                bool may_wait) {
    pending_.clear();
    pending_pos_ = 0;
    size_t ask = static_cast<size_t>(std::min<int64_t>(kBatch, std::max<int64_t>(1, end_ - next_)));
    pending_.resize(ask);
    ssize_t got = rd_kafka_consume_batch_queue(queue_, 0, pending_.data(), ask);
    if (got < 0) {
      pending_.clear();
      return Status::IOError(Where() + ": cannot read the consumer queue: " +
                             rd_kafka_err2str(rd_kafka_last_error()));
    }
    pending_.resize(static_cast<size_t>(got));
    if (got > 0 || !may_wait) return Status::OK();
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Status::IOError(Where() + ": no message at offset " + std::to_string(next_) + " within " +
                             std::to_string(timeout.count()) + " ms (range ends at " + std::to_string(end_) + ")");
    }
    // Once data flows the queue is rarely empty; the cap only bounds an idle wait.
    int wait_ms = static_cast<int>(std::min<int64_t>(
        100, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1));
    if (rd_kafka_message_t* m = rd_kafka_consume_queue(queue_, wait_ms)) pending_.push_back(m);
    return Status::OK();
  }

  // Stop fetching until the next range (see Seek): drop the assignment and what is queued.
  void Release() {
    DropPending();
    if (assigned_) rd_kafka_assign(rk_.get(), nullptr);
    assigned_ = false;
  }

  void DropPending() {
    for (size_t i = pending_pos_; i < pending_.size(); ++i) rd_kafka_message_destroy(pending_[i]);
    pending_.clear();
    pending_pos_ = 0;
  }

  static void Append(const rd_kafka_message_t* m, MessageColumns* out, bool* any_null) {
    int64_t i = out->size();
    if (i % 8 == 0) out->validity.push_back(0);
    if (m->payload != nullptr) {
      const auto* p = static_cast<const uint8_t*>(m->payload);
      out->data.insert(out->data.end(), p, p + m->len);
      out->validity.back() |= static_cast<uint8_t>(1u << (i % 8));
    } else {
      *any_null = true;
    }
    out->value_offsets.push_back(static_cast<int32_t>(out->data.size()));
    out->offsets.push_back(m->offset);
    rd_kafka_timestamp_type_t type;
    out->timestamps_ms.push_back(rd_kafka_message_timestamp(m, &type));
  }

  static constexpr int64_t kBatch = 4096;  // messages taken from the queue per call

  KafkaHandle rk_;
  rd_kafka_queue_t* queue_;  // the consumer's queue; released before rk_ closes
  std::vector<rd_kafka_message_t*> pending_;  // taken from the queue, not yet read
  size_t pending_pos_ = 0;
  int64_t avg_bytes_ = 256;  // value size seen last, to reserve buffers
  std::string topic_;
  int32_t partition_;
  bool seeked_ = false;   // a range was set
  bool assigned_ = false; // the partition is assigned (fetching) from the last Seek
  int64_t next_ = 0;
  int64_t end_ = 0;
};

class OffsetClientImpl final : public OffsetClient {
 public:
  explicit OffsetClientImpl(KafkaHandle rk) : rk_(std::move(rk)) {}

  Result<std::vector<int32_t>> Partitions(const std::string& topic, std::chrono::milliseconds timeout) override {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr);
    if (t == nullptr) return Status::Invalid("Kafka topic " + topic + ": bad name");
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk_.get(), 0, t, &md, static_cast<int>(timeout.count()));
    rd_kafka_topic_destroy(t);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::IOError("Kafka topic " + topic + ": metadata request failed: " + rd_kafka_err2str(e));
    }
    std::vector<int32_t> ids;
    Status st;
    for (int i = 0; i < md->topic_cnt; ++i) {
      const rd_kafka_metadata_topic_t& mt = md->topics[i];
      if (topic != mt.topic) continue;
      if (mt.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        st = Status::NotFound("Kafka topic " + topic + " does not exist");
      } else if (mt.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        st = Status::IOError("Kafka topic " + topic + ": " + rd_kafka_err2str(mt.err));
      }
      for (int p = 0; p < mt.partition_cnt; ++p) ids.push_back(mt.partitions[p].id);
    }
    rd_kafka_metadata_destroy(md);
    if (!st.ok()) return st;
    if (ids.empty()) return Status::NotFound("Kafka topic " + topic + " does not exist (no partitions)");
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  Result<std::vector<Watermarks>> QueryWatermarks(const std::string& topic, const std::vector<int32_t>& partitions,
                                                  std::chrono::milliseconds timeout) override {
    std::vector<Watermarks> out;
    out.reserve(partitions.size());
    for (int32_t p : partitions) {
      Watermarks w;
      rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk_.get(), topic.c_str(), p, &w.low, &w.high,
                                                              static_cast<int>(timeout.count()));
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::IOError("Kafka topic " + topic + " partition " + std::to_string(p) +
                               ": cannot read its offsets: " + rd_kafka_err2str(e));
      }
      out.push_back(w);
    }
    return out;
  }

 private:
  KafkaHandle rk_;
};

}  // namespace

Result<std::unique_ptr<PartitionReader>> PartitionReader::Make(const Settings& settings, std::string topic,
                                                               int32_t partition) {
  if (topic.empty()) return Status::Invalid("Kafka topic: empty name");
  if (partition < 0) return Status::Invalid("Kafka partition: must be >= 0, got " + std::to_string(partition));
  VIGIL_ASSIGN_OR_RAISE(KafkaHandle rk, NewConsumer(settings));
  return std::unique_ptr<PartitionReader>(new PartitionReaderImpl(std::move(rk), std::move(topic), partition));
}

Result<std::unique_ptr<OffsetClient>> OffsetClient::Make(const Settings& settings) {
  VIGIL_ASSIGN_OR_RAISE(KafkaHandle rk, NewConsumer(settings));
  return std::unique_ptr<OffsetClient>(new OffsetClientImpl(std::move(rk)));
}

Result<std::vector<int64_t>> CapEndOffsets(const std::vector<int64_t>& start, const std::vector<int64_t>& latest,
                                           int64_t max_total) {
  if (start.size() != latest.size()) {
    return Status::Invalid("CapEndOffsets: " + std::to_string(start.size()) + " start offsets for " +
                           std::to_string(latest.size()) + " partitions");
  }
  if (max_total < 1) return Status::Invalid("CapEndOffsets: max_total must be >= 1");
  long double backlog = 0;
  for (size_t i = 0; i < start.size(); ++i) {
    if (start[i] > latest[i]) {
      return Status::Invalid("CapEndOffsets: partition #" + std::to_string(i) + " starts at " +
                             std::to_string(start[i]) + ", after its latest offset " + std::to_string(latest[i]));
    }
    backlog += static_cast<long double>(latest[i] - start[i]);
  }
  std::vector<int64_t> end = latest;
  if (backlog <= static_cast<long double>(max_total)) return end;
  for (size_t i = 0; i < start.size(); ++i) {
    int64_t lag = latest[i] - start[i];
    if (lag == 0) continue;
    auto share = static_cast<int64_t>(static_cast<long double>(max_total) * lag / backlog);
    end[i] = start[i] + std::clamp<int64_t>(share, 1, lag);
  }
  return end;
}

}  // namespace vigil::kafka
