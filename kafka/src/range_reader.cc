// OffsetClient on librdkafka's C API, and CapEndOffsets (PartitionReader: partition_reader.cc).
#include "vigil/kafka/range_reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>

#include "consumer.h"

namespace vigil::kafka {
namespace {

using internal::KafkaHandle;

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

Result<std::unique_ptr<OffsetClient>> OffsetClient::Make(const Settings& settings) {
  VIGIL_ASSIGN_OR_RAISE(KafkaHandle rk, internal::NewConsumer(settings));
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
