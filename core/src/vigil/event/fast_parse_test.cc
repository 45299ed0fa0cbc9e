// The decoder's fast path against the simdjson path: on any input the two
// decoders must give the same batch and the same rejects, bit for bit.
#include "vigil/event/fast_parse_internal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "vigil/event/decoder.h"
#include "vigil/event/decoder_internal.h"
#include "vigil/testing/generators.h"
#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

using internal::FastParser;

// Concatenation without `"literal" + std::string` (GCC 12 warns on it: PR 105329).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string s;
  (s.append(parts), ...);
  return s;
}

bool FastAccepts(const std::string& doc, size_t readable_extra = 0) {
  auto parser = std::make_unique<FastParser>();
  std::string buf = doc + std::string(readable_extra, '}');
  return parser->Parse(buf.data(), doc.size(), buf.size());
}

// Seeded random events. A tame event is valid JSON and a valid event (in or
// out of the fast subset); a wild one may break anything.
struct Gen {
  std::mt19937_64 rng;
  bool wild = false;

  explicit Gen(uint64_t seed) : rng(seed) {}
  size_t Below(size_t n) { return static_cast<size_t>(rng() % n); }
  bool OneIn(size_t n) { return Below(n) == 0; }
  // A rare deviation: only in wild events.
  bool Odd(size_t n) { return wild && OneIn(n); }

