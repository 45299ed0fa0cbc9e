// vigil/event/decoder.h: JSON events -> EventBatch + rejects.
//
// The input is a batch of raw Kafka values in Arrow's binary layout: one data
// buffer and n + 1 offsets. Every input index ends up either in the batch
// (source_index) or in the rejects; none is dropped.
//
//   VIGIL_ASSIGN_OR_RAISE(auto decoder, vigil::Decoder::Make(vigil::DecoderOptions::Defaults()));
//   vigil::EventBatch batch;
//   std::vector<vigil::Reject> rejects;
//   VIGIL_RETURN_NOT_OK(decoder->Decode(data, offsets, n, &batch, &rejects));
//
// The event (schema_version 1):
//   {"schema_version": 1, "event_id": "e-1", "device_id": "dev-1",
//    "ts": "2026-11-23T10:00:00.000Z" | 1795428000000,
//    "metrics": {"temperature": 21.5}, "tags": {"device_class": "pump"}}
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/event/event_batch.h"
#include "vigil/status.h"

namespace vigil {

/// \brief Limits the decoder enforces; each violation is a typed Reject.
struct DecoderOptions {
  int64_t max_payload_bytes = 64 * 1024;
  int32_t max_metrics = 256;
  int32_t max_id_bytes = 256;
  /// Accepted event time range, epoch ms (defaults: 2000-01-01 .. 2100-01-01).
  int64_t min_ts_ms = 946684800000LL;
  int64_t max_ts_ms = 4102444800000LL;
  /// Accepted schema_version values; an event without the field is version 1.
  std::vector<int32_t> schema_versions = {1};

  static DecoderOptions Defaults() { return DecoderOptions(); }
  /// \brief Return Invalid naming the bad field when the options are inconsistent.
  Status Validate() const;
};

/// \brief One value to decode, anywhere in memory: `size` bytes at `data`, and `readable`
/// (>= size) bytes from `data` that may be read (the rest of its buffer: the decoder may
/// look past the value, never write). `data == nullptr` is a null value (a kNullInput reject).
struct ValueRef {
  const uint8_t* data;
  size_t size;
  size_t readable;
};

/// \brief Decodes JSON events: a fast path for the usual events, simdjson On-Demand for the
/// rest (and for every reject); parsers are reused. Not thread-safe.
class Decoder {
 public:
  virtual ~Decoder() = default;

  static Result<std::unique_ptr<Decoder>> Make(const DecoderOptions& options);

  /// \brief Decode n values laid out as Arrow binary (int32 offsets, n + 1 of them).
  ///
  /// Appends to `out_valid` (cleared first) and `out_rejects` (cleared first).
  /// Returns a non-OK Status only for a malformed call (bad offsets), never for bad events.
  /// `validity` is an optional Arrow validity bitmap (bit i set = value i present).
  virtual Status Decode(const uint8_t* data, const int32_t* offsets, int64_t n,
                        EventBatch* out_valid, std::vector<Reject>* out_rejects,
                        const uint8_t* validity = nullptr) = 0;
  /// \brief As above with int64 offsets (Arrow large_binary).
  virtual Status Decode(const uint8_t* data, const int64_t* offsets, int64_t n,
                        EventBatch* out_valid, std::vector<Reject>* out_rejects,
                        const uint8_t* validity = nullptr) = 0;
  /// \brief Decode values[k] as event k (source_index k), in the order given: a caller
  /// that wants its values in another order (or from several buffers) passes references
  /// instead of gathering the bytes first.
  virtual Status DecodeRefs(const ValueRef* values, int64_t n, EventBatch* out_valid,
                            std::vector<Reject>* out_rejects) = 0;
  /// \brief Decode newline-delimited JSON; blank lines are skipped, index = line number (0-based).
  virtual Status DecodeLines(std::string_view text, EventBatch* out_valid,
                             std::vector<Reject>* out_rejects) = 0;

  const DecoderOptions& options() const { return options_; }

 protected:
  explicit Decoder(DecoderOptions options) : options_(std::move(options)) {}
  DecoderOptions options_;
};

/// \brief Parse an RFC 3339 timestamp ("2026-11-23T10:00:00.123Z", "+02:00" offsets) to epoch ms.
Result<int64_t> ParseRfc3339Ms(std::string_view text);

/// \brief Format epoch ms as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string FormatRfc3339Ms(int64_t ts_ms);

}  // namespace vigil
