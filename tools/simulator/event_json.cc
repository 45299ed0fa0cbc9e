#include "event_json.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "time_util.h"

namespace vigil::sim {
namespace {

constexpr std::string_view kMalformedNames[kNumMalformedKinds] = {
    "invalid_json", "missing_field", "wrong_type", "non_finite", "oversized", "bad_timestamp"};

// Which field a variant changes, chosen per message.
enum class Field { kEventId, kDeviceId, kTs, kMetrics };

struct Overrides {
  bool skip[4] = {false, false, false, false};
  std::string_view raw[4];  // written verbatim instead of the normal value
  std::string_view metric_raw;   // first metric's value, verbatim
  std::string_view tags_padding; // extra tag "padding"
};

constexpr size_t kMaxNumberChars = 64;

// Write `v` with `decimals` digits (-1: shortest form) at `p`; return the end.
char* WriteNumber(char* p, double v, int decimals) {
  static constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  // Fixed decimals by integer arithmetic (std::to_chars for doubles is slow here).
  if (decimals >= 0 && decimals <= 6 && std::fabs(v) < 1e12) {
    const long long scaled = std::llround(v * kPow10[decimals]);
    char digits[32];
    char* end = digits + sizeof(digits);
    char* d = end;
    const bool negative = scaled < 0;
    unsigned long long u = negative ? 0ULL - static_cast<unsigned long long>(scaled)
                                    : static_cast<unsigned long long>(scaled);
    for (int i = 0; i < decimals; ++i) {
      *--d = static_cast<char>('0' + u % 10);
      u /= 10;
    }
    if (decimals > 0) *--d = '.';
    do {
      *--d = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (negative) *--d = '-';  // never "-0.00": scaled is 0 then
    std::memcpy(p, d, static_cast<size_t>(end - d));
    return p + (end - d);
  }
  return std::to_chars(p, p + kMaxNumberChars, v).ptr;
}

// The simulator's hot path: plain identifiers and fixed decimals, written with
// memcpy into one buffer. Returns false (writing nothing) when it does not apply.
bool AppendEventFast(const EventView& e, std::string* out) {
  if (!e.plain_strings || e.decimals == nullptr) return false;
  size_t need = 160 + e.event_id.size() + e.device_id.size() + e.device_class.size() +
                e.site.size();
  for (const std::string& name : *e.metric_names) need += name.size() + 8 + kMaxNumberChars;
  char buf[2048];
  if (need > sizeof(buf)) return false;
  char* p = buf;
  const auto lit = [&](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  lit("{\"schema_version\":1,\"event_id\":\"");
  lit(e.event_id);
  lit("\",\"device_id\":\"");
  lit(e.device_id);
  lit("\",\"ts\":\"");
  FormatRfc3339Ms(e.ts_ms, p);
  p += kRfc3339Size;
  lit("\",\"metrics\":{");
  for (size_t m = 0; m < e.values->size(); ++m) {
    if (m > 0) *p++ = ',';
    *p++ = '"';
    lit((*e.metric_names)[m]);
    lit("\":");
    p = WriteNumber(p, (*e.values)[m], (*e.decimals)[m]);
  }
  *p++ = '}';
  if (!e.device_class.empty() || !e.site.empty()) {
    lit(",\"tags\":{");
    if (!e.device_class.empty()) {
      lit("\"device_class\":\"");
      lit(e.device_class);
      *p++ = '"';
    }
    if (!e.site.empty()) {
      if (!e.device_class.empty()) *p++ = ',';
      lit("\"site\":\"");
      lit(e.site);
      *p++ = '"';
    }
    *p++ = '}';
  }
  *p++ = '}';
  out->append(buf, static_cast<size_t>(p - buf));
  return true;
}

void AppendPlain(std::string_view s, std::string* out) {
  out->push_back('"');
  out->append(s);
  out->push_back('"');
}

void AppendRawEvent(const EventView& e, const Overrides& o, std::string* out) {
  const auto str = [&](std::string_view s) {
    if (e.plain_strings) {
      AppendPlain(s, out);
    } else {
      AppendJsonString(s, out);
    }
  };
  out->append("{\"schema_version\":1");
  auto field = [&](Field f, std::string_view name, auto write) {
    const auto i = static_cast<size_t>(f);
    if (o.skip[i]) return;
    out->append(",\"").append(name).append("\":");
    if (!o.raw[i].empty()) {
      out->append(o.raw[i]);
    } else {
      write();
    }
  };
  field(Field::kEventId, "event_id", [&] { str(e.event_id); });
  field(Field::kDeviceId, "device_id", [&] { str(e.device_id); });
  field(Field::kTs, "ts", [&] {
    char buf[kRfc3339Size];
    FormatRfc3339Ms(e.ts_ms, buf);
    out->push_back('"');
    out->append(buf, kRfc3339Size);
    out->push_back('"');
  });
  field(Field::kMetrics, "metrics", [&] {
    out->push_back('{');
    for (size_t m = 0; m < e.values->size(); ++m) {
      if (m > 0) out->push_back(',');
      str((*e.metric_names)[m]);
      out->push_back(':');
      if (m == 0 && !o.metric_raw.empty()) {
        out->append(o.metric_raw);
      } else {
        AppendNumber((*e.values)[m], e.decimals ? (*e.decimals)[m] : -1, out);
      }
    }
    out->push_back('}');
  });
  if (!e.device_class.empty() || !e.site.empty() || !o.tags_padding.empty()) {
    out->append(",\"tags\":{");
    bool first = true;
    auto tag = [&](std::string_view k, std::string_view v) {
      if (v.empty()) return;
      if (!first) out->push_back(',');
      first = false;
      str(k);
      out->push_back(':');
      str(v);
    };
    tag("device_class", e.device_class);
    tag("site", e.site);
    tag("padding", o.tags_padding);
    out->push_back('}');
  }
  out->push_back('}');
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  bool plain = true;
  for (const char c : s) plain &= c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
  if (plain) {  // the common case: one copy
    out->push_back('"');
    out->append(s);
    out->push_back('"');
    return;
  }
  out->push_back('"');
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("\\u00");
      out->push_back(kHex[(c >> 4) & 0xF]);
      out->push_back(kHex[c & 0xF]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void AppendNumber(double v, int decimals, std::string* out) {
  char buf[kMaxNumberChars];
  out->append(buf, WriteNumber(buf, v, decimals));
}

void AppendEventJson(const EventView& e, std::string* out) {
  if (!AppendEventFast(e, out)) AppendRawEvent(e, Overrides{}, out);
}

std::string_view MalformedKindName(MalformedKind kind) {
  return kMalformedNames[static_cast<int>(kind)];
}

void MakeMalformed(MalformedKind kind, const EventView& e, int64_t oversize_bytes, Rng* rng,
                   std::string* out) {
  out->clear();
  Overrides o;
  std::string padding;
  switch (kind) {
    case MalformedKind::kInvalidJson: {
      AppendRawEvent(e, o, out);
      // Cut anywhere before the closing brace: the top-level object never closes.
      out->resize(static_cast<size_t>(rng->UniformInt(1, static_cast<int64_t>(out->size()) - 2)));
      return;
    }
    case MalformedKind::kMissingField:
      o.skip[rng->UniformInt(0, 3)] = true;
      break;
    case MalformedKind::kWrongType: {
      static constexpr std::string_view kRaw[4] = {"12345", "true", "[1,2,3]", "\"6.5\""};
      const auto which = rng->UniformInt(0, 3);
      if (which == 0) o.raw[static_cast<size_t>(Field::kDeviceId)] = kRaw[0];
      if (which == 1) o.raw[static_cast<size_t>(Field::kTs)] = kRaw[1];
      if (which == 2) o.raw[static_cast<size_t>(Field::kMetrics)] = kRaw[2];
      if (which == 3) o.metric_raw = kRaw[3];
      break;
    }
    case MalformedKind::kNonFinite: {
      static constexpr std::string_view kTokens[3] = {"NaN", "Infinity", "-Infinity"};
      o.metric_raw = kTokens[rng->UniformInt(0, 2)];
      break;
    }
    case MalformedKind::kOversized: {
      AppendRawEvent(e, o, out);
      const int64_t pad = std::max<int64_t>(1, oversize_bytes - static_cast<int64_t>(out->size()) -
                                                   static_cast<int64_t>(std::string_view(",\"padding\":\"\"").size()));
      padding.assign(static_cast<size_t>(pad), 'x');
      o.tags_padding = padding;
      out->clear();
      break;
    }
    case MalformedKind::kBadTimestamp: {
      static constexpr std::string_view kRaw[4] = {
          "\"2026-02-30T10:00:00.000Z\"", "\"2026-11-23T25:61:00.000Z\"",
          "\"9999-12-31T23:59:59.999Z\"", "-86400000"};
      o.raw[static_cast<size_t>(Field::kTs)] = kRaw[rng->UniformInt(0, 3)];
      break;
    }
  }
  AppendRawEvent(e, o, out);
}

}  // namespace vigil::sim