  std::string Number() {
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    char buf[64];
    static constexpr int kUsual[] = {0, 1, 2, 3, 4, 6, 7};
    switch (Odd(12) ? 8 : OneIn(24) ? 5 : kUsual[Below(7)]) {
      case 0: return std::to_string(static_cast<int64_t>(Below(100000)) - 50000);
      case 1: std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(Below(8)), unit(rng) * 1000); return buf;
      case 2: std::snprintf(buf, sizeof(buf), "%.*e", static_cast<int>(Below(17)), unit(rng) * 1e5); return buf;
      case 3:
        std::snprintf(buf, sizeof(buf), "%.17g", unit(rng) * std::pow(10.0, static_cast<int>(Below(60)) - 30));
        return buf;
      case 4: std::snprintf(buf, sizeof(buf), "%.3f", 21.5 + unit(rng)); return buf;
      case 5: {
        std::string digits;  // long mantissas, around the 19-digit and 2^53 limits
        const size_t n = 14 + Below(8);
        for (size_t i = 0; i < n; ++i) digits.push_back(static_cast<char>('0' + (i == 0 ? 1 + Below(9) : Below(10))));
        if (OneIn(2)) digits.insert(digits.begin() + static_cast<std::ptrdiff_t>(1 + Below(n - 1)), '.');
        return digits;
      }
      case 6: return Cat("1e", std::to_string(static_cast<int>(Below(50)) - 25));
      case 7: return Cat(std::to_string(Below(10)), "E+", std::to_string(Below(30)));
      default: {
        static const char* kOdd[] = {"-0", "-0.0", "0", "01", "1.", ".5", "-", "1e", "1e+", "+1", "1e400", "1e-400",
                                     "0.0000000000000000000000001", "9007199254740993", "9007199254740992",
                                     "123456789012345678901234", "NaN", "Infinity", "-Infinity", "1.5e-22", "4.e5",
                                     "0e999", "2.2250738585072014e-308", "1.7976931348623157e308", "-1e-7",
                                     "0.95000000000000000000", "0.30000000000000000004", "-0.100000000000000000000001"};
        return kOdd[Below(sizeof(kOdd) / sizeof(kOdd[0]))];
      }
    }
  }

  std::string Text(const char* base) {
    const std::string s = base;
    if (!wild) return OneIn(20) ? s + "\\u00e9" : s + std::to_string(Below(1000));  // an escape: valid, not fast
    switch (Below(16)) {
      case 0: return "";
      case 1: return s + "\\\"q";
      case 2: return s + "\xc3\xa9";  // UTF-8
      case 3: return s + "\t";        // raw control character: invalid JSON
      case 4: return std::string(300, 'x');
      case 5: return s + "\xff";  // invalid UTF-8
      case 6: return s + "\x7f";
      default: return s + std::to_string(Below(1000));
    }
  }

  std::string Ts() {
    switch (Odd(4) ? Below(4) : 4 + Below(8)) {
      case 0: return Number();
      case 1: return OneIn(2) ? "true" : "null";
      case 2: return "\"yesterday\"";
      case 3: return std::to_string(static_cast<int64_t>(Below(1000)));  // out of range
      case 4: return std::to_string(1795428000000LL + static_cast<int64_t>(Below(100000000)));
      default: break;
    }
    const bool sane = !Odd(2);
    const int year = sane ? 2020 + static_cast<int>(Below(8)) : 1999 + static_cast<int>(Below(103));
    const int month = sane ? 1 + static_cast<int>(Below(12)) : static_cast<int>(Below(14));
    const int day = sane ? 1 + static_cast<int>(Below(28)) : static_cast<int>(Below(33));
    const int hour = static_cast<int>(Below(sane ? 24 : 26));
    const int minute = static_cast<int>(Below(sane ? 60 : 61));
    const int second = static_cast<int>(Below(sane ? 61 : 62));
    static const char* kSep[] = {"T", "t", " ", "x"};
    static const char* kFrac[] = {".123", ".000", ".999", "", ".5", ".1234567", ".", ".12a"};
    static const char* kZone[] = {"Z", "z", "+02:00", "-05:30", "", "+2:00", "Zx"};
    char buf[96];
    std::snprintf(buf, sizeof(buf), "\"%04d-%02d-%02d%s%02d:%02d:%02d%s%s\"", year, month, day,
                  kSep[OneIn(6) ? Below(wild ? 4 : 3) : 0], hour, minute, second,
                  kFrac[OneIn(3) ? Below(wild ? 8 : 6) : 0], kZone[OneIn(4) ? Below(wild ? 7 : 4) : 0]);
    return buf;
  }

  std::string Ws() {
    if (OneIn(200)) return OneIn(2) ? "\n" : "\t";  // valid JSON, not in the fast subset
    return OneIn(8) ? (OneIn(4) ? "  " : " ") : "";
  }

  std::string Metrics() {
    if (Odd(10)) {
      static const char* kBad[] = {"[1]", "{}", "\"hot\"", "{\"x\":1,}", "{\"x\" 1}"};
      return kBad[Below(5)];
    }
    static const char* kNames[] = {"temperature", "vibration", "pressure", "x", "a_very_long_metric_name_here", ""};
    std::vector<std::string> names(kNames, kNames + 6);
    std::shuffle(names.begin(), names.end(), rng);
    const size_t n = OneIn(40) ? 60 + Below(10) : 1 + Below(4);
    std::string m = Cat("{", Ws());
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) m += Cat(Ws(), ",", Ws());
      std::string name = n > 6 ? Cat("m", std::to_string(i)) : Odd(10) ? names[Below(6)] : names[i];
      if (OneIn(30)) name = Text("m");
      m += Cat("\"", name, "\"", Ws(), ":", Ws());
      if (Odd(20)) {
        static const char* kBad[] = {"\"1\"", "true", "{}", "null"};
        m += kBad[Below(4)];
      } else {
        m += Number();
      }
    }
    return Cat(m, Ws(), "}");
  }

  std::string Tags() {
    if (Odd(4)) {
      static const char* kBad[] = {R"({"device_class":3})", "[]", R"({"device_class":"pump",})"};
      return kBad[Below(3)];
    }
    switch (Below(8)) {
      case 0: return "{}";
      case 1: return R"({"site":{"a":1},"device_class":"fan"})";
      case 2: return R"({"device_class":"pump","device_class":"fan"})";
      case 3: return R"({"n":12.5,"b":true,"device_class":"valve"})";
      default: return Cat("{\"device_class\":\"", Text("pump"), "\",", Ws(), "\"site\":\"plant-1\"}");
    }
  }

  std::string Event() {
    wild = OneIn(2);
    std::vector<std::string> members;
    auto add = [&](const std::string& key, const std::string& value) {
      members.push_back(Cat("\"", key, "\"", Ws(), ":", Ws(), value));
    };
    if (OneIn(3)) {
      static const char* kVersions[] = {"2", "\"1\"", "1.0", "01", "-1", "99999999999999999999", "3"};
      add("schema_version", Odd(3) ? kVersions[Below(7)] : OneIn(4) ? "2" : "1");
    }
    if (!Odd(10)) add("event_id", Odd(10) ? "7" : Cat("\"", Text("e-"), "\""));
    if (!Odd(10)) add("device_id", Cat("\"", Text("dev-"), "\""));
    if (!Odd(10)) add("ts", Ts());
    if (!Odd(10)) add("metrics", Metrics());
    if (OneIn(2)) add("tags", Tags());
    if (OneIn(8)) {
      static const char* kExtra[] = {"\"x\"", "12", "-0.5e3", "{\"a\":[1,2]}", "[1]", "true", "null", "tru", "1x"};
      add(OneIn(2) ? "extra" : "ts_note", kExtra[Below(wild ? 9 : 7)]);
    }
    if (Odd(10) && !members.empty()) members.push_back(members[Below(members.size())]);  // duplicate key
    std::shuffle(members.begin(), members.end(), rng);
    std::string doc = Cat(Ws(), "{", Ws());
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) doc += Cat(Ws(), ",", Ws());
      doc += members[i];
    }
    doc += Cat(Ws(), "}", Ws());
    switch (Odd(3) ? Below(5) : 5) {
      case 0: doc.resize(Below(doc.size())); break;  // truncated
      case 1: doc.insert(Below(doc.size()), 1, static_cast<char>(Below(256))); break;
      case 2: doc += " {}"; break;
      case 3: doc += "x"; break;
      case 4: doc = Cat("[", doc, "]"); break;
      default: break;
    }
    return doc;
  }
};

