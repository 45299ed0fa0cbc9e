// JSON events -> EventBatch: a fast path for the usual events, simdjson On-Demand for the rest.
//
// Every value first goes to internal::FastParser (fast_parse_internal.h), which
// accepts events in a strict JSON subset and declines everything else. A
// declined value, or one that breaks a limit, is decoded with simdjson, which
// accepts it or gives the typed reject: only this path rejects.
//
// One simdjson parser is reused for every document. simdjson needs
// SIMDJSON_PADDING readable bytes after a document; values inside an Arrow data
// buffer are followed by the next values, so only the last few documents of a
// buffer are copied into a reused scratch buffer.
#include "vigil/event/decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "vigil/event/decoder_internal.h"
#include "vigil/event/fast_parse_internal.h"

namespace vigil {

namespace od = simdjson::ondemand;

namespace internal {
bool CpuHasAvx2();  // event_batch.cc: compiled without -march, so the check is real
}  // namespace internal

Status DecoderOptions::Validate() const {
  if (max_payload_bytes <= 0) return Status::Invalid("DecoderOptions.max_payload_bytes must be > 0");
  if (max_metrics <= 0) return Status::Invalid("DecoderOptions.max_metrics must be > 0");
  if (max_id_bytes <= 0) return Status::Invalid("DecoderOptions.max_id_bytes must be > 0");
  if (min_ts_ms >= max_ts_ms) return Status::Invalid("DecoderOptions.min_ts_ms must be < max_ts_ms");
  if (schema_versions.empty()) return Status::Invalid("DecoderOptions.schema_versions must not be empty");
  return Status::OK();
}

namespace {

// Key comparison with a compile-time length, so the compare is inlined.
template <size_t N>
inline bool Is(std::string_view key, const char (&literal)[N]) {
  return key.size() == N - 1 && std::memcmp(key.data(), literal, N - 1) == 0;
}

struct Pending {
  std::string_view event_id, device_id, device_class;
  int64_t ts_ms = 0;
  int64_t schema_version = 1;
  bool has_event_id = false, has_device_id = false, has_ts = false, has_metrics = false;
  std::vector<std::pair<std::string_view, double>> metrics;
};

class DecoderImpl final : public Decoder {
 public:
  DecoderImpl(DecoderOptions o, bool fast_path) : Decoder(std::move(o)), fast_path_(fast_path) {
    pending_.metrics.reserve(64);
  }

  Status Decode(const uint8_t* data, const int32_t* offsets, int64_t n, EventBatch* out,
                std::vector<Reject>* rejects, const uint8_t* validity) override {
    return DecodeImpl(data, offsets, n, out, rejects, validity);
  }
  Status Decode(const uint8_t* data, const int64_t* offsets, int64_t n, EventBatch* out,
                std::vector<Reject>* rejects, const uint8_t* validity) override {
    return DecodeImpl(data, offsets, n, out, rejects, validity);
  }

  Status DecodeRefs(const ValueRef* values, int64_t n, EventBatch* out, std::vector<Reject>* rejects) override {
    if (n < 0) return Status::Invalid("DecodeRefs: negative event count");
    if (n > 0 && values == nullptr) return Status::Invalid("DecodeRefs: values is null");
    if (n > static_cast<int64_t>(UINT32_MAX)) return Status::Invalid("DecodeRefs: more than 2^32 events");
    for (int64_t k = 0; k < n; ++k) {
      if (values[k].data != nullptr && values[k].readable < values[k].size) {
        return Status::Invalid("DecodeRefs: value " + std::to_string(k) + " has readable < size");
      }
    }
    Begin(out, rejects);
    for (int64_t k = 0; k < n; ++k) {
      const uint32_t index = static_cast<uint32_t>(k);
      const ValueRef& v = values[k];
      if (v.data == nullptr) {
        rejects->push_back({index, RejectReason::kNullInput, "null value"});
        continue;
      }
      DecodeValue(reinterpret_cast<const char*>(v.data), v.size, v.readable, index, rejects);
    }
    *out = builder_.Finish();
    return Status::OK();
  }

  Status DecodeLines(std::string_view text, EventBatch* out, std::vector<Reject>* rejects) override {
    Begin(out, rejects);
    const char* base = text.data();
    const size_t size = text.size();
    size_t pos = 0;
    uint32_t line = 0;
    while (pos < size) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = size;
      size_t b = pos, e = end;
      while (b < e && (base[b] == ' ' || base[b] == '\t' || base[b] == '\r')) ++b;
      while (e > b && (base[e - 1] == ' ' || base[e - 1] == '\t' || base[e - 1] == '\r')) --e;
      if (e > b) DecodeValue(base + b, e - b, size - b, line, rejects);
      pos = end + 1;
      ++line;
    }
    *out = builder_.Finish();
    return Status::OK();
  }

