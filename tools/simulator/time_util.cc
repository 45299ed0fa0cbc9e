#include "time_util.h"

#include <charconv>
#include <cmath>
#include <string>

#include "vigil/event/decoder.h"

namespace vigil::sim {
namespace {

void Put2(char* out, unsigned v) {
  out[0] = static_cast<char>('0' + v / 10);
  out[1] = static_cast<char>('0' + v % 10);
}

Status BadTimestamp(std::string_view text, std::string_view why) {
  return Status::Invalid("bad timestamp '" + std::string(text) + "' (" + std::string(why) +
                         "; want RFC 3339 like 2026-11-23T10:00:00Z or epoch seconds/ms)");
}

}  // namespace

void FormatRfc3339Ms(int64_t ms, char* out) {
  int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  int64_t rem = ms - days * 86400000;
  // civil_from_days (H. Hinnant)
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  const auto year = static_cast<unsigned>(y < 0 ? 0 : (y > 9999 ? 9999 : y));
  Put2(out, year / 100);
  Put2(out + 2, year % 100);
  out[4] = '-';
  Put2(out + 5, m);
  out[7] = '-';
  Put2(out + 8, d);
  out[10] = 'T';
  const auto secs = static_cast<unsigned>(rem / 1000);
  const auto milli = static_cast<unsigned>(rem % 1000);
  Put2(out + 11, secs / 3600);
  out[13] = ':';
  Put2(out + 14, secs / 60 % 60);
  out[16] = ':';
  Put2(out + 17, secs % 60);
  out[19] = '.';
  out[20] = static_cast<char>('0' + milli / 100);
  Put2(out + 21, milli % 100);
  out[23] = 'Z';
}

Result<int64_t> ParseTimestampMs(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '"')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '"' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return BadTimestamp(text, "empty");
  const bool numeric = text.find_first_not_of("0123456789.-") == std::string_view::npos &&
                       text.find('-', 1) == std::string_view::npos;
  if (numeric) {
    double v = 0.0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) {
      return BadTimestamp(text, "not a number");
    }
    return static_cast<int64_t>(std::llround(std::fabs(v) > 1e11 ? v : v * 1000.0));
  }
  // Recorded files (NAB, SKAB) write local wall time without a zone: read it as UTC.
  std::string zoned(text);
  const size_t tail = zoned.find_first_of("Zz+-", 19);
  if (zoned.size() >= 19 && tail == std::string::npos) zoned.push_back('Z');
  Result<int64_t> ms = ParseRfc3339Ms(zoned);
  if (!ms.ok()) return BadTimestamp(text, ms.status().message());
  return *ms;
}

Result<int64_t> ParseDurationMs(std::string_view text, int64_t plain_unit_ms) {
  double v = 0.0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || text.empty() || !std::isfinite(v) || v < 0) {
    return Status::Invalid("bad duration '" + std::string(text) +
                           "' (want a non-negative number with a unit: 250ms, 30s, 5m, 2h, 1d)");
  }
  const std::string_view unit(p, static_cast<size_t>(text.data() + text.size() - p));
  double scale = 0.0;
  if (unit.empty()) {
    scale = static_cast<double>(plain_unit_ms);
  } else if (unit == "ms") {
    scale = 1.0;
  } else if (unit == "s") {
    scale = 1e3;
  } else if (unit == "m" || unit == "min") {
    scale = 6e4;
  } else if (unit == "h") {
    scale = 3.6e6;
  } else if (unit == "d") {
    scale = 8.64e7;
  } else {
    return Status::Invalid("bad duration unit '" + std::string(unit) + "' in '" +
                           std::string(text) + "' (want ms, s, m, h or d)");
  }
  return static_cast<int64_t>(std::llround(v * scale));
}

}  // namespace vigil::sim
