// libFuzzer target: arbitrary bytes as one Kafka value, as a batch of values
// (split at '\n') and as NDJSON, each decoded twice: by the decoder as shipped
// (fast path, simdjson for the rest) and by a simdjson-only decoder.
// Invariants: every input index ends up in the batch or in the rejects, once;
// both decoders give the same events (values bit for bit) and the same rejects
// (index, reason and detail); a validity bitmap of all ones changes nothing.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "vigil/event/decoder.h"
#include "vigil/event/decoder_internal.h"

namespace {

void CheckAccounted(const vigil::EventBatch& batch, const std::vector<vigil::Reject>& rejects, int64_t n) {
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < batch.size(); ++i) {
    if (batch.source_index(i) >= n || seen[batch.source_index(i)]++) __builtin_trap();
    if (batch.metric_ids(i).empty() || batch.device_id(i).empty()) __builtin_trap();
  }
  for (const auto& r : rejects) {
    if (r.index >= n || seen[r.index]++) __builtin_trap();
  }
  for (uint8_t s : seen) {
    if (s != 1) __builtin_trap();
  }
}

void CheckSame(const vigil::EventBatch& a, const std::vector<vigil::Reject>& ra, const vigil::EventBatch& b,
               const std::vector<vigil::Reject>& rb) {
  if (a.size() != b.size() || ra.size() != rb.size()) __builtin_trap();
  for (int64_t i = 0; i < a.size(); ++i) {
    if (a.source_index(i) != b.source_index(i) || a.event_id(i) != b.event_id(i) || a.device_id(i) != b.device_id(i) ||
        a.device_class(i) != b.device_class(i) || a.ts_ms(i) != b.ts_ms(i) ||
        a.schema_version(i) != b.schema_version(i) || a.metric_ids(i).size() != b.metric_ids(i).size()) {
      __builtin_trap();
    }
    for (size_t k = 0; k < a.metric_ids(i).size(); ++k) {
      if (a.metric_name(a.metric_ids(i)[k]) != b.metric_name(b.metric_ids(i)[k]) ||
          std::bit_cast<uint64_t>(a.metric_values(i)[k]) != std::bit_cast<uint64_t>(b.metric_values(i)[k])) {
        __builtin_trap();
      }
    }
  }
  for (size_t k = 0; k < ra.size(); ++k) {
    if (ra[k].index != rb[k].index || ra[k].reason != rb[k].reason || ra[k].detail != rb[k].detail) __builtin_trap();
  }
}

std::unique_ptr<vigil::Decoder> MakeDecoder(bool fast_path) {
  vigil::DecoderOptions o;
  o.max_metrics = 8;
  o.schema_versions = {1, 2};
  return std::move(vigil::internal::MakeDecoder(o, fast_path)).ValueOrDie();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<vigil::Decoder> fast = MakeDecoder(true);
  static std::unique_ptr<vigil::Decoder> ref = MakeDecoder(false);
  vigil::EventBatch batch, other;
  std::vector<vigil::Reject> rejects, other_rejects;

  const int32_t one[2] = {0, static_cast<int32_t>(size)};
  if (!fast->Decode(data, one, 1, &batch, &rejects).ok()) __builtin_trap();
  if (!ref->Decode(data, one, 1, &other, &other_rejects).ok()) __builtin_trap();
  CheckAccounted(batch, rejects, 1);
  CheckSame(batch, rejects, other, other_rejects);

  // The same bytes as a batch of values, split at '\n' (each value repeated,
  // with empty values at the end), so values lie both inside the buffer and at
  // its end where nothing may be read past them.
  std::vector<int32_t> offsets{0};
  std::vector<uint8_t> buf;
  for (int rep = 0; rep < 4; ++rep) {
    size_t begin = 0;
    for (size_t i = 0; i <= size; ++i) {
      if (i == size || data[i] == '\n') {
        buf.insert(buf.end(), data + begin, data + i);
        offsets.push_back(static_cast<int32_t>(buf.size()));
        begin = i + 1;
      }
    }
  }
  while (offsets.size() < 17) offsets.push_back(offsets.back());
  const int64_t n = static_cast<int64_t>(offsets.size()) - 1;
  // An exact-size copy, so that reading past the last value is an ASan error.
  std::vector<uint8_t> exact(buf.begin(), buf.end());
  std::vector<uint8_t> all_valid(static_cast<size_t>((n + 7) / 8), 0xFF);
  if (!fast->Decode(exact.data(), offsets.data(), n, &batch, &rejects).ok()) __builtin_trap();
  CheckAccounted(batch, rejects, n);
  if (!ref->Decode(exact.data(), offsets.data(), n, &other, &other_rejects).ok()) __builtin_trap();
  CheckSame(batch, rejects, other, other_rejects);
  if (!fast->Decode(exact.data(), offsets.data(), n, &other, &other_rejects, all_valid.data()).ok()) {
    __builtin_trap();
  }
  CheckSame(batch, rejects, other, other_rejects);

  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!fast->DecodeLines(text, &batch, &rejects).ok()) __builtin_trap();
  if (!ref->DecodeLines(text, &other, &other_rejects).ok()) __builtin_trap();
  CheckSame(batch, rejects, other, other_rejects);
  return 0;
}