 private:
  void Begin(EventBatch* out, std::vector<Reject>* rejects) {
    builder_.Reset(std::move(*out));
    rejects->clear();
    std::fill(last_ids_.begin(), last_ids_.end(), UINT32_MAX);  // a new dictionary
  }

  template <typename Offset>
  Status DecodeImpl(const uint8_t* data, const Offset* offsets, int64_t n, EventBatch* out,
                    std::vector<Reject>* rejects, const uint8_t* validity) {
    if (n < 0) return Status::Invalid("Decode: negative event count");
    if (n > 0 && offsets == nullptr) return Status::Invalid("Decode: offsets is null");
    if (n > static_cast<int64_t>(UINT32_MAX)) return Status::Invalid("Decode: more than 2^32 events");
    for (int64_t i = 0; i < n; ++i) {
      if (offsets[i] < 0 || offsets[i + 1] < offsets[i]) {
        return Status::Invalid("Decode: offsets not non-decreasing at index " + std::to_string(i));
      }
    }
    if (n > 0 && offsets[n] > offsets[0] && data == nullptr) return Status::Invalid("Decode: data is null");
    Begin(out, rejects);
    const int64_t end_of_data = n > 0 ? static_cast<int64_t>(offsets[n]) : 0;
    const char* base = reinterpret_cast<const char*>(data);
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t index = static_cast<uint32_t>(i);
      if (validity != nullptr && !((validity[i >> 3] >> (i & 7)) & 1)) {
        rejects->push_back({index, RejectReason::kNullInput, "null value"});
        continue;
      }
      const int64_t b = offsets[i], e = offsets[i + 1];
      DecodeValue(base + b, static_cast<size_t>(e - b), static_cast<size_t>(end_of_data - b), index, rejects);
    }
    *out = builder_.Finish();
    return Status::OK();
  }

  // p[0, len) with `readable` (>= len) bytes from p that may be read.
  void DecodeValue(const char* p, size_t len, size_t readable, uint32_t index, std::vector<Reject>* rejects) {
    if (fast_path_ && static_cast<int64_t>(len) <= options_.max_payload_bytes && fast_.Parse(p, len, readable) &&
        AppendFast(index)) {
      return;
    }
    DecodeOne(p, len, readable - len >= simdjson::SIMDJSON_PADDING, index, rejects);
  }

  // Append the fast parser's event when it is within every limit; false leaves
  // the builder as it was, for the simdjson path to decide.
  bool AppendFast(uint32_t index) {
    const internal::FastEvent& ev = fast_.event();
    const auto max_id = static_cast<size_t>(options_.max_id_bytes);
    const size_t n = ev.num_metrics;
    if (ev.event_id.empty() || ev.event_id.size() > max_id || ev.device_id.empty() || ev.device_id.size() > max_id ||
        ev.ts_ms < options_.min_ts_ms || ev.ts_ms > options_.max_ts_ms || n == 0 ||
        n > static_cast<size_t>(options_.max_metrics)) {
      return false;
    }
    const auto& versions = options_.schema_versions;
    if (ev.schema_version != versions[0] &&
        std::find(versions.begin(), versions.end(), ev.schema_version) == versions.end()) {
      return false;
    }
    // Producers repeat their metric names in the same order: compare with the
    // previous event's names before asking the builder's dictionary.
    if (metric_ids_.size() < n) {
      metric_ids_.resize(n);
      last_names_.resize(n);
      last_ids_.resize(n, UINT32_MAX);
    }
    for (size_t j = 0; j < n; ++j) {
      const std::string_view name = ev.metric_names[j];
      const std::string& last = last_names_[j];
      if (last_ids_[j] != UINT32_MAX && last.size() == name.size() &&
          internal::SameBytes(last.data(), name.data(), name.size())) {
        metric_ids_[j] = last_ids_[j];
      } else {
        metric_ids_[j] = last_ids_[j] = builder_.InternMetric(name);
        last_names_[j].assign(name);
      }
    }
    return builder_
        .AddEvent(index, ev.event_id, ev.device_id, ev.ts_ms, static_cast<int32_t>(ev.schema_version),
                  ev.device_class, {metric_ids_.data(), n}, {ev.metric_values, n})
        .ok();  // not OK for a duplicate metric, and nothing was appended
  }

