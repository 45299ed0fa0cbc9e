// libFuzzer target: arbitrary bytes as one Kafka value, as a batch of values
// (split at '\n', so the batch fast path and its fallback run) and as NDJSON.
// Invariants: every input index ends up in the batch or in the rejects, once;
// the batch path and the per-value path accept and reject the same indices.
// (The reason given for invalid JSON may differ: simdjson's diagnosis of a
// broken document can depend on the bytes after it.)
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "vigil/event/decoder.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<vigil::Decoder> decoder = [] {
    vigil::DecoderOptions o;
    o.max_metrics = 8;
    o.schema_versions = {1, 2};
    return std::move(vigil::Decoder::Make(o)).ValueOrDie();
  }();
  vigil::EventBatch batch, other;
  std::vector<vigil::Reject> rejects, other_rejects;
  const int32_t one[2] = {0, static_cast<int32_t>(size)};
  if (!decoder->Decode(data, one, 1, &batch, &rejects).ok()) __builtin_trap();
  CheckAccounted(batch, rejects, 1);

  // The same bytes as a batch of values, split at '\n' (each value repeated so
  // that a short input still makes a batch long enough for the fast path).
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
  while (offsets.size() < 17) offsets.push_back(offsets.back());  // empty values force the fallback
  const int64_t n = static_cast<int64_t>(offsets.size()) - 1;
  std::vector<uint8_t> all_valid(static_cast<size_t>((n + 7) / 8), 0xFF);
  if (!decoder->Decode(buf.data(), offsets.data(), n, &batch, &rejects).ok()) __builtin_trap();
  if (!decoder->Decode(buf.data(), offsets.data(), n, &other, &other_rejects, all_valid.data()).ok()) {
    __builtin_trap();
  }
  CheckAccounted(batch, rejects, n);
  if (batch.size() != other.size() || rejects.size() != other_rejects.size()) __builtin_trap();
  for (size_t k = 0; k < rejects.size(); ++k) {
    if (rejects[k].index != other_rejects[k].index) __builtin_trap();
  }

  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!decoder->DecodeLines(text, &batch, &rejects).ok()) __builtin_trap();
  return 0;
}
