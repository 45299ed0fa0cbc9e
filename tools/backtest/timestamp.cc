#include "backtest/timestamp.h"

#include <charconv>
#include <cmath>
#include <string>

#include "vigil/event/decoder.h"

namespace vigil::tabular {
namespace {

constexpr int64_t kMillisPerSecond = 1000;
constexpr std::string_view kForms =
    "expected RFC 3339 / ISO 8601 (2026-11-23T10:00:00Z, 2026-11-23 10:00:00, "
    "2026-11-23T10:00:00.5+02:00) or epoch seconds/milliseconds";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '"')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status Bad(std::string_view text, std::string_view why = {}) {
  std::string msg = "bad timestamp '" + std::string(text.substr(0, 64)) + "'";
  if (!why.empty()) msg += " (" + std::string(why) + ")";
  return Status::Invalid(msg + ": " + std::string(kForms));
}

Result<int64_t> ParseEpoch(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return Bad(text);
  const double millis = std::fabs(value) >= kEpochMillisThreshold ? value : value * kMillisPerSecond;
  if (std::fabs(millis) > 9.0e15) return Bad(text, "out of range");
  return static_cast<int64_t>(std::llround(millis));
}

// Rewrite the lenient forms into the strict RFC 3339 the core parses:
// '/' date separators, a missing time, missing seconds, a missing zone, "+HHMM" / "+HH" offsets.
Result<std::string> Canonical(std::string_view s) {
  std::string out(s.substr(0, 10));
  if (out.size() < 10 || out[4] != out[7]) return Bad(s);
  out[4] = out[7] = '-';
  size_t pos = 10;
  if (pos == s.size()) return out + "T00:00:00Z";
  out += 'T';
  ++pos;  // the 'T', 't' or ' ' (the core checks which)
  if (s[pos - 1] != 'T' && s[pos - 1] != 't' && s[pos - 1] != ' ') return Bad(s);
  if (pos + 5 > s.size() || s[pos + 2] != ':') return Bad(s, "expected HH:MM after the date");
  out.append(s.substr(pos, 5));
  pos += 5;
  if (pos < s.size() && s[pos] == ':') {
    out.append(s.substr(pos, 3));
    pos += 3;
  } else {
    out += ":00";
  }
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    out += '.';
    ++pos;
    while (pos < s.size() && IsDigit(s[pos])) out += s[pos++];
  }
  std::string_view zone = s.substr(std::min(pos, s.size()));
  if (zone.empty()) return out + "Z";
  if ((zone[0] == '+' || zone[0] == '-') && zone.size() == 3) return out + std::string(zone) + ":00";
  if ((zone[0] == '+' || zone[0] == '-') && zone.size() == 5 && IsDigit(zone[3])) {
    return out + std::string(zone.substr(0, 3)) + ":" + std::string(zone.substr(3));
  }
  return out + std::string(zone);
}

}  // namespace

Result<int64_t> ParseTimestampMillis(std::string_view raw) {
  std::string_view s = Trim(raw);
  if (s.empty()) return Status::Invalid("empty timestamp: " + std::string(kForms));
  // A date has a separator after four digits; anything else must be an epoch number.
  const bool looks_like_date = s.size() >= 8 && IsDigit(s[0]) && IsDigit(s[1]) && IsDigit(s[2]) &&
                               IsDigit(s[3]) && (s[4] == '-' || s[4] == '/');
  if (!looks_like_date) return ParseEpoch(s);
  VIGIL_ASSIGN_OR_RAISE(std::string canonical, Canonical(s));
  Result<int64_t> ms = ParseRfc3339Ms(canonical);
  if (!ms.ok()) {
    // The core's message says what is wrong ("day out of range"); keep that, name the input.
    const std::string& m = ms.status().message();
    const size_t colon = m.rfind(": ");
    return Bad(raw, colon == std::string::npos ? m : m.substr(colon + 2));
  }
  return ms;
}

}  // namespace vigil::tabular
