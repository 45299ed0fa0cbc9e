// vigil/record/anomaly_json.h: the sink's anomaly records as JSON lines.
//
// The streaming job's S3 objects hold one JSON object per anomaly, one per line. The
// sink hands the owned anomalies of a micro-batch here as columns (Arrow layout, read in
// place) and gets the lines back in one buffer; no per-anomaly work is left in Python.
//
//   vigil::AnomalyColumns c = ...;             // views of the batch's columns, n rows
//   std::string out; std::vector<int64_t> ends;
//   VIGIL_RETURN_NOT_OK(vigil::WriteAnomalyJsonLines(c, versions, &out, &ends));
//   // line i is out[ends[i-1], ends[i]) with its '\n'
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

/// \brief A column of UTF-8 strings in Arrow's binary layout (validity may be null: all valid).
struct StringColumnView {
  const uint8_t* data = nullptr;
  const int32_t* offsets = nullptr;  ///< n + 1 entries
  const uint8_t* validity = nullptr;
  int64_t n = 0;

  bool IsNull(int64_t i) const { return validity != nullptr && !((validity[i >> 3] >> (i & 7)) & 1); }
  std::string_view Get(int64_t i) const {
    return {reinterpret_cast<const char*>(data) + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i])};
  }
};

/// \brief The columns of n anomaly records. Doubles that are not finite (NaN for a null,
/// an open side of a range) are written as null.
struct AnomalyColumns {
  int64_t n = 0;
  StringColumnView anomaly_id, event_id, device_id, metric;
  StringColumnView detectors;    ///< comma-separated names, written as a JSON array
  StringColumnView explanation;  ///< JSON text, written as a JSON string
  StringColumnView kafka_topic;
  const int64_t* event_time_ms = nullptr;
  const double* value = nullptr;
  const double* expected_low = nullptr;
  const double* expected_high = nullptr;
  const double* score = nullptr;
  const int32_t* severity = nullptr;
  const int32_t* kafka_partition = nullptr;
  const int64_t* kafka_offset = nullptr;
  const int64_t* kafka_timestamp_ms = nullptr;
  const int64_t* detected_at_ms = nullptr;
};

/// \brief The versions every record carries.
struct RecordVersions {
  std::string_view pipeline_version;
  std::string_view detector_version;
};

/// \brief Append one JSON line per record (keys in the record's documented order) to
/// *out and its end offset in *out to *line_ends. Invalid if a column is missing or
/// shorter than n.
Status WriteAnomalyJsonLines(const AnomalyColumns& columns, const RecordVersions& versions,
                             std::string* out, std::vector<int64_t>* line_ends);

/// \brief Append `s` to *out as a JSON string: quotes, `\"`, `\\`, `\n`, `\r`, `\t`, `\b`,
/// `\f`, other control characters as `\u00XX`; everything else as is (UTF-8).
void AppendJsonString(std::string_view s, std::string* out);

/// \brief Append a double as JSON: the shortest text that reads back to it, with ".0"
/// on integral values (as Python writes floats); null when not finite.
void AppendJsonDouble(double v, std::string* out);

}  // namespace vigil
