#include "vigil/event/decoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vigil/event/decoder_internal.h"
#include "vigil/testing/generators.h"
#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

constexpr const char* kGood =
    R"({"schema_version": 1, "event_id": "e-1", "device_id": "dev-1", "ts": "2026-11-23T10:00:00.000Z",)"
    R"( "metrics": {"temperature": 21.5, "vibration": 0.02}, "tags": {"device_class": "pump", "site": "p1"}})";

struct Decoded {
  EventBatch batch;
  std::vector<Reject> rejects;
};

Decoded DecodeAll(const std::vector<std::string>& docs, DecoderOptions opts = DecoderOptions::Defaults()) {
  std::string data;
  std::vector<int32_t> offsets{0};
  for (const auto& d : docs) {
    data += d;
    offsets.push_back(static_cast<int32_t>(data.size()));
  }
  auto decoder = Decoder::Make(opts);
  EXPECT_OK(decoder);
  Decoded out;
  EXPECT_OK((*decoder)->Decode(reinterpret_cast<const uint8_t*>(data.data()), offsets.data(),
                               static_cast<int64_t>(docs.size()), &out.batch, &out.rejects));
  return out;
}

RejectReason OnlyReject(const std::string& doc, DecoderOptions opts = DecoderOptions::Defaults()) {
  Decoded d = DecodeAll({doc}, opts);
  EXPECT_EQ(d.batch.size(), 0) << doc;
  EXPECT_EQ(d.rejects.size(), 1u) << doc;
  if (d.rejects.empty()) return RejectReason::kNullInput;
  EXPECT_EQ(d.rejects[0].index, 0u);
  EXPECT_FALSE(d.rejects[0].detail.empty());
  return d.rejects[0].reason;
}

TEST(DecoderTest, DecodesAGoodEvent) {
  Decoded d = DecodeAll({kGood});
  ASSERT_EQ(d.rejects.size(), 0u);
  ASSERT_EQ(d.batch.size(), 1);
  EXPECT_EQ(d.batch.event_id(0), "e-1");
  EXPECT_EQ(d.batch.device_id(0), "dev-1");
  EXPECT_EQ(d.batch.device_class(0), "pump");
  EXPECT_EQ(d.batch.ts_ms(0), 1795428000000LL);
  EXPECT_EQ(d.batch.schema_version(0), 1);
  ASSERT_EQ(d.batch.metric_ids(0).size(), 2u);
  EXPECT_EQ(d.batch.metric_name(d.batch.metric_ids(0)[0]), "temperature");
  EXPECT_DOUBLE_EQ(d.batch.metric_values(0)[0], 21.5);
  EXPECT_DOUBLE_EQ(d.batch.metric_values(0)[1], 0.02);
}

TEST(DecoderTest, BothTimestampForms) {
  Decoded d = DecodeAll({
      R"({"event_id":"a","device_id":"d","ts":1795428000123,"metrics":{"x":1}})",
      R"({"event_id":"b","device_id":"d","ts":"2026-11-23T12:00:00.123+02:00","metrics":{"x":1}})",
      R"({"event_id":"c","device_id":"d","ts":"2026-11-23T10:00:00.1234567Z","metrics":{"x":1}})",
      R"({"event_id":"e","device_id":"d","ts":1795428000123.9,"metrics":{"x":1}})",
  });
  ASSERT_EQ(d.rejects.size(), 0u) << d.rejects[0].detail;
  EXPECT_EQ(d.batch.ts_ms(0), 1795428000123LL);
  EXPECT_EQ(d.batch.ts_ms(1), 1795428000123LL);
  EXPECT_EQ(d.batch.ts_ms(2), 1795428000123LL);
  EXPECT_EQ(d.batch.ts_ms(3), 1795428000123LL);
}