void ExpectSameDecode(const EventBatch& fast, const std::vector<Reject>& fast_rejects, const EventBatch& ref,
                      const std::vector<Reject>& ref_rejects, const std::vector<std::string>& docs) {
  ASSERT_EQ(fast.size(), ref.size());
  for (int64_t i = 0; i < fast.size(); ++i) {
    const std::string& doc = docs[ref.source_index(i)];
    ASSERT_EQ(fast.source_index(i), ref.source_index(i)) << doc;
    ASSERT_EQ(fast.event_id(i), ref.event_id(i)) << doc;
    ASSERT_EQ(fast.device_id(i), ref.device_id(i)) << doc;
    ASSERT_EQ(fast.device_class(i), ref.device_class(i)) << doc;
    ASSERT_EQ(fast.ts_ms(i), ref.ts_ms(i)) << doc;
    ASSERT_EQ(fast.schema_version(i), ref.schema_version(i)) << doc;
    ASSERT_EQ(fast.metric_ids(i).size(), ref.metric_ids(i).size()) << doc;
    for (size_t k = 0; k < ref.metric_ids(i).size(); ++k) {
      ASSERT_EQ(fast.metric_name(fast.metric_ids(i)[k]), ref.metric_name(ref.metric_ids(i)[k])) << doc;
      ASSERT_EQ(std::bit_cast<uint64_t>(fast.metric_values(i)[k]), std::bit_cast<uint64_t>(ref.metric_values(i)[k]))
          << doc << " metric " << k;
    }
  }
  ASSERT_EQ(fast_rejects.size(), ref_rejects.size());
  for (size_t k = 0; k < ref_rejects.size(); ++k) {
    ASSERT_EQ(fast_rejects[k].index, ref_rejects[k].index);
    ASSERT_EQ(fast_rejects[k].reason, ref_rejects[k].reason) << docs[ref_rejects[k].index];
    ASSERT_EQ(fast_rejects[k].detail, ref_rejects[k].detail) << docs[ref_rejects[k].index];
  }
}

