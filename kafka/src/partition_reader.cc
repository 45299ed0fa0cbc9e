// PartitionReader on librdkafka's C API, with a thread that ends each range's fetching.
//
// librdkafka has no stop offset: once assigned, a partition is fetched until it is
// unassigned or the queue passes its thresholds. A read task routes each piece it takes
// (~0.25 s per 200,000 events), and meanwhile the fetcher ran on: a [0, 250000) range
// was fetched up to offset ~680,000 (debug=fetch), every message past the end
// decompressed, queued and then purged. So each reader has a taker thread that moves
// messages from librdkafka's queue into `pending_` as they arrive and drops the
// assignment as soon as the range's last message is among them; the reading thread
// takes from `pending_`. Messages already taken stay valid after the unassign.
//
// librdkafka calls (consume, assign) never overlap between the two threads: Seek and
// Release first stop the taker (StopTaking wakes it out of its blocking consume with
// rd_kafka_queue_yield and waits until it is parked), so a message taken under an old
// assignment is never mistaken for one of the next range.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "consumer.h"
#include "vigil/kafka/range_reader.h"

namespace vigil::kafka {
namespace {

using internal::KafkaHandle;
using internal::PartitionList;

constexpr int64_t kMaxBytes = int64_t{1} << 30;

class PartitionReaderImpl final : public PartitionReader {
 public:
  PartitionReaderImpl(KafkaHandle rk, std::string topic, int32_t partition)
      : rk_(std::move(rk)), queue_(rd_kafka_queue_get_consumer(rk_.get())), topic_(std::move(topic)),
        partition_(partition), taker_([this] { TakeLoop(); }) {}

  ~PartitionReaderImpl() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      quit_ = true;
      taking_ = false;
    }
    rd_kafka_queue_yield(queue_);
    cv_.notify_all();
    taker_.join();
    DropPending();
    rd_kafka_queue_destroy(queue_);
  }

