// vigil/event/fast_parse_internal.h: the decoder's fast path.
//
// Accepts only events in a strict subset of JSON and says "no" to everything
// else; the caller then decodes that value with simdjson, which gives the
// verdict (accept or a typed reject). So the fast path never rejects, and what
// it accepts it must decode exactly as the simdjson path would. The subset:
//   - at most kMaxBytes, ASCII without control characters (0x20..0x7F): no backslash (so no
//     escapes), no control characters, no UTF-8; whitespace is spaces only;
//   - one object with the keys schema_version, event_id, device_id, ts, metrics,
//     tags (any order, each at most once) and other keys whose values are strings
//     or numbers;
//   - schema_version an integer; ids strings; ts an RFC 3339 string or an
//     integer of at most 18 digits;
//   - metrics a non-empty object of finite numbers (no overflow or underflow to
//     zero), converted to the correctly rounded double as simdjson does: by
//     Clinger's fast path (mantissa <= 2^53, decimal exponent within +-22, one
//     exact IEEE operation) or else by std::from_chars;
//   - tags an object of strings and numbers (device_class a string).
// Limits (ids, ts range, schema versions, metric count, duplicates) are the
// caller's: an event that breaks one goes to simdjson too.
//
// One pass classifies the bytes 64 at a time (AVX2 or SSE2) and records where the
// quotes are; without backslashes every quote delimits a string, so a string's
// end is the next set bit of that mask.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

// The code differs with the target (AVX2, SSE2, scalar): each variant lives in
// its own inline namespace, so that translation units built with different
// -march flags (decoder.cc vs tests and benchmarks) do not share one definition.
#if defined(__AVX2__)
#include <immintrin.h>
#define VIGIL_FAST_PARSE_ISA avx2
#elif defined(__SSE2__)
#include <emmintrin.h>
#define VIGIL_FAST_PARSE_ISA sse2
#else
#define VIGIL_FAST_PARSE_ISA scalar
#endif

#include "vigil/event/decoder_internal.h"

namespace vigil::internal {
inline namespace VIGIL_FAST_PARSE_ISA {

/// \brief The fields of one event, pointing into the input.
struct FastEvent {
  static constexpr size_t kMaxMetrics = 64;  ///< more go to simdjson
  std::string_view event_id, device_id, device_class;
  int64_t ts_ms = 0;
  int64_t schema_version = 1;
  size_t num_metrics = 0;
  std::string_view metric_names[kMaxMetrics];
  double metric_values[kMaxMetrics];
};

#define VIGIL_FAST_INLINE inline __attribute__((always_inline))

/// \brief Equality of short strings without a call to memcmp.
VIGIL_FAST_INLINE bool SameBytes(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    uint64_t x, y, u, v;
    for (size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return false;
    }
    std::memcpy(&u, a + n - 8, 8);
    std::memcpy(&v, b + n - 8, 8);
    return u == v;
  }
  if (n >= 4) {
    uint32_t x, y, u, v;
    std::memcpy(&x, a, 4);
    std::memcpy(&y, b, 4);
    std::memcpy(&u, a + n - 4, 4);
    std::memcpy(&v, b + n - 4, 4);
    return x == y && u == v;
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

template <size_t N>
VIGIL_FAST_INLINE bool Is(std::string_view s, const char (&literal)[N]) {
  return s.size() == N - 1 && SameBytes(s.data(), literal, N - 1);
}

class FastParser {
 public:
  static constexpr size_t kMaxBytes = 4096;

  /// \brief Parse p[0, len) into event(); false when the value is outside the subset.
  /// `readable` (>= len) bytes from p may be read (the bytes after the value).
  bool Parse(const char* p, size_t len, size_t readable) {
    if (len == 0 || len > kMaxBytes) return false;
    const size_t blocks_end = (len + 63) / 64 * 64;
    if (readable < blocks_end) {
      std::memcpy(copy_, p, len);
      std::memset(copy_ + len, ' ', blocks_end - len);
      p = copy_;
    }
    // The last byte before trailing spaces must be the closing brace: then a
    // run of digits that starts inside the value ends inside it, and digit
    // loops need no bounds check (`while (IsDigit(*in.p))` below).
    size_t last = len;
    while (last > 0 && p[last - 1] == ' ') --last;
    if (last == 0 || p[last - 1] != '}') return false;
    bool spaces = false;
    if (!Classify(p, len, &spaces)) return false;
    return spaces ? Object<true>(p, len) : Object<false>(p, len);
  }

  const FastEvent& event() const { return event_; }

 private:
  enum Field : uint32_t {
    kSchemaVersion = 1,
    kEventId = 2,
    kDeviceId = 4,
    kTs = 8,
    kMetrics = 16,
    kTags = 32,
    kOther = 0,
  };
  static constexpr uint32_t kRequired = kEventId | kDeviceId | kTs | kMetrics;

  // The read position; a local of Object() so that it lives in registers.
  // kSpaces false: the value has no space at all, so none is looked for.
  template <bool kSpacesIn>
  struct Reader {
    static constexpr bool kSpaces = kSpacesIn;
    const char* p;
    const char* end;
    const char* base;
  };

  // Quote positions into quotes_, 64 bytes at a time (p has that many readable
  // bytes past len); false on any byte outside 0x20..0x7F or a backslash.
  bool Classify(const char* p, size_t len, bool* spaces) {
    const size_t words = (len + 63) / 64;
    words_ = words;
    uint64_t bad = 0, any_space = 0;
    for (size_t w = 0; w < words; ++w) {
      uint64_t q = 0, b = 0, sp = 0;
      const char* block = p + w * 64;
#if defined(__AVX2__)
      const __m256i quote = _mm256_set1_epi8('"');
      const __m256i backslash = _mm256_set1_epi8('\\');
      const __m256i space = _mm256_set1_epi8(0x20);
      for (size_t k = 0; k < 2; ++k) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + k * 32));
        // Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too.
        const __m256i x = _mm256_or_si256(_mm256_cmpgt_epi8(space, v), _mm256_cmpeq_epi8(v, backslash));
        b |= static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(x))) << (32 * k);
        q |= static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote))))
             << (32 * k);
        sp |= static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, space))))
              << (32 * k);
      }
