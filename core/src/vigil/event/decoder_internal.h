// vigil/event/decoder_internal.h: decoder hooks for tests, fuzzers and benchmarks.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "vigil/event/decoder.h"

namespace vigil::internal {

/// \brief Make a decoder; `fast_path` false sends every value through simdjson
/// (the reference the fast path is checked against).
Result<std::unique_ptr<Decoder>> MakeDecoder(const DecoderOptions& options, bool fast_path);

/// \brief ParseRfc3339Ms without a Result: true and `*ms` on success.
bool TryParseRfc3339Ms(std::string_view text, int64_t* ms);

/// \brief Days since 1970-01-01 of "YYYY-MM-DD", checked as ParseRfc3339Ms checks it.
bool ParseRfc3339Date(std::string_view date, int64_t* days);

}  // namespace vigil::internal
