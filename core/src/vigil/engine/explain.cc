#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include "vigil/engine/engine_internal.h"
#include "vigil/record/anomaly_json.h"

namespace vigil::internal {

namespace {

// The JSON string escaping of the anomaly records (vigil/record/anomaly_json.h).
void AppendEscaped(std::string* out, std::string_view s) { AppendJsonString(s, out); }

void AppendNumber(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  // printf's "%.6g", without printf's per-call cost (to_chars with a precision is
  // specified as printf with the matching conversion, in the C locale).
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general, 6);
  out->append(buf, ec == std::errc() ? end : buf);
}

}  // namespace

uint64_t Fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string RenderExplanation(const ExplainInput& in) {
  std::string out;
  out.reserve(256);
  out.append("{\"score\":");
  AppendNumber(&out, in.score);
  out.append(",\"severity\":");
  out.append(std::to_string(in.severity));
  out.append(",\"detectors\":[");
  bool first = true;
  for (size_t j = 0; j < in.names->size(); ++j) {
    if (!((in.mask >> j) & 1)) continue;
    if (!first) out.push_back(',');
    first = false;
    AppendEscaped(&out, (*in.names)[j]);
  }
  out.append("],\"metric\":");
  AppendEscaped(&out, in.metric);
  out.append(",\"observed\":");
  AppendNumber(&out, in.observed);
  out.append(",\"expected\":[");
  AppendNumber(&out, in.expected_lo);
  out.push_back(',');
  AppendNumber(&out, in.expected_hi);
  out.append("],\"by\":");
  AppendEscaped(&out, in.detector);
  out.append(",\"note\":");
  AppendEscaped(&out, in.note);
  out.append(",\"attribution\":[");
  first = true;
  for (const auto& [metric, share] : in.attribution) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"metric\":");
    AppendEscaped(&out, metric);
    out.append(",\"share\":");
    AppendNumber(&out, share);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

}  // namespace vigil::internal
