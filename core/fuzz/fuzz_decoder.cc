// libFuzzer target: arbitrary bytes as one Kafka value and as NDJSON text.
// Invariant: every input index ends up in the batch or in the rejects, once.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "vigil/event/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<vigil::Decoder> decoder = [] {
    vigil::DecoderOptions o;
    o.max_metrics = 8;
    o.schema_versions = {1, 2};
    return std::move(vigil::Decoder::Make(o)).ValueOrDie();
  }();
  vigil::EventBatch batch;
  std::vector<vigil::Reject> rejects;
  const int32_t offsets[2] = {0, static_cast<int32_t>(size)};
  if (!decoder->Decode(data, offsets, 1, &batch, &rejects).ok()) __builtin_trap();
  if (batch.size() + static_cast<int64_t>(rejects.size()) != 1) __builtin_trap();
  for (int64_t i = 0; i < batch.size(); ++i) {
    if (batch.metric_ids(i).empty() || batch.device_id(i).empty()) __builtin_trap();
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!decoder->DecodeLines(text, &batch, &rejects).ok()) __builtin_trap();
  return 0;
}