  void DecodeOne(const char* p, size_t len, bool padded, uint32_t index, std::vector<Reject>* rejects) {
    if (static_cast<int64_t>(len) > options_.max_payload_bytes) {
      rejects->push_back({index, RejectReason::kPayloadTooLarge,
                          std::to_string(len) + " bytes > max_payload_bytes " +
                              std::to_string(options_.max_payload_bytes)});
      return;
    }
    if (!padded) {
      scratch_.resize(len + simdjson::SIMDJSON_PADDING);
      std::copy(p, p + len, scratch_.data());
      std::fill(scratch_.begin() + static_cast<std::ptrdiff_t>(len), scratch_.end(), ' ');  // deterministic padding
      p = scratch_.data();
    }
    RejectReason reason;
    std::string detail;
    if (!Parse(p, len, &reason, &detail)) {
      rejects->push_back({index, reason, std::move(detail)});
      return;
    }
    Finish(index, rejects);
  }

  // Validate pending_ and append it to the batch (or reject it).
  void Finish(uint32_t index, std::vector<Reject>* rejects) {
    RejectReason reason;
    std::string detail;
    if (!Validate(&reason, &detail)) {
      rejects->push_back({index, reason, std::move(detail)});
      return;
    }
    const Pending& ev = pending_;
    builder_.BeginEvent(index, ev.event_id, ev.device_id, ev.ts_ms, static_cast<int32_t>(ev.schema_version),
                        ev.device_class);
    for (const auto& [name, value] : ev.metrics) builder_.AddMetric(name, value);
    Status st = builder_.FinishEvent();
    if (!st.ok()) rejects->push_back({index, RejectReason::kDuplicateMetric, st.message()});
  }

  // Parse one document into pending_; false with a reason when it is unusable.
  bool Parse(const char* p, size_t len, RejectReason* reason, std::string* detail) {
    od::document doc;
    if (parser_.iterate(p, len, len + simdjson::SIMDJSON_PADDING).get(doc)) {
      *reason = RejectReason::kMalformedJson;
      *detail = "not valid JSON";
      return false;
    }
    if (!ParseDoc(doc, reason, detail)) return false;
    const char* trailing = nullptr;
    if (!doc.current_location().get(trailing)) {
      *reason = RejectReason::kMalformedJson;
      *detail = "trailing content after the object";
      return false;
    }
    return true;
  }

  template <typename Doc>
  bool ParseDoc(Doc& doc, RejectReason* reason, std::string* detail) {
    Pending& ev = pending_;
    ev = Pending{{}, {}, {}, 0, 1, false, false, false, false, std::move(ev.metrics)};
    ev.metrics.clear();
    auto fail = [&](RejectReason r, std::string d) {
      *reason = r;
      *detail = std::move(d);
      return false;
    };
    od::object obj;
    if (auto err = doc.get_object().get(obj)) {
      return fail(RejectReason::kMalformedJson, err == simdjson::INCORRECT_TYPE ? "not a JSON object"
                                                                                : simdjson::error_message(err));
    }
    for (auto field_result : obj) {
      od::field field;
      std::string_view key;
      if (std::move(field_result).get(field) || !KeyOf(field, &key)) {
        return fail(RejectReason::kMalformedJson, "malformed object");
      }
      od::value v = field.value();
      const bool is_event_id = Is(key, "event_id");
      if (is_event_id || Is(key, "device_id")) {
        std::string_view s;
        if (auto err = v.get_string().get(s)) return WrongType(err, key, "a string", reason, detail);
        (is_event_id ? ev.event_id : ev.device_id) = s;
        (is_event_id ? ev.has_event_id : ev.has_device_id) = true;
      } else if (Is(key, "ts")) {
        if (!ParseTs(v, reason, detail)) return false;
        ev.has_ts = true;
      } else if (Is(key, "metrics")) {
        if (!ParseMetrics(v, reason, detail)) return false;
        ev.has_metrics = true;
      } else if (Is(key, "schema_version")) {
        if (auto err = v.get_int64().get(ev.schema_version)) {
          return WrongType(err, key, "an integer", reason, detail);
        }
      } else if (Is(key, "tags")) {
        if (!ParseTags(v, reason, detail)) return false;
      }
    }
    return true;
  }

