// The anomaly record writer: see include/vigil/record/anomaly_json.h.

#include "vigil/record/anomaly_json.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "vigil/event/decoder.h"  // FormatRfc3339Ms

namespace vigil {
namespace {

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

void AppendKey(std::string_view key, std::string* out) {
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

void AppendNullableString(const StringColumnView& c, int64_t i, std::string* out) {
  if (c.IsNull(i)) {
    out->append("null");
  } else {
    AppendJsonString(c.Get(i), out);
  }
}

// "a,b" -> ["a","b"]; empty names are left out (so "" and null are []).
void AppendNameList(const StringColumnView& c, int64_t i, std::string* out) {
  out->push_back('[');
  if (!c.IsNull(i)) {
    std::string_view s = c.Get(i);
    bool first = true;
    while (!s.empty()) {
      size_t comma = s.find(',');
      std::string_view name = s.substr(0, comma);
      if (!name.empty()) {
        if (!first) out->push_back(',');
        AppendJsonString(name, out);
        first = false;
      }
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
    }
  }
  out->push_back(']');
}

bool Covers(const StringColumnView& c, int64_t n) {
  return n == 0 || (c.data != nullptr && c.offsets != nullptr && c.n >= n);
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  // 1 for the bytes that need an escape: control characters, '"' and '\\'.
  static constexpr auto kEscape = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[c] = 1;
    t['"'] = 1;
    t['\\'] = 1;
    return t;
  }();
  out->push_back('"');
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    const char* run = p;  // the next run of characters that need no escape
    while (p < end && !kEscape[static_cast<unsigned char>(*p)]) ++p;
    out->append(run, p - run);
    if (p == end) break;
    const unsigned char ch = static_cast<unsigned char>(*p++);
    switch (ch) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[ch >> 4], kHex[ch & 15]};
        out->append(esc, 6);
      }
    }
  }
  out->push_back('"');
}

void AppendJsonDouble(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
  if (std::memchr(buf, '.', end - buf) == nullptr && std::memchr(buf, 'e', end - buf) == nullptr) {
    out->append(".0");
  }
}

Status WriteAnomalyJsonLines(const AnomalyColumns& c, const RecordVersions& versions,
                             std::string* out, std::vector<int64_t>* line_ends) {
  const int64_t n = c.n;
  if (n < 0) return Status::Invalid("anomaly records: negative row count");
  for (const StringColumnView* col : {&c.anomaly_id, &c.event_id, &c.device_id, &c.metric, &c.detectors,
                                      &c.explanation, &c.kafka_topic}) {
    if (!Covers(*col, n)) return Status::Invalid("anomaly records: a string column is missing or short");
  }
  for (const void* col : {static_cast<const void*>(c.event_time_ms), static_cast<const void*>(c.value),
                          static_cast<const void*>(c.expected_low), static_cast<const void*>(c.expected_high),
                          static_cast<const void*>(c.score), static_cast<const void*>(c.severity),
                          static_cast<const void*>(c.kafka_partition), static_cast<const void*>(c.kafka_offset),
                          static_cast<const void*>(c.kafka_timestamp_ms),
                          static_cast<const void*>(c.detected_at_ms)}) {
    if (n > 0 && col == nullptr) return Status::Invalid("anomaly records: a numeric column is missing");
  }
  std::string pipeline, detector;
  AppendJsonString(versions.pipeline_version, &pipeline);
  AppendJsonString(versions.detector_version, &detector);
  // Room for every line at once: the fixed part (~420 bytes of keys, numbers and
  // timestamps) plus the strings, with an eighth more for escapes.
  size_t strings = 0;
  for (const StringColumnView* col : {&c.anomaly_id, &c.event_id, &c.device_id, &c.metric, &c.detectors,
                                      &c.explanation, &c.kafka_topic}) {
    if (n > 0) strings += static_cast<size_t>(col->offsets[n] - col->offsets[0]);
  }
  out->reserve(out->size() + static_cast<size_t>(n) * (480 + pipeline.size() + detector.size()) +
               strings + strings / 8);
  line_ends->reserve(line_ends->size() + static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    out->push_back('{');
    AppendKey("anomaly_id", out); AppendNullableString(c.anomaly_id, i, out);
    out->push_back(','); AppendKey("event_id", out); AppendNullableString(c.event_id, i, out);
    out->push_back(','); AppendKey("device_id", out); AppendNullableString(c.device_id, i, out);
    out->push_back(','); AppendKey("metric", out); AppendNullableString(c.metric, i, out);
    out->push_back(','); AppendKey("event_time", out);
    AppendJsonString(FormatRfc3339Ms(c.event_time_ms[i]), out);
    out->push_back(','); AppendKey("event_time_ms", out); AppendInt(c.event_time_ms[i], out);
    out->push_back(','); AppendKey("value", out); AppendJsonDouble(c.value[i], out);
    out->push_back(','); AppendKey("expected_low", out); AppendJsonDouble(c.expected_low[i], out);
    out->push_back(','); AppendKey("expected_high", out); AppendJsonDouble(c.expected_high[i], out);
    out->push_back(','); AppendKey("score", out); AppendJsonDouble(c.score[i], out);
    out->push_back(','); AppendKey("severity", out); AppendInt(c.severity[i], out);
    out->push_back(','); AppendKey("detectors", out); AppendNameList(c.detectors, i, out);
    out->push_back(','); AppendKey("explanation", out);
    if (c.explanation.IsNull(i)) {
      out->append("\"\"");
    } else {
      AppendJsonString(c.explanation.Get(i), out);
    }
    out->push_back(','); AppendKey("kafka_topic", out); AppendNullableString(c.kafka_topic, i, out);
    out->push_back(','); AppendKey("kafka_partition", out); AppendInt(c.kafka_partition[i], out);
    out->push_back(','); AppendKey("kafka_offset", out); AppendInt(c.kafka_offset[i], out);
    out->push_back(','); AppendKey("kafka_timestamp_ms", out); AppendInt(c.kafka_timestamp_ms[i], out);
    out->push_back(','); AppendKey("pipeline_version", out); out->append(pipeline);
    out->push_back(','); AppendKey("detector_version", out); out->append(detector);
    out->push_back(','); AppendKey("detected_at", out);
    AppendJsonString(FormatRfc3339Ms(c.detected_at_ms[i]), out);
    out->append("}\n");
    line_ends->push_back(static_cast<int64_t>(out->size()));
  }
  return Status::OK();
}

}  // namespace vigil