TEST(FastParseTest, AgreesWithSimdjsonOnRandomEvents) {
  DecoderOptions opts;
  opts.schema_versions = {1, 2};
  opts.max_metrics = 64;
  ASSERT_OK_AND_ASSIGN(auto fast, internal::MakeDecoder(opts, true));
  ASSERT_OK_AND_ASSIGN(auto ref, internal::MakeDecoder(opts, false));
  Gen gen(20261124);
  int64_t accepted = 0, fast_accepted = 0, total = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> docs;
    std::string data;
    std::vector<int32_t> offsets{0};
    for (int i = 0; i < 100; ++i) {
      docs.push_back(gen.Event());
      fast_accepted += FastAccepts(docs.back());
      data += docs.back();
      offsets.push_back(static_cast<int32_t>(data.size()));
    }
    const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
    EventBatch a, b;
    std::vector<Reject> ra, rb;
    ASSERT_OK(fast->Decode(bytes, offsets.data(), 100, &a, &ra));
    ASSERT_OK(ref->Decode(bytes, offsets.data(), 100, &b, &rb));
    ExpectSameDecode(a, ra, b, rb, docs);
    if (HasFatalFailure()) return;
    accepted += b.size();
    total += 100;
  }
  // The mix must exercise both paths: many events in the fast subset, many
  // accepted by simdjson only, and many rejects.
  EXPECT_GT(fast_accepted, total / 4) << fast_accepted << " of " << total;
  EXPECT_GT(accepted - fast_accepted, total / 20) << accepted << " of " << total;
  EXPECT_LT(accepted, total * 3 / 4) << accepted << " of " << total;
}

TEST(FastParseTest, NumbersMatchStrtodBitForBit) {
  Gen gen(7);
  gen.wild = true;
  auto parser = std::make_unique<FastParser>();
  int taken = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string num = gen.Number();
    const std::string doc =
        R"({"event_id":"e","device_id":"d","ts":1795428000000,"metrics":{"x":)" + num + "}}";
    if (!parser->Parse(doc.data(), doc.size(), doc.size())) continue;
    ++taken;
    const double want = std::strtod(num.c_str(), nullptr);
    ASSERT_EQ(std::bit_cast<uint64_t>(parser->event().metric_values[0]), std::bit_cast<uint64_t>(want)) << num;
  }
  EXPECT_GT(taken, 100000);
}

TEST(FastParseTest, AcceptsTheUsualEventsWhereverTheyLie) {
  auto ev = testing::MakeJsonEvents(200, 11, 5, true);
  auto parser = std::make_unique<FastParser>();
  for (int64_t i = 0; i < ev.size(); ++i) {
    const size_t b = static_cast<size_t>(ev.offsets[i]), e = static_cast<size_t>(ev.offsets[i + 1]);
    // Read in place (the bytes after the value are readable) and through the copy (they are not).
    for (size_t readable : {ev.data.size() - b, e - b}) {
      ASSERT_TRUE(parser->Parse(ev.data.data() + b, e - b, readable)) << ev.data.substr(b, e - b);
      const auto& f = parser->event();
      EXPECT_EQ(f.num_metrics, 3u);
      EXPECT_EQ(f.metric_names[1], "vibration");
      EXPECT_EQ(f.device_class, "pump");
      EXPECT_EQ(f.ts_ms, 1795428000000LL + (static_cast<int64_t>(i) / 5) * 1000);
    }
  }
  EXPECT_TRUE(FastAccepts(R"({"event_id":"e","device_id":"d","ts":1,"metrics":{"x":0.30000000000000004,)"
                          R"("y":12345678901234567890,"z":-1.7976931348623157e308,"w":5e-324}})"));
  EXPECT_TRUE(FastAccepts(R"(  { "event_id" : "e" , "device_id":"d", "ts": "2024-02-29T23:59:60Z",)"
                          R"( "metrics": {"x": -0.0}, "note": 5, "tags": {}}  )"));
}