  // The key of a field without copying it when it has no escapes (the usual
  // case): the raw bytes up to the closing quote are the key. Keys with a
  // backslash are unescaped into the parser's string buffer.
  static bool KeyOf(od::field& field, std::string_view* out) {
    const char* raw = field.key().raw();
    const char* end = raw;
    while (*end != '"' && *end != '\\') ++end;
    if (*end == '"') {
      *out = std::string_view(raw, static_cast<size_t>(end - raw));
      return true;
    }
    return !field.unescaped_key().get(*out);
  }

  // simdjson 3.0.1 (Debian 12) misreads some numbers of more than 19 digits,
  // e.g. 0.30000000000000000004 as 0.115 (simdjson issue #2093, fixed in
  // 3.6.3): re-read those with std::from_chars, which rounds correctly, as the
  // fast path does. `raw` is the number's token (trailing spaces included).
  static void RereadLongNumber(std::string_view raw, double* x) {
    size_t end = 0, digits = 0;
    bool exponent = false;
    for (; end < raw.size(); ++end) {
      const char c = raw[end];
      if (c >= '0' && c <= '9') {
        digits += exponent ? 0 : 1;
      } else if (c == 'e' || c == 'E') {
        exponent = true;
      } else if (c != '-' && c != '+' && c != '.') {
        break;
      }
    }
    if (digits <= 19) return;
    double d;
    const std::from_chars_result r = std::from_chars(raw.data(), raw.data() + end, d);
    if (r.ec == std::errc() && r.ptr == raw.data() + end) *x = d;
  }

  static bool WrongType(simdjson::error_code err, std::string_view key, const char* want, RejectReason* reason,
                        std::string* detail) {
    if (err == simdjson::INCORRECT_TYPE) {
      *reason = RejectReason::kWrongType;
      *detail = std::string(key) + " must be " + want;
    } else {
      *reason = RejectReason::kMalformedJson;
      *detail = std::string(key) + ": " + simdjson::error_message(err);
    }
    return false;
  }

  bool ParseTs(od::value v, RejectReason* reason, std::string* detail) {
    od::json_type type;
    if (v.type().get(type)) return WrongType(simdjson::TAPE_ERROR, "ts", "", reason, detail);
    if (type == od::json_type::number) {
      int64_t ms = 0;
      const std::string_view raw = v.raw_json_token();
      if (v.get_int64().get(ms)) {
        double d = 0;
        const bool is_double = !v.get_double().get(d);
        if (is_double) RereadLongNumber(raw, &d);
        if (!is_double || !std::isfinite(d) || std::fabs(d) > 9e15) {
          *reason = RejectReason::kTimestampOutOfRange;
          *detail = "ts is not a representable epoch-millisecond number";
          return false;
        }
        ms = static_cast<int64_t>(std::floor(d));
      }
      pending_.ts_ms = ms;
      return true;
    }
    if (type == od::json_type::string) {
      std::string_view s;
      if (v.get_string().get(s)) return WrongType(simdjson::STRING_ERROR, "ts", "", reason, detail);
      Result<int64_t> ms = ParseRfc3339Ms(s);
      if (!ms.ok()) {
        *reason = RejectReason::kBadTimestamp;
        *detail = ms.status().message();
        return false;
      }
      pending_.ts_ms = *ms;
      return true;
    }
    *reason = RejectReason::kWrongType;
    *detail = "ts must be an RFC 3339 string or epoch milliseconds";
    return false;
  }

  bool ParseMetrics(od::value v, RejectReason* reason, std::string* detail) {
    od::object m;
    if (auto err = v.get_object().get(m)) return WrongType(err, "metrics", "an object", reason, detail);
    auto& out = pending_.metrics;
    for (auto field_result : m) {
      od::field field;
      std::string_view name;
      if (std::move(field_result).get(field) || !KeyOf(field, &name)) {
        return WrongType(simdjson::TAPE_ERROR, "metrics", "", reason, detail);
      }
      if (static_cast<int32_t>(out.size()) >= options_.max_metrics) {
        *reason = RejectReason::kTooManyMetrics;
        *detail = "more than max_metrics " + std::to_string(options_.max_metrics) + " metrics";
        return false;
      }
      od::value mv = field.value();
      const std::string_view raw = mv.raw_json_token();
      double x = 0;
      if (auto err = mv.get_double().get(x)) {
        const bool non_finite = err == simdjson::NUMBER_ERROR || raw.starts_with("NaN") ||
                                raw.starts_with("Infinity") || raw.starts_with("-Infinity") ||
                                raw.starts_with("nan") || raw.starts_with("inf");
        if (non_finite) {
          *reason = RejectReason::kNonFinite;
          *detail = "metrics." + std::string(name) + " is not a finite number";
          return false;
        }
        return WrongType(err, "metrics." + std::string(name), "a number", reason, detail);
      }
      RereadLongNumber(raw, &x);
      if (!std::isfinite(x)) {
        *reason = RejectReason::kNonFinite;
        *detail = "metrics." + std::string(name) + " is not a finite number";
        return false;
      }
      out.emplace_back(name, x);
    }
    return true;
  }

