// backtest/timestamp.h: parse the timestamps found in CSV and JSON-lines inputs.
//
// Accepted forms (UTC unless a zone is given):
//   2026-11-23T10:00:00Z, 2026-11-23T10:00:00.123+02:00, 2026-11-23T10:00:00+0200
//   2026-11-23 10:00:00 (space instead of T, no zone), 2026-11-23T10:00 (no seconds),
//   2026-11-23 (a date alone), 2026/11/23 10:00:00 (slashes in the date)
//   epoch seconds or milliseconds: 1700000000, 1700000000.5, 1700000000123
//
//   vigil::Result<int64_t> ms = vigil::tabular::ParseTimestampMillis("2020-03-09 10:14:33");
#pragma once

#include <cstdint>
#include <string_view>

#include "vigil/status.h"

namespace vigil::tabular {

/// \brief Epoch numbers at or above this magnitude are milliseconds, below it seconds.
///
/// 1e11 seconds is the year 5138, and 1e11 milliseconds is March 1973: no real
/// data sits on the wrong side of the cut.
constexpr double kEpochMillisThreshold = 1e11;

/// \brief Parse `text` into milliseconds since the Unix epoch (UTC).
///
/// Leading and trailing blanks and quotes are ignored. The lenient forms are
/// rewritten to strict RFC 3339 and parsed by the core's ParseRfc3339Ms, so the
/// streaming job and the tools agree on every instant. Returns Invalid naming
/// the accepted forms and the defect ("month out of range") otherwise.
Result<int64_t> ParseTimestampMillis(std::string_view text);

}  // namespace vigil::tabular