TEST(DecoderTest, EveryRejectReason) {
  const std::string base = R"("event_id":"e","device_id":"d","ts":1795428000000)";
  EXPECT_EQ(OnlyReject("{not json"), RejectReason::kMalformedJson);
  EXPECT_EQ(OnlyReject("[1,2]"), RejectReason::kMalformedJson);
  EXPECT_EQ(OnlyReject("{" + base + R"(,"metrics":{"x":1}} {})"), RejectReason::kMalformedJson);
  EXPECT_EQ(OnlyReject(R"({"device_id":"d","ts":1795428000000,"metrics":{"x":1}})"), RejectReason::kMissingField);
  EXPECT_EQ(OnlyReject(R"({"event_id":"e","ts":1795428000000,"metrics":{"x":1}})"), RejectReason::kMissingField);
  EXPECT_EQ(OnlyReject(R"({"event_id":"e","device_id":"d","metrics":{"x":1}})"), RejectReason::kMissingField);
  EXPECT_EQ(OnlyReject("{" + base + "}"), RejectReason::kMissingField);
  EXPECT_EQ(OnlyReject(R"({"event_id":7,"device_id":"d","ts":1795428000000,"metrics":{"x":1}})"),
            RejectReason::kWrongType);
  EXPECT_EQ(OnlyReject("{" + base + R"(,"metrics":{"x":"hot"}})"), RejectReason::kWrongType);
  EXPECT_EQ(OnlyReject("{" + base + R"(,"metrics":[1]})"), RejectReason::kWrongType);
  EXPECT_EQ(OnlyReject("{" + base + R"(,"metrics":{"x":1},"tags":{"device_class":3}})"), RejectReason::kWrongType);
  EXPECT_EQ(OnlyReject(R"({"event_id":"e","device_id":"d","ts":true,"metrics":{"x":1}})"), RejectReason::kWrongType);
  EXPECT_EQ(OnlyReject("{" + base + R"(,"metrics":{"x":NaN}})"), RejectReason::kNonFinite);
  EXPECT_EQ(OnlyReject("{" + base + R"(,"metrics":{"x":Infinity}})"), RejectReason::kNonFinite);
  EXPECT_EQ(OnlyReject("{" + base + R"(,"metrics":{"x":1e999}})"), RejectReason::kNonFinite);
  EXPECT_EQ(OnlyReject(R"({"event_id":"e","device_id":"d","ts":5,"metrics":{"x":1}})"),
            RejectReason::kTimestampOutOfRange);
  EXPECT_EQ(OnlyReject(R"({"event_id":"e","device_id":"d","ts":"2150-01-01T00:00:00Z","metrics":{"x":1}})"),
            RejectReason::kTimestampOutOfRange);
  EXPECT_EQ(OnlyReject(R"({"event_id":"e","device_id":"d","ts":"yesterday","metrics":{"x":1}})"),
            RejectReason::kBadTimestamp);
  EXPECT_EQ(OnlyReject(R"({"event_id":"e","device_id":"d","ts":"2026-02-30T00:00:00Z","metrics":{"x":1}})"),
            RejectReason::kBadTimestamp);
  DecoderOptions small;
  small.max_payload_bytes = 20;
  EXPECT_EQ(OnlyReject(kGood, small), RejectReason::kPayloadTooLarge);
  DecoderOptions few;
  few.max_metrics = 1;
  EXPECT_EQ(OnlyReject(kGood, few), RejectReason::kTooManyMetrics);
  EXPECT_EQ(OnlyReject("{\"schema_version\":2," + base + R"(,"metrics":{"x":1}})"),
            RejectReason::kUnknownSchemaVersion);
  EXPECT_EQ(OnlyReject("{" + base + R"(,"metrics":{}})"), RejectReason::kEmptyMetrics);
  EXPECT_EQ(OnlyReject(R"({"event_id":"","device_id":"d","ts":1795428000000,"metrics":{"x":1}})"),
            RejectReason::kInvalidId);
  EXPECT_EQ(OnlyReject("{" + base + R"(,"metrics":{"x":1,"x":2}})"), RejectReason::kDuplicateMetric);
}

TEST(DecoderTest, RejectNamesAreStableSnakeCase) {
  EXPECT_EQ(RejectReasonName(RejectReason::kMalformedJson), "malformed_json");
  EXPECT_EQ(RejectReasonName(RejectReason::kTimestampOutOfRange), "timestamp_out_of_range");
  EXPECT_EQ(RejectReasonName(RejectReason::kUnknownSchemaVersion), "unknown_schema_version");
  EXPECT_EQ(RejectReasonName(RejectReason::kNullInput), "null_input");
}