  bool ParseTags(od::value v, RejectReason* reason, std::string* detail) {
    od::object tags;
    if (auto err = v.get_object().get(tags)) return WrongType(err, "tags", "an object", reason, detail);
    for (auto field_result : tags) {
      od::field field;
      std::string_view key;
      if (std::move(field_result).get(field) || !KeyOf(field, &key)) {
        return WrongType(simdjson::TAPE_ERROR, "tags", "", reason, detail);
      }
      if (Is(key, "device_class")) {
        std::string_view s;
        if (auto err = field.value().get_string().get(s)) {
          return WrongType(err, "tags.device_class", "a string", reason, detail);
        }
        pending_.device_class = s;
      }
    }
    return true;
  }

  bool Validate(RejectReason* reason, std::string* detail) const {
    const Pending& ev = pending_;
    auto fail = [&](RejectReason r, std::string d) {
      *reason = r;
      *detail = std::move(d);
      return false;
    };
    if (!ev.has_event_id) return fail(RejectReason::kMissingField, "event_id is missing");
    if (!ev.has_device_id) return fail(RejectReason::kMissingField, "device_id is missing");
    if (!ev.has_ts) return fail(RejectReason::kMissingField, "ts is missing");
    if (!ev.has_metrics) return fail(RejectReason::kMissingField, "metrics is missing");
    const auto& versions = options_.schema_versions;
    if (std::find(versions.begin(), versions.end(), ev.schema_version) == versions.end()) {
      return fail(RejectReason::kUnknownSchemaVersion,
                  "schema_version " + std::to_string(ev.schema_version) + " is not accepted");
    }
    for (auto [name, s] : {std::pair{"event_id", ev.event_id}, std::pair{"device_id", ev.device_id}}) {
      if (s.empty()) return fail(RejectReason::kInvalidId, std::string(name) + " is empty");
      if (static_cast<int32_t>(s.size()) > options_.max_id_bytes) {
        return fail(RejectReason::kInvalidId, std::string(name) + " is longer than max_id_bytes " +
                                                  std::to_string(options_.max_id_bytes));
      }
    }
    if (ev.ts_ms < options_.min_ts_ms || ev.ts_ms > options_.max_ts_ms) {
      return fail(RejectReason::kTimestampOutOfRange,
                  "ts " + std::to_string(ev.ts_ms) + " ms is outside [" + std::to_string(options_.min_ts_ms) +
                      ", " + std::to_string(options_.max_ts_ms) + "]");
    }
    if (ev.metrics.empty()) return fail(RejectReason::kEmptyMetrics, "metrics is empty");
    return true;
  }

  bool fast_path_;
  internal::FastParser fast_;
  std::vector<uint32_t> metric_ids_;        // of the event being appended
  std::vector<std::string> last_names_;     // the previous fast event's metric names
  std::vector<uint32_t> last_ids_;          // and their ids (UINT32_MAX: none)
  od::parser parser_;
  std::string scratch_;
  EventBatchBuilder builder_;
  Pending pending_;
};

}  // namespace

Result<std::unique_ptr<Decoder>> Decoder::Make(const DecoderOptions& options) {
  return internal::MakeDecoder(options, /*fast_path=*/true);
}

Result<std::unique_ptr<Decoder>> internal::MakeDecoder(const DecoderOptions& options, bool fast_path) {
  VIGIL_RETURN_NOT_OK(options.Validate());
#if defined(VIGIL_DECODER_NEEDS_AVX2) && (defined(__x86_64__) || defined(__i386__))
  if (!internal::CpuHasAvx2()) {
    return Status::Unsupported(
        "the JSON decoder was built for Haswell (AVX2, PCLMUL) but this CPU lacks it; "
        "rebuild with -DVIGIL_SIMD_ARCH=");
  }
#endif
  return std::unique_ptr<Decoder>(std::make_unique<DecoderImpl>(options, fast_path));
}

}  // namespace vigil