#elif defined(__SSE2__)
      const __m128i quote = _mm_set1_epi8('"');
      const __m128i backslash = _mm_set1_epi8('\\');
      const __m128i space = _mm_set1_epi8(0x20);
      for (size_t k = 0; k < 4; ++k) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + k * 16));
        const __m128i x = _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, backslash));
        b |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(x))) << (16 * k);
        q |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)))) << (16 * k);
        sp |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)))) << (16 * k);
      }
#else
      for (size_t k = 0; k < 64; ++k) {
        const auto c = static_cast<unsigned char>(block[k]);
        b |= static_cast<uint64_t>(c < 0x20 || c >= 0x80 || c == '\\') << k;
        q |= static_cast<uint64_t>(c == '"') << k;
        sp |= static_cast<uint64_t>(c == ' ') << k;
      }
#endif
      if (w + 1 == words && len % 64 != 0) {
        const uint64_t keep = (uint64_t{1} << (len % 64)) - 1;
        b &= keep;
        q &= keep;
        sp &= keep;
      }
      bad |= b;
      any_space |= sp;
      quotes_[w] = q;
    }
    *spaces = any_space != 0;
    return bad == 0;
  }

  template <typename In>
  static VIGIL_FAST_INLINE char Peek(const In& in) { return in.p < in.end ? *in.p : '\0'; }
  template <typename In>
  static VIGIL_FAST_INLINE void SkipSpaces(In& in) {
    if constexpr (In::kSpaces) {
      while (in.p < in.end && *in.p == ' ') ++in.p;
    }
  }
  template <typename In>
  static VIGIL_FAST_INLINE bool Eat(In& in, char c) {
    if (Peek(in) != c) return false;
    ++in.p;
    return true;
  }
  // Only at a position known to hold a digit may a loop read on unchecked: see Parse().
  static VIGIL_FAST_INLINE bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

  // A string at the read position (its opening quote); the value without quotes.
  template <typename In>
  VIGIL_FAST_INLINE bool String(In& in, std::string_view* out) const {
    if (Peek(in) != '"') return false;
    const size_t from = static_cast<size_t>(in.p - in.base) + 1;
    size_t w = from / 64;
    uint64_t m = w < words_ ? quotes_[w] & (~uint64_t{0} << (from % 64)) : 0;
    while (m == 0) {
      if (++w >= words_) return false;
      m = quotes_[w];
    }
    const size_t end = w * 64 + static_cast<size_t>(__builtin_ctzll(m));
    *out = std::string_view(in.base + from, end - from);
    in.p = in.base + end + 1;
    return true;
  }

  // JSON integer of at most 18 digits (no fraction or exponent).
  template <typename In>
  static VIGIL_FAST_INLINE bool Integer(In& in, int64_t* out) {
    const bool neg = Peek(in) == '-';
    if (neg) ++in.p;
    if (!IsDigit(Peek(in))) return false;
    const char* first = in.p;
    int64_t v = 0;
    while (IsDigit(*in.p)) {
      if (in.p - first == 18) return false;  // more than 18 digits
      v = v * 10 + (*in.p++ - '0');
    }
    if (in.p - first > 1 && *first == '0') return false;
    const char next = Peek(in);
    if (next == '.' || next == 'e' || next == 'E') return false;
    *out = neg ? -v : v;
    return true;
  }

  // A JSON number as the correctly rounded double: inline by Clinger's fast
  // path when that is exact, else by std::from_chars (correctly rounded too).
  // False for out-of-range values (which simdjson then judges).
  template <typename In>
  static VIGIL_FAST_INLINE bool Double(In& in, double* out) {
    static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char* start = in.p;
    const bool neg = Peek(in) == '-';
    if (neg) ++in.p;
    uint64_t m = 0;
    int digits = 0;
    int exp10 = 0;
    if (Peek(in) == '0') {
      ++in.p;
    } else if (IsDigit(Peek(in))) {
      while (IsDigit(*in.p)) {
        m = m * 10 + static_cast<uint64_t>(*in.p++ - '0');
        ++digits;
      }
    } else {
      return false;
    }
    if (Peek(in) == '.') {
      ++in.p;
      if (!IsDigit(Peek(in))) return false;
      while (IsDigit(*in.p)) {
        m = m * 10 + static_cast<uint64_t>(*in.p++ - '0');
        ++digits;
        --exp10;
      }
    }
    if (Peek(in) == 'e' || Peek(in) == 'E') {
      ++in.p;
      int sign = 1;
      if (Peek(in) == '-' || Peek(in) == '+') sign = *in.p++ == '-' ? -1 : 1;
      if (!IsDigit(Peek(in))) return false;
      int e = 0;
      while (IsDigit(*in.p)) {
        if (e < 10000) e = e * 10 + (*in.p - '0');
        ++in.p;
      }
      exp10 += sign * e;
    }
    // m is exact only up to 19 digits (it may have wrapped beyond).
    if (digits <= 19 && m <= (uint64_t{1} << 53) && exp10 >= -22 && exp10 <= 22) {
      double d = static_cast<double>(m);
      d = exp10 < 0 ? d / kPow10[-exp10] : d * kPow10[exp10];
      *out = neg ? -d : d;
      return true;
    }
    return SlowDouble(start, in.p, out);
  }

  [[gnu::noinline]] static bool SlowDouble(const char* first, const char* last, double* out) {
    double d;
    const std::from_chars_result r = std::from_chars(first, last, d);
    if (r.ec != std::errc() || r.ptr != last || !std::isfinite(d)) return false;
    *out = d;
    return true;
  }

  // A JSON number, checked against the grammar and not converted.
  template <typename In>
  static VIGIL_FAST_INLINE bool SkipNumber(In& in) {
    if (Peek(in) == '-') ++in.p;
    if (Peek(in) == '0') {
      ++in.p;
    } else if (IsDigit(Peek(in))) {
      while (IsDigit(*in.p)) ++in.p;
    } else {
      return false;
    }
    if (Peek(in) == '.') {
      ++in.p;
      if (!IsDigit(Peek(in))) return false;
      while (IsDigit(*in.p)) ++in.p;
    }
    if (Peek(in) == 'e' || Peek(in) == 'E') {
      ++in.p;
      if (Peek(in) == '-' || Peek(in) == '+') ++in.p;
      if (!IsDigit(Peek(in))) return false;
      while (IsDigit(*in.p)) ++in.p;
    }
    return true;
  }

  template <typename In>
  VIGIL_FAST_INLINE bool SkipScalar(In& in) const {
    std::string_view ignored;
    return Peek(in) == '"' ? String(in, &ignored) : SkipNumber(in);
  }

  // After a member: ',' (more follow: *more) or '}' (the object ends).
  template <typename In>
  static VIGIL_FAST_INLINE bool Separator(In& in, bool* more) {
    SkipSpaces(in);
    const char c = Peek(in);
    if (c != ',' && c != '}') return false;
    ++in.p;
    *more = c == ',';
    if (*more) SkipSpaces(in);
    return true;
  }

  // "key" : and the spaces around the colon.
  template <typename In>
  VIGIL_FAST_INLINE bool MemberKey(In& in, std::string_view* key) const {
    if (!String(in, key)) return false;
    SkipSpaces(in);
    if (!Eat(in, ':')) return false;
    SkipSpaces(in);
    return true;
  }

  static VIGIL_FAST_INLINE Field FieldOf(std::string_view k) {
    switch (k.size()) {
      case 2: return Is(k, "ts") ? kTs : kOther;
      case 4: return Is(k, "tags") ? kTags : kOther;
      case 7: return Is(k, "metrics") ? kMetrics : kOther;
      case 8: return Is(k, "event_id") ? kEventId : kOther;
      case 9: return Is(k, "device_id") ? kDeviceId : kOther;
      case 14: return Is(k, "schema_version") ? kSchemaVersion : kOther;
      default: return kOther;
    }
  }

  template <bool kSpaces>
  bool Object(const char* p, size_t len) {
    Reader<kSpaces> in{p, p + len, p};
    FastEvent& ev = event_;
    ev.device_class = {};
    ev.schema_version = 1;
    ev.num_metrics = 0;
    SkipSpaces(in);
    if (!Eat(in, '{')) return false;
    SkipSpaces(in);
    uint32_t seen = 0;
    for (bool more = true; more;) {
      std::string_view key;
      if (!MemberKey(in, &key)) return false;
      const Field k = FieldOf(key);
      if ((seen & k) != 0) return false;
      seen |= k;
      bool ok = false;
      switch (k) {
        case kSchemaVersion: ok = Integer(in, &ev.schema_version); break;
        case kEventId: ok = String(in, &ev.event_id); break;
        case kDeviceId: ok = String(in, &ev.device_id); break;
        case kTs: ok = Ts(in, &ev.ts_ms); break;
        case kMetrics: ok = Metrics(in); break;
        case kTags: ok = Tags(in); break;
        case kOther: ok = SkipScalar(in); break;
      }
      if (!ok || !Separator(in, &more)) return false;
    }
    SkipSpaces(in);
    return in.p == in.end && (seen & kRequired) == kRequired;
  }

  template <typename In>
  VIGIL_FAST_INLINE bool Ts(In& in, int64_t* ms) {
    if (Peek(in) != '"') return Integer(in, ms);
    std::string_view s;
    if (!String(in, &s)) return false;
    const size_t n = s.size();
    // "YYYY-MM-DDTHH:MM:SS.sssZ" or "YYYY-MM-DDTHH:MM:SSZ" here, with the day
    // number of the date cached (a batch's events share a few dates); any other
    // form through the general parser.
    if (!((n == 24 && s[19] == '.') || n == 20) || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[n - 1] != 'Z') {
      return TryParseRfc3339Ms(s, ms);
    }
    uint64_t date8;
    uint16_t date2;
    std::memcpy(&date8, s.data(), 8);
    std::memcpy(&date2, s.data() + 8, 2);
    if (!has_date_ || date8 != date8_ || date2 != date2_) {
      if (!ParseRfc3339Date(s.substr(0, 10), &days_)) return false;
      has_date_ = true;
      date8_ = date8;
      date2_ = date2;
    }
    auto d = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(s[i]) - '0'); };
    if (d(11) > 9 || d(12) > 9 || d(14) > 9 || d(15) > 9 || d(17) > 9 || d(18) > 9) return false;
    const unsigned hour = d(11) * 10 + d(12), minute = d(14) * 10 + d(15);
    unsigned second = d(17) * 10 + d(18);
    if (hour > 23 || minute > 59 || second > 60) return false;
    if (second == 60) second = 59;  // leap second: clamped, as ParseRfc3339Ms does
    unsigned millis = 0;
    if (n == 24) {
      if (d(20) > 9 || d(21) > 9 || d(22) > 9) return false;
      millis = d(20) * 100 + d(21) * 10 + d(22);
    }
    *ms = (days_ * 86400 + hour * 3600 + minute * 60 + second) * 1000 + millis;
    return true;
  }

  template <typename In>
  VIGIL_FAST_INLINE bool Metrics(In& in) {
    if (!Eat(in, '{')) return false;
    SkipSpaces(in);
    size_t n = 0;
    for (bool more = true; more; ++n) {
      if (n == FastEvent::kMaxMetrics) return false;
      if (!MemberKey(in, &event_.metric_names[n]) || !Double(in, &event_.metric_values[n]) ||
          !Separator(in, &more)) {
        return false;
      }
    }
    event_.num_metrics = n;
    return true;
  }

  template <typename In>
  VIGIL_FAST_INLINE bool Tags(In& in) {
    if (!Eat(in, '{')) return false;
    SkipSpaces(in);
    if (Eat(in, '}')) return true;
    for (bool more = true; more;) {
      std::string_view key;
      if (!MemberKey(in, &key)) return false;
      const bool ok = Is(key, "device_class") ? String(in, &event_.device_class) : SkipScalar(in);
      if (!ok || !Separator(in, &more)) return false;
    }
    return true;
  }

  FastEvent event_;
  size_t words_ = 0;
  bool has_date_ = false;
  uint64_t date8_ = 0;
  uint16_t date2_ = 0;
  int64_t days_ = 0;
  uint64_t quotes_[kMaxBytes / 64];
  char copy_[kMaxBytes + 64];
};

#undef VIGIL_FAST_INLINE

}  // namespace VIGIL_FAST_PARSE_ISA
}  // namespace vigil::internal

#undef VIGIL_FAST_PARSE_ISA