TEST(DecoderTest, EveryIndexIsAccountedFor) {
  std::vector<std::string> docs;
  for (int i = 0; i < 500; ++i) {
    if (i % 7 == 0) {
      docs.push_back("{garbage " + std::to_string(i));
    } else {
      docs.push_back(R"({"event_id":"e)" + std::to_string(i) +
                     R"(","device_id":"d","ts":1795428000000,"metrics":{"x":)" + std::to_string(i) + "}}");
    }
  }
  Decoded d = DecodeAll(docs);
  std::vector<int> seen(docs.size(), 0);
  for (int64_t i = 0; i < d.batch.size(); ++i) {
    ++seen[d.batch.source_index(i)];
    EXPECT_DOUBLE_EQ(d.batch.metric_values(i)[0], d.batch.source_index(i));
  }
  for (const auto& r : d.rejects) ++seen[r.index];
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(seen[i], 1) << i;
  EXPECT_EQ(d.rejects.size(), 72u);
}

TEST(DecoderTest, NullsAndInt64Offsets) {
  std::string data = std::string(kGood) + kGood;
  std::vector<int64_t> offsets{0, static_cast<int64_t>(data.size() / 2), static_cast<int64_t>(data.size() / 2),
                               static_cast<int64_t>(data.size())};
  const uint8_t validity = 0b101;
  ASSERT_OK_AND_ASSIGN(auto decoder, Decoder::Make(DecoderOptions::Defaults()));
  EventBatch batch;
  std::vector<Reject> rejects;
  ASSERT_OK(decoder->Decode(reinterpret_cast<const uint8_t*>(data.data()), offsets.data(), 3, &batch, &rejects,
                            &validity));
  EXPECT_EQ(batch.size(), 2);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].index, 1u);
  EXPECT_EQ(rejects[0].reason, RejectReason::kNullInput);
}

TEST(DecoderTest, DecodeRefsEqualsDecodingTheGatheredValues) {
  // Two buffers, values taken out of order, a null and a reject among them: event k is
  // refs[k], exactly as if the values had been copied into one buffer in that order.
  std::vector<std::string> a, b;
  for (int i = 0; i < 40; ++i) {
    (i % 2 ? a : b).push_back(i % 9 == 4 ? "{broken " + std::to_string(i)
                                         : R"({"event_id":"e)" + std::to_string(i) + R"(","device_id":"d)" +
                                               std::to_string(i % 3) + R"(","ts":1795428000000,"metrics":{"x":)" +
                                               std::to_string(i) + "}}");
  }
  std::string da, db;
  std::vector<size_t> oa{0}, ob{0};
  for (const auto& v : a) oa.push_back((da += v).size());
  for (const auto& v : b) ob.push_back((db += v).size());
  std::vector<ValueRef> refs;
  std::vector<std::string> gathered;
  for (size_t j = 0; j < 20; ++j) {
    size_t ia = 19 - j, ib = (j * 7) % 20;
    refs.push_back({reinterpret_cast<const uint8_t*>(da.data()) + oa[ia], oa[ia + 1] - oa[ia], da.size() - oa[ia]});
    gathered.push_back(a[ia]);
    refs.push_back({reinterpret_cast<const uint8_t*>(db.data()) + ob[ib], ob[ib + 1] - ob[ib], db.size() - ob[ib]});
    gathered.push_back(b[ib]);
  }
  refs.push_back({nullptr, 0, 0});
  ASSERT_OK_AND_ASSIGN(auto decoder, Decoder::Make(DecoderOptions::Defaults()));
  EventBatch batch;
  std::vector<Reject> rejects;
  ASSERT_OK(decoder->DecodeRefs(refs.data(), static_cast<int64_t>(refs.size()), &batch, &rejects));
  Decoded want = DecodeAll(gathered);
  ASSERT_EQ(batch.size(), want.batch.size());
  for (int64_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(batch.source_index(i), want.batch.source_index(i));
    EXPECT_EQ(batch.event_id(i), want.batch.event_id(i));
    EXPECT_EQ(batch.device_id(i), want.batch.device_id(i));
    EXPECT_DOUBLE_EQ(batch.metric_values(i)[0], want.batch.metric_values(i)[0]);
  }
  ASSERT_EQ(rejects.size(), want.rejects.size() + 1);
  for (size_t r = 0; r < want.rejects.size(); ++r) {
    EXPECT_EQ(rejects[r].index, want.rejects[r].index);
    EXPECT_EQ(rejects[r].reason, want.rejects[r].reason);
  }
  EXPECT_EQ(rejects.back().index, refs.size() - 1);
  EXPECT_EQ(rejects.back().reason, RejectReason::kNullInput);

  ValueRef bad{reinterpret_cast<const uint8_t*>(da.data()), 10, 5};
  ASSERT_RAISES(Invalid, decoder->DecodeRefs(&bad, 1, &batch, &rejects));
}

