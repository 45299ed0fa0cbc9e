// The binding of vigil/record/anomaly_json.h. Marshalling only.
//
//   blob, ends = _core.anomaly_json_lines(
//       {"anomaly_id": (data, offsets, validity), ...},    # the string columns (vigil.arrow.binary_buffers)
//       {"event_time_ms": int64 array, "value": float64 array, ...},  # the numeric columns
//       "0.1.0", "vigil-0.1.0/3f2a9c1d")
//   # line i is blob[ends[i-1]:ends[i]]
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/tuple.h>

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "marshal.h"
#include "vigil/record/anomaly_json.h"

namespace vigil::py {
namespace {

using StringBuffers = std::tuple<Bytes, Offsets32, std::optional<Bytes>>;
template <typename T>
using Array = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

StringColumnView StringColumn(const nb::dict& columns, const char* name) {
  if (!columns.contains(name)) throw StatusError{Status::Invalid(std::string("anomaly records: no column ") + name)};
  auto [data, offsets, validity] = nb::cast<StringBuffers>(columns[name]);
  if (offsets.shape(0) < 1) throw StatusError{Status::Invalid(std::string(name) + ": offsets need n + 1 entries")};
  const int64_t n = static_cast<int64_t>(offsets.shape(0)) - 1;
  const int32_t* off = offsets.data();
  if (off[0] < 0 || off[n] < off[0] || static_cast<size_t>(off[n]) > data.shape(0)) {
    throw StatusError{Status::Invalid(std::string(name) + ": offsets outside the data buffer")};
  }
  if (validity && static_cast<int64_t>(validity->shape(0)) * 8 < n) {
    throw StatusError{Status::Invalid(std::string(name) + ": validity bitmap shorter than n bits")};
  }
  static const uint8_t kEmpty = 0;
  return {data.shape(0) ? data.data() : &kEmpty, off, validity ? validity->data() : nullptr, n};
}

template <typename T>
const T* NumberColumn(const nb::dict& columns, const char* name, int64_t n) {
  if (!columns.contains(name)) throw StatusError{Status::Invalid(std::string("anomaly records: no column ") + name)};
  auto arr = nb::cast<Array<T>>(columns[name]);
  if (static_cast<int64_t>(arr.shape(0)) < n) {
    throw StatusError{Status::Invalid(std::string(name) + ": fewer values than records")};
  }
  return arr.data();
}

nb::tuple AnomalyJsonLines(const nb::dict& strings, const nb::dict& numbers, std::string_view pipeline_version,
                           std::string_view detector_version) {
  AnomalyColumns c;
  c.anomaly_id = StringColumn(strings, "anomaly_id");
  c.n = c.anomaly_id.n;
  c.event_id = StringColumn(strings, "event_id");
  c.device_id = StringColumn(strings, "device_id");
  c.metric = StringColumn(strings, "metric");
  c.detectors = StringColumn(strings, "detectors");
  c.explanation = StringColumn(strings, "explanation");
  c.kafka_topic = StringColumn(strings, "kafka_topic");
  c.event_time_ms = NumberColumn<int64_t>(numbers, "event_time_ms", c.n);
  c.value = NumberColumn<double>(numbers, "value", c.n);
  c.expected_low = NumberColumn<double>(numbers, "expected_low", c.n);
  c.expected_high = NumberColumn<double>(numbers, "expected_high", c.n);
  c.score = NumberColumn<double>(numbers, "score", c.n);
  c.severity = NumberColumn<int32_t>(numbers, "severity", c.n);
  c.kafka_partition = NumberColumn<int32_t>(numbers, "kafka_partition", c.n);
  c.kafka_offset = NumberColumn<int64_t>(numbers, "kafka_offset", c.n);
  c.kafka_timestamp_ms = NumberColumn<int64_t>(numbers, "kafka_timestamp_ms", c.n);
  c.detected_at_ms = NumberColumn<int64_t>(numbers, "detected_at_ms", c.n);
  std::string out;
  std::vector<int64_t> ends;
  {
    nb::gil_scoped_release release;
    Check(WriteAnomalyJsonLines(c, {pipeline_version, detector_version}, &out, &ends));
  }
  return nb::make_tuple(nb::bytes(out.data(), out.size()), ToNumpy(std::move(ends)));
}

}  // namespace

void BindRecords(nb::module_& m) {
  using namespace nb::literals;  // NOLINT: the binding's argument names
  m.def("anomaly_json_lines", &AnomalyJsonLines, "strings"_a, "numbers"_a, "pipeline_version"_a,
        "detector_version"_a,
        "Format anomaly records as JSON lines in C++; return (bytes, int64 end offset of each line).");
}

}  // namespace vigil::py
