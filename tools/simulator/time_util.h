// time_util.h: event-time formatting and parsing for the simulator.
//
//   char buf[kRfc3339Size];
//   FormatRfc3339Ms(1795428000000, buf);        // "2026-11-23T10:00:00.000Z"
//   Result<int64_t> ms = ParseTimestampMs("2020-03-09 10:14:33");
//   Result<int64_t> lateness = ParseDurationMs("30s", /*plain_unit_ms=*/1);
#pragma once

#include <cstdint>
#include <string_view>

#include "vigil/status.h"

namespace vigil::sim {

/// Bytes written by FormatRfc3339Ms, without a terminating NUL.
constexpr int kRfc3339Size = 24;

/// \brief Write `ms` since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) to `out`.
void FormatRfc3339Ms(int64_t ms, char* out);

/// \brief Parse a timestamp: RFC 3339 ("2026-11-23T10:00:00.5Z", a space instead of
/// the T, a zone "+01:00"; no zone, as in NAB and SKAB files, means UTC), read by the
/// core's ParseRfc3339Ms, or epoch seconds or milliseconds as a number (values
/// above 1e11 are taken as ms).
Result<int64_t> ParseTimestampMs(std::string_view text);

/// \brief Parse a duration "250ms", "30s", "5m", "2h", "1d"; a plain number is
/// multiplied by `plain_unit_ms`.
Result<int64_t> ParseDurationMs(std::string_view text, int64_t plain_unit_ms);

}  // namespace vigil::sim