  Status Seek(int64_t start, int64_t end) override {
    if (start < 0 || end < start) {
      return Status::Invalid(Where() + ": bad range [" + std::to_string(start) + ", " +
                             std::to_string(end) + ")");
    }
    // A reader fetches only while it reads a range: the taker drops the assignment at
    // the range's end, so an idle reader neither fills its queue nor keeps a position
    // that another worker's reader has since moved past. Keeping it was measured worse:
    // when librdkafka 2.0's fetcher had stopped on a full queue, the first fetch after a
    // new assign came ~1 s late; assign-on-seek costs ~10-20 ms.
    seeked_ = true;
    next_ = start;
    end_ = end;
    if (start == end) {
      Release();
      return Status::OK();
    }
    StopTaking();  // the new assignment replaces the old one
    DropPending();
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition_)->offset = start;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk_.get(), list.get());
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Release();
      return Status::IOError(Where() + ": cannot assign at offset " + std::to_string(start) + ": " +
                             rd_kafka_err2str(e));
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      assigned_ = true;
      taking_ = true;
      range_end_ = end;
    }
    cv_.notify_all();
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
    std::vector<rd_kafka_message_t*> taken;
    while (next_ < end_ && out.size() < max_messages && bytes < max_bytes) {
      // Holding messages already, return them rather than wait for more.
      VIGIL_RETURN_NOT_OK(Take(max_messages - out.size(), max_bytes - bytes, out.size() == 0, deadline,
                               timeout, &taken));
      if (taken.empty()) break;
      Status st = Status::OK();
      size_t i = 0;
      for (; i < taken.size() && st.ok() && next_ < end_; ++i) {
        st = Consume(taken[i], &out, &bytes, &any_null);
      }
      for (; i < taken.size(); ++i) rd_kafka_message_destroy(taken[i]);  // past an error or the end
      taken.clear();
      if (!st.ok()) {
        Release();  // the next Seek assigns again
        return st;
      }
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

  // Move up to `max_messages` held messages (fewer once their values pass `max_bytes`)
  // into `taken`. If none is held and `may_wait`, wait for the taker, at most until `deadline`.
  Status Take(int64_t max_messages, int64_t max_bytes, bool may_wait,
              std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds timeout,
              std::vector<rd_kafka_message_t*>* taken) {
    std::unique_lock<std::mutex> lk(mu_);
    auto ready = [&] { return !pending_.empty() || !taking_ || !queue_error_.empty(); };
    if (pending_.empty() && may_wait && !cv_.wait_until(lk, deadline, ready)) {
      return Status::IOError(Where() + ": no message at offset " + std::to_string(next_) + " within " +
                             std::to_string(timeout.count()) + " ms (range ends at " + std::to_string(end_) + ")");
    }
    if (pending_.empty()) {
      if (!may_wait) return Status::OK();
      if (!queue_error_.empty()) {
        std::string e = std::move(queue_error_);
        queue_error_.clear();
        lk.unlock();
        Release();
        return Status::IOError(Where() + ": cannot read the consumer queue: " + e);
      }
      // Cannot happen: the taker stops only at the range's end, an error, or its cap,
      // each with messages left to read.
      return Status::IOError(Where() + ": the range stopped early at offset " + std::to_string(next_) +
                             " (range ends at " + std::to_string(end_) + ")");
    }
    int64_t n = 0, bytes = 0;
    while (!pending_.empty() && n < max_messages && bytes < max_bytes) {
      rd_kafka_message_t* m = pending_.front();
      pending_.pop_front();
      held_bytes_ -= static_cast<int64_t>(m->len);
      taken->push_back(m);
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++n, bytes += static_cast<int64_t>(m->len);
    }
    bool resume = held_bytes_ < kMaxHeldBytes && taking_;
    lk.unlock();
    if (resume) cv_.notify_all();  // the taker may wait for room
    return Status::OK();
  }

  // One taken message: append it, skip it, or turn it into the error to report.
  Status Consume(rd_kafka_message_t* m, MessageColumns* out, int64_t* bytes, bool* any_null) {
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(m, rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The log ends at m->offset: the rest of the range is gone or not yet written.
      if (m->offset >= end_) next_ = end_;  // the range's tail was all gaps
      return Status::OK();
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        return Status::OutOfRange(Where() + ": offset " + std::to_string(next_) +
                                  " is no longer in Kafka (retention or truncation): data loss: " +
                                  rd_kafka_message_errstr(m));
      }
      return Status::IOError(Where() + " at offset " + std::to_string(next_) + ": " + rd_kafka_message_errstr(m));
    }
    if (m->offset < next_) return Status::OK();  // before the range (cannot happen after assign)
    if (m->offset >= end_) {                      // a gap ran to the range's end
      next_ = end_;
      return Status::OK();
    }
    Append(m, out, any_null);
    *bytes += static_cast<int64_t>(m->len);
    next_ = m->offset + 1;
    return Status::OK();
  }

  // The taker thread: while a range is being read, move what arrives into pending_.
  void TakeLoop() {
    std::vector<rd_kafka_message_t*> got(kBatch);
    std::unique_lock<std::mutex> lk(mu_);
    while (true) {
      cv_.wait(lk, [&] { return quit_ || (taking_ && held_bytes_ < kMaxHeldBytes); });
      if (quit_) return;
      in_consume_ = true;
      lk.unlock();
      // Block for the first message (rd_kafka_queue_yield ends the wait), then take
      // what is queued behind it without waiting.
      size_t n = 0;
      ssize_t more = 0;
      if (rd_kafka_message_t* first = rd_kafka_consume_queue(queue_, 100)) {
        got[n++] = first;
        more = rd_kafka_consume_batch_queue(queue_, 0, got.data() + 1, kBatch - 1);
        if (more > 0) n += static_cast<size_t>(more);
      }
      lk.lock();
      in_consume_ = false;
      if (!taking_) {  // Seek or Release is waiting: these belong to the old assignment
        for (size_t i = 0; i < n; ++i) rd_kafka_message_destroy(got[i]);
        cv_.notify_all();
        continue;
      }
      if (more < 0) {
        queue_error_ = rd_kafka_err2str(rd_kafka_last_error());
        taking_ = false;
      }
      for (size_t i = 0; i < n; ++i) {
        rd_kafka_message_t* m = got[i];
        pending_.push_back(m);
        held_bytes_ += static_cast<int64_t>(m->len);
        if (!taking_) continue;
        bool at_end = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF
                          ? m->offset >= range_end_
                          : m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset >= range_end_ - 1;
        if (at_end) {
          rd_kafka_assign(rk_.get(), nullptr);  // the reading thread is not in librdkafka now
          assigned_ = false;
          taking_ = false;
        } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          taking_ = false;  // the reading thread reports it and releases
        }
      }
      if (n > 0 || !taking_) cv_.notify_all();
    }
  }

  // Stop the taker and wait until it is out of librdkafka.
  void StopTaking() {
    std::unique_lock<std::mutex> lk(mu_);
    taking_ = false;
    while (in_consume_) {
      lk.unlock();
      rd_kafka_queue_yield(queue_);
      lk.lock();
      cv_.wait_for(lk, std::chrono::milliseconds(5), [&] { return !in_consume_; });
    }
  }

  // Stop fetching until the next range (see Seek): drop the assignment and what is held.
  void Release() {
    StopTaking();
    DropPending();
    std::lock_guard<std::mutex> lk(mu_);
    if (assigned_) rd_kafka_assign(rk_.get(), nullptr);
    assigned_ = false;
  }

  void DropPending() {
    std::lock_guard<std::mutex> lk(mu_);
    for (rd_kafka_message_t* m : pending_) rd_kafka_message_destroy(m);
    pending_.clear();
    held_bytes_ = 0;
    queue_error_.clear();
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

  static constexpr size_t kBatch = 4096;                        // messages taken from the queue per call
  static constexpr int64_t kMaxHeldBytes = int64_t{128} << 20;  // values held in pending_, at most

  KafkaHandle rk_;
  rd_kafka_queue_t* queue_;  // the consumer's queue; released before rk_ closes
  std::string topic_;
  int32_t partition_;

  // The reading thread's own.
  int64_t avg_bytes_ = 256;  // value size seen last, to reserve buffers
  bool seeked_ = false;      // a range was set
  int64_t next_ = 0;
  int64_t end_ = 0;

  // Shared with the taker, under mu_.
  std::mutex mu_;
  std::condition_variable cv_;                 // pending_ grew, the taker stopped, or room was made
  std::deque<rd_kafka_message_t*> pending_;    // taken from the queue, not yet read
  int64_t held_bytes_ = 0;                     // values in pending_
  std::string queue_error_;                    // the consumer queue failed (taker stopped)
  int64_t range_end_ = 0;                      // end_, for the taker
  bool assigned_ = false;                      // the partition is assigned (fetching)
  bool taking_ = false;                        // the taker should take from the queue
  bool in_consume_ = false;                    // the taker is in a librdkafka call
  bool quit_ = false;

  std::thread taker_;  // last: starts once the members above exist
};

}  // namespace

Result<std::unique_ptr<PartitionReader>> PartitionReader::Make(const Settings& settings, std::string topic,
                                                               int32_t partition) {
  if (topic.empty()) return Status::Invalid("Kafka topic: empty name");
  if (partition < 0) return Status::Invalid("Kafka partition: must be >= 0, got " + std::to_string(partition));
  VIGIL_ASSIGN_OR_RAISE(KafkaHandle rk, internal::NewConsumer(settings));
  return std::unique_ptr<PartitionReader>(new PartitionReaderImpl(std::move(rk), std::move(topic), partition));
}

}  // namespace vigil::kafka