TEST(FastParseTest, DeclinesWhatItDoesNotHandle) {
  const std::string base = R"("event_id":"e","device_id":"d","ts":1795428000000)";
  const std::string good = "{" + base + R"(,"metrics":{"x":1.5}})";
  ASSERT_TRUE(FastAccepts(good));
  for (const std::string& doc : std::vector<std::string>{
           "{" + base + R"(,"metrics":{"x\"":1.5}})",           // escape
           "{" + base + ",\"metrics\":{\"\xc3\xa9\":1.5}}",     // UTF-8
           "{" + base + ",\n\"metrics\":{\"x\":1.5}}",          // newline as whitespace
           "{" + base + R"(,"metrics":{"x":1.5},"ts":5})",      // duplicate key
           "{" + base + R"(,"metrics":{"x":1.5},"o":{}})",      // unknown key, object value
           "{" + base + R"(,"metrics":{"x":1e400}})",
           "{" + base + R"(,"metrics":{"x":01}})",
           "{" + base + R"(,"metrics":{"x":1.5})",              // unclosed
           "{" + base + R"(,"metrics":{"x":1.5}}x)",
           "{" + base + R"(,"metrics":{}})",
           "{" + base + R"(,"metrics":{"x":1.5},"tags":{"device_class":1}})",
           std::string(R"({"event_id":"e","device_id":"d","ts":1795428000000.5,"metrics":{"x":1}})"),
           std::string(R"({"event_id":"e","device_id":"d","metrics":{"x":1}})"),  // ts missing
       }) {
    EXPECT_FALSE(FastAccepts(doc)) << doc;
    EXPECT_FALSE(FastAccepts(doc, 64)) << doc;
  }
  std::string many = "{" + base + ",\"metrics\":{";
  for (size_t i = 0; i <= internal::FastEvent::kMaxMetrics; ++i) {
    many.append(i ? ",\"m" : "\"m").append(std::to_string(i)).append("\":1");
  }
  EXPECT_FALSE(FastAccepts(many + "}}"));
}

// Quotes and the end of the value on both sides of the 64-byte block edges.
TEST(FastParseTest, BlockEdges) {
  ASSERT_OK_AND_ASSIGN(auto fast, internal::MakeDecoder(DecoderOptions::Defaults(), true));
  ASSERT_OK_AND_ASSIGN(auto ref, internal::MakeDecoder(DecoderOptions::Defaults(), false));
  for (size_t pad = 0; pad < 140; ++pad) {
    const std::string doc = R"({"event_id":")" + std::string(pad % 70 + 1, 'e') + R"(","device_id":"d",)" +
                            R"("ts":"2026-11-23T10:00:00.000Z","metrics":{"x":)" + std::to_string(pad) + "}" +
                            std::string(pad / 70, ' ') + "}";
    std::vector<std::string> docs{doc, doc, doc.substr(0, doc.size() - 1)};
    std::string data = docs[0] + docs[1] + docs[2];
    std::vector<int32_t> offsets{0, static_cast<int32_t>(doc.size()), static_cast<int32_t>(2 * doc.size()),
                                 static_cast<int32_t>(data.size())};
    EventBatch a, b;
    std::vector<Reject> ra, rb;
    const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
    ASSERT_OK(fast->Decode(bytes, offsets.data(), 3, &a, &ra));
    ASSERT_OK(ref->Decode(bytes, offsets.data(), 3, &b, &rb));
    ExpectSameDecode(a, ra, b, rb, docs);
    ASSERT_EQ(a.size(), 2) << doc;
    EXPECT_TRUE(FastAccepts(doc)) << doc;
  }
}

}  // namespace
}  // namespace vigil