TEST(DecoderTest, BadOffsetsAreACallError) {
  ASSERT_OK_AND_ASSIGN(auto decoder, Decoder::Make(DecoderOptions::Defaults()));
  std::vector<int32_t> offsets{0, 10, 5};
  std::string data(16, ' ');
  EventBatch batch;
  std::vector<Reject> rejects;
  ASSERT_RAISES(Invalid, decoder->Decode(reinterpret_cast<const uint8_t*>(data.data()), offsets.data(), 2, &batch,
                                         &rejects));
}

TEST(DecoderTest, DecodesLines) {
  std::string text = std::string(kGood) + "\n\n  \n{oops}\n" + kGood;
  ASSERT_OK_AND_ASSIGN(auto decoder, Decoder::Make(DecoderOptions::Defaults()));
  EventBatch batch;
  std::vector<Reject> rejects;
  ASSERT_OK(decoder->DecodeLines(text, &batch, &rejects));
  ASSERT_EQ(batch.size(), 2);
  EXPECT_EQ(batch.source_index(0), 0u);
  EXPECT_EQ(batch.source_index(1), 4u);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].index, 3u);
}

TEST(DecoderTest, GeneratedEventsAllDecodeAndDecoderIsReusable) {
  ASSERT_OK_AND_ASSIGN(auto decoder, Decoder::Make(DecoderOptions::Defaults()));
  for (bool rfc : {true, false}) {
    auto ev = testing::MakeJsonEvents(1000, 3, 10, rfc);
    EventBatch batch;
    std::vector<Reject> rejects;
    ASSERT_OK(decoder->Decode(reinterpret_cast<const uint8_t*>(ev.data.data()), ev.offsets.data(), ev.size(),
                              &batch, &rejects));
    EXPECT_EQ(rejects.size(), 0u);
    ASSERT_EQ(batch.size(), 1000);
    EXPECT_EQ(batch.metric_names().size(), 3u);
    EXPECT_EQ(batch.ts_ms(999), 1795428000000LL + 99 * 1000);
  }
}

TEST(DecoderTest, OptionsAreValidated) {
  DecoderOptions o;
  o.schema_versions.clear();
  ASSERT_RAISES(Invalid, Decoder::Make(o));
  o = DecoderOptions();
  o.min_ts_ms = o.max_ts_ms;
  ASSERT_RAISES(Invalid, Decoder::Make(o));
}

