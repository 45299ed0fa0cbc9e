// The binding of vigil/kafka/range_reader.h. Marshalling only.
//
//   r = _core.KafkaPartitionReader([("bootstrap.servers", "127.0.0.1:9092")], "events", 0)
//   r.seek(1000, 6000)
//   data, value_offsets, validity, offsets, timestamps_ms = r.next(100_000, 8 << 20, 30_000)
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "marshal.h"
#include "vigil/kafka/range_reader.h"

namespace vigil::py {
namespace {

using kafka::OffsetClient;
using kafka::PartitionReader;
using kafka::Settings;
using std::chrono::milliseconds;

class PyPartitionReader {
 public:
  PyPartitionReader(const Settings& settings, std::string topic, int32_t partition)
      : reader_(Unwrap(PartitionReader::Make(settings, std::move(topic), partition))) {}

  void Seek(int64_t start, int64_t end) { Check(reader_->Seek(start, end)); }

  nb::tuple Next(int64_t max_messages, int64_t max_bytes, int64_t timeout_ms) {
    Result<kafka::MessageColumns> r = Status::Internal("not read");
    {
      nb::gil_scoped_release release;
      r = reader_->Next(max_messages, max_bytes, milliseconds(timeout_ms));
    }
    kafka::MessageColumns cols = Unwrap(std::move(r));
    nb::object validity = nb::none();
    if (!cols.validity.empty()) validity = nb::cast(ToNumpy(std::move(cols.validity)));
    return nb::make_tuple(ToNumpy(std::move(cols.data)), ToNumpy(std::move(cols.value_offsets)), validity,
                          ToNumpy(std::move(cols.offsets)), ToNumpy(std::move(cols.timestamps_ms)));
  }

  const std::string& topic() const { return reader_->topic(); }
  int32_t partition() const { return reader_->partition(); }

 private:
  std::unique_ptr<PartitionReader> reader_;
};

class PyOffsetClient {
 public:
  explicit PyOffsetClient(const Settings& settings) : client_(Unwrap(OffsetClient::Make(settings))) {}

  std::vector<int32_t> Partitions(const std::string& topic, int64_t timeout_ms) {
    Result<std::vector<int32_t>> r = Status::Internal("not read");
    {
      nb::gil_scoped_release release;
      r = client_->Partitions(topic, milliseconds(timeout_ms));
    }
    return Unwrap(std::move(r));
  }

  std::pair<std::vector<int64_t>, std::vector<int64_t>> Watermarks(const std::string& topic,
                                                                   const std::vector<int32_t>& partitions,
                                                                   int64_t timeout_ms) {
    Result<std::vector<kafka::Watermarks>> r = Status::Internal("not read");
    {
      nb::gil_scoped_release release;
      r = client_->QueryWatermarks(topic, partitions, milliseconds(timeout_ms));
    }
    std::pair<std::vector<int64_t>, std::vector<int64_t>> out;
    for (const kafka::Watermarks& w : Unwrap(std::move(r))) {
      out.first.push_back(w.low);
      out.second.push_back(w.high);
    }
    return out;
  }

 private:
  std::unique_ptr<OffsetClient> client_;
};

}  // namespace

void BindKafka(nb::module_& m) {
  using namespace nb::literals;  // NOLINT: the binding's argument names
  nb::class_<PyPartitionReader>(m, "KafkaPartitionReader",
                                "Reads [start, end) offset ranges of one Kafka topic partition as columns.")
      .def(nb::init<const Settings&, std::string, int32_t>(), "settings"_a, "topic"_a, "partition"_a)
      .def("seek", &PyPartitionReader::Seek, "start"_a, "end"_a, "Start reading the range [start, end).")
      .def("next", &PyPartitionReader::Next, "max_messages"_a, "max_bytes"_a, "timeout_ms"_a,
           "Return (data uint8, value_offsets int32, validity uint8 or None, offsets int64, timestamps_ms "
           "int64) of the range's next messages; empty at its end.")
      .def_prop_ro("topic", &PyPartitionReader::topic)
      .def_prop_ro("partition", &PyPartitionReader::partition);

  nb::class_<PyOffsetClient>(m, "KafkaOffsetClient", "A topic's partitions and their offsets.")
      .def(nb::init<const Settings&>(), "settings"_a)
      .def("partitions", &PyOffsetClient::Partitions, "topic"_a, "timeout_ms"_a,
           "Return the topic's partition ids, ascending.")
      .def("watermarks", &PyOffsetClient::Watermarks, "topic"_a, "partitions"_a, "timeout_ms"_a,
           "Return (low, high) offset lists of the given partitions.");

  m.def("cap_end_offsets",
        [](const std::vector<int64_t>& start, const std::vector<int64_t>& latest, int64_t max_total) {
          return Unwrap(kafka::CapEndOffsets(start, latest, max_total));
        },
        "start"_a, "latest"_a, "max_total"_a,
        "Return the next micro-batch's end offsets: latest, capped at max_total messages shared by backlog.");
}

}  // namespace vigil::py