TEST(TimestampTest, RoundTripAndErrors) {
  ASSERT_OK_AND_ASSIGN(int64_t ms, ParseRfc3339Ms("1970-01-01T00:00:00Z"));
  EXPECT_EQ(ms, 0);
  ASSERT_OK_AND_ASSIGN(ms, ParseRfc3339Ms("2024-02-29T23:59:59.999Z"));
  EXPECT_EQ(FormatRfc3339Ms(ms), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Ms(-1), "1969-12-31T23:59:59.999Z");
  ASSERT_RAISES(Invalid, ParseRfc3339Ms("2023-02-29T00:00:00Z"));
  ASSERT_RAISES(Invalid, ParseRfc3339Ms("2023-01-01T00:00:00"));
  ASSERT_RAISES(Invalid, ParseRfc3339Ms("2023-01-01T25:00:00Z"));
  ASSERT_RAISES(Invalid, ParseRfc3339Ms("2023-01-01T00:00:00Zx"));
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// A batch without a validity bitmap and with a bitmap of all ones must agree
// on every input, including rejects in the middle.
TEST(DecoderTest, StreamAndPerValuePathsAgree) {
  auto ev = testing::MakeJsonEvents(300, 5, 7, true);
  std::vector<std::string> docs;
  for (int64_t i = 0; i < ev.size(); ++i) docs.push_back(ev.data.substr(ev.offsets[i], ev.offsets[i + 1] - ev.offsets[i]));
  docs[20] = R"({"event_id":"e","device_id":"d","ts":true,"metrics":{"x":1}})";
  docs[40] = R"({"event_id":"e","device_id":"d","ts":1795428000000,"metrics":{"x":"hot"}})";
  docs[60] = R"({"event_id":"e","device_id":"d","ts":1795428000000,"metrics":{}})  )";
  docs[150] = R"({"event_id":"e","device_id":"d","ts":1795428000000,"metrics":{"x":1}} {"x":2})";
  docs[200] = "{broken";
  std::string data;
  std::vector<int32_t> offsets{0};
  for (const auto& d : docs) {
    data += d;
    offsets.push_back(static_cast<int32_t>(data.size()));
  }
  std::vector<uint8_t> all_valid((docs.size() + 7) / 8, 0xFF);
  ASSERT_OK_AND_ASSIGN(auto decoder, Decoder::Make(DecoderOptions::Defaults()));
  EventBatch a, b;
  std::vector<Reject> ra, rb;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  ASSERT_OK(decoder->Decode(bytes, offsets.data(), static_cast<int64_t>(docs.size()), &a, &ra));
  ASSERT_OK(decoder->Decode(bytes, offsets.data(), static_cast<int64_t>(docs.size()), &b, &rb, all_valid.data()));
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), 295);
  for (int64_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a.source_index(i), b.source_index(i));
    ASSERT_EQ(a.event_id(i), b.event_id(i));
    ASSERT_EQ(a.ts_ms(i), b.ts_ms(i));
    ASSERT_EQ(std::vector<double>(a.metric_values(i).begin(), a.metric_values(i).end()),
              std::vector<double>(b.metric_values(i).begin(), b.metric_values(i).end()));
  }
  ASSERT_EQ(ra.size(), 5u);
  ASSERT_EQ(rb.size(), 5u);
  for (size_t k = 0; k < ra.size(); ++k) {
    EXPECT_EQ(ra[k].index, rb[k].index);
    EXPECT_EQ(ra[k].reason, rb[k].reason) << ra[k].index << ": " << ra[k].detail << " vs " << rb[k].detail;
  }
  EXPECT_EQ(ra[0].index, 20u);
  EXPECT_EQ(ra[3].reason, RejectReason::kMalformedJson);  // trailing content
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// Found by fuzz_decoder when batches went through simdjson's iterate_many:
// broken documents left the document_stream iterator in an error state. Kept:
// a batch of broken documents must still account for every index.
TEST(DecoderTest, BrokenDocumentsInABatchFallBackCleanly) {
  std::ifstream in(VIGIL_SOURCE_DIR "/core/fuzz/corpus/fuzz_decoder/regression_stream_error_state", std::ios::binary);
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::string data;
  std::vector<int32_t> offsets{0};
  for (int rep = 0; rep < 6; ++rep) {
    size_t begin = 0;
    for (size_t i = 0; i <= text.size(); ++i) {
      if (i == text.size() || text[i] == '\n') {
        data.append(text, begin, i - begin);
        offsets.push_back(static_cast<int32_t>(data.size()));
        begin = i + 1;
      }
    }
  }
  const int64_t n = static_cast<int64_t>(offsets.size()) - 1;
  ASSERT_GE(n, 16);
  ASSERT_OK_AND_ASSIGN(auto decoder, Decoder::Make(DecoderOptions::Defaults()));
  EventBatch batch;
  std::vector<Reject> rejects;
  ASSERT_OK(decoder->Decode(reinterpret_cast<const uint8_t*>(data.data()), offsets.data(), n, &batch, &rejects));
  EXPECT_EQ(batch.size() + static_cast<int64_t>(rejects.size()), n);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST(EventBatchBuilderTest, AddEventIsBeginAddFinishInOneCall) {
  EventBatchBuilder a, b;
  const uint32_t ta = a.InternMetric("t"), va = a.InternMetric("v");
  const std::vector<uint32_t> ids{ta, va};
  const std::vector<double> values{1.5, -2.0};
  ASSERT_OK(a.AddEvent(7, "e-1", "dev-1", 1795428000000LL, 2, "pump", ids, values));
  ASSERT_RAISES(Invalid, a.AddEvent(8, "e-2", "dev-1", 1, 1, "", std::vector<uint32_t>{ta, ta}, values));
  ASSERT_RAISES(Invalid, a.AddEvent(9, "e-3", "dev-1", 1, 1, "", ids, std::vector<double>{1.0, std::nan("")}));
  ASSERT_RAISES(Invalid, a.AddEvent(10, "e-4", "dev-1", 1, 1, "", {}, {}));
  b.BeginEvent(7, "e-1", "dev-1", 1795428000000LL, 2, "pump");
  b.AddMetric("t", 1.5);
  b.AddMetric("v", -2.0);
  ASSERT_OK(b.FinishEvent());
  const EventBatch x = a.Finish(), y = b.Finish();
  ASSERT_EQ(x.size(), 1);  // the rejected calls appended nothing
  ASSERT_EQ(y.size(), 1);
  EXPECT_EQ(x.source_index(0), y.source_index(0));
  EXPECT_EQ(x.event_id(0), y.event_id(0));
  EXPECT_EQ(x.device_id(0), y.device_id(0));
  EXPECT_EQ(x.device_class(0), y.device_class(0));
  EXPECT_EQ(x.ts_ms(0), y.ts_ms(0));
  EXPECT_EQ(x.schema_version(0), 2);
  EXPECT_EQ(x.metric_name(x.metric_ids(0)[1]), "v");
  EXPECT_EQ(std::vector<double>(x.metric_values(0).begin(), x.metric_values(0).end()), values);
  EXPECT_EQ(x.metric_offsets().size(), 2u);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// Found by fuzz_decoder: simdjson 3.0.1 reads 0.30000000000000000004 as 0.115
// (simdjson issue #2093). Both paths must give the correctly rounded value.
TEST(DecoderTest, LongNumbersAreCorrectlyRounded) {
  const std::string head = R"({"event_id":"e","device_id":"d","ts":1795428000000,"metrics":{"a":)";
  const std::vector<std::string> docs = {
      head + R"(0.30000000000000000004,"b":0.95000000000000000000,"c":1.5}})",
      head + R"(0.30000000000000000004,"b":0.95000000000000000000,"c":1.5},"tags":{"x":{}}})",  // not fast
      R"({"event_id":"e","device_id":"d","ts":1795428000000.00000000000000000001,"metrics":{"x":1}})",
  };
  for (bool fast_path : {true, false}) {
    ASSERT_OK_AND_ASSIGN(auto decoder, internal::MakeDecoder(DecoderOptions::Defaults(), fast_path));
    for (const std::string& doc : docs) {
      const int32_t offsets[2] = {0, static_cast<int32_t>(doc.size())};
      EventBatch batch;
      std::vector<Reject> rejects;
      ASSERT_OK(decoder->Decode(reinterpret_cast<const uint8_t*>(doc.data()), offsets, 1, &batch, &rejects));
      ASSERT_EQ(batch.size(), 1) << doc;
      if (batch.metric_values(0).size() == 3) {
        EXPECT_EQ(batch.metric_values(0)[0], 0.3) << doc;
        EXPECT_EQ(batch.metric_values(0)[1], 0.95) << doc;
      }
      EXPECT_EQ(batch.ts_ms(0), 1795428000000LL) << doc;
    }
  }
}

}  // namespace
}  // namespace vigil
