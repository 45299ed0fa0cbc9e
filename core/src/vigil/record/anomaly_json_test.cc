#include "vigil/record/anomaly_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

// Owns the bytes behind a StringColumnView; an empty optional is a null.
struct Strings {
  explicit Strings(std::vector<std::optional<std::string>> values) {
    offsets.push_back(0);
    validity.assign((values.size() + 7) / 8, 0);
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i]) {
        data += *values[i];
        validity[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
      }
      offsets.push_back(static_cast<int32_t>(data.size()));
    }
    n = static_cast<int64_t>(values.size());
  }
  StringColumnView View() const {
    return {reinterpret_cast<const uint8_t*>(data.data()), offsets.data(), validity.data(), n};
  }
  std::string data;
  std::vector<int32_t> offsets;
  std::vector<uint8_t> validity;
  int64_t n = 0;
};

struct Fixture {
  Strings id{{"a1", "b2"}}, event{{"e-1", "e-\"2\""}}, device{{"dev-1", "d\xc3\xa9v\n"}},
      metric{{"temp", std::nullopt}}, detectors{{"ewma,rules", ""}},
      explanation{{R"({"k":1})", std::nullopt}}, topic{{"t", "t"}};
  std::vector<int64_t> ts{1767225600123, 1767225601000}, offset{10, 11}, kts{1767225600200, 1767225601100},
      detected{1795430000000, 1795430000001};
  std::vector<double> value{99.5, 3.0}, lo{10.0, -std::numeric_limits<double>::infinity()},
      hi{30.0, std::nan("")}, score{0.97, 1e-05};
  std::vector<int32_t> severity{91, 7}, partition{0, 1};

  AnomalyColumns Columns() const {
    AnomalyColumns c;
    c.n = 2;
    c.anomaly_id = id.View(); c.event_id = event.View(); c.device_id = device.View();
    c.metric = metric.View(); c.detectors = detectors.View(); c.explanation = explanation.View();
    c.kafka_topic = topic.View();
    c.event_time_ms = ts.data(); c.value = value.data(); c.expected_low = lo.data();
    c.expected_high = hi.data(); c.score = score.data(); c.severity = severity.data();
    c.kafka_partition = partition.data(); c.kafka_offset = offset.data();
    c.kafka_timestamp_ms = kts.data(); c.detected_at_ms = detected.data();
    return c;
  }
};

TEST(AnomalyJson, WritesOneLinePerRecordInTheDocumentedOrder) {
  Fixture f;
  std::string out;
  std::vector<int64_t> ends;
  ASSERT_OK(WriteAnomalyJsonLines(f.Columns(), {"0.1.0", "vigil-0.1.0/abc"}, &out, &ends));
  const std::string first =
      R"({"anomaly_id":"a1","event_id":"e-1","device_id":"dev-1","metric":"temp",)"
      R"("event_time":"2026-01-01T00:00:00.123Z","event_time_ms":1767225600123,"value":99.5,)"
      R"("expected_low":10.0,"expected_high":30.0,"score":0.97,"severity":91,)"
      R"("detectors":["ewma","rules"],"explanation":"{\"k\":1}","kafka_topic":"t",)"
      R"("kafka_partition":0,"kafka_offset":10,"kafka_timestamp_ms":1767225600200,)"
      R"("pipeline_version":"0.1.0","detector_version":"vigil-0.1.0/abc",)"
      R"("detected_at":"2026-11-23T10:33:20.000Z"})" "\n";
  const std::string second =
      R"({"anomaly_id":"b2","event_id":"e-\"2\"","device_id":"d)" "\xc3\xa9" R"(v\n","metric":null,)"
      R"("event_time":"2026-01-01T00:00:01.000Z","event_time_ms":1767225601000,"value":3.0,)"
      R"("expected_low":null,"expected_high":null,"score":1e-05,"severity":7,)"
      R"("detectors":[],"explanation":"","kafka_topic":"t",)"
      R"("kafka_partition":1,"kafka_offset":11,"kafka_timestamp_ms":1767225601100,)"
      R"("pipeline_version":"0.1.0","detector_version":"vigil-0.1.0/abc",)"
      R"("detected_at":"2026-11-23T10:33:20.001Z"})" "\n";
  EXPECT_EQ(out, first + second);
  EXPECT_EQ(ends, (std::vector<int64_t>{static_cast<int64_t>(first.size()),
                                        static_cast<int64_t>(first.size() + second.size())}));
}

TEST(AnomalyJson, EscapesControlCharactersAndKeepsUtf8) {
  std::string out;
  AppendJsonString(std::string("a\x01\tb\\\x1f/\xe2\x82\xac", 10), &out);
  EXPECT_EQ(out, "\"a\\u0001\\tb\\\\\\u001f/\xe2\x82\xac\"");
}

TEST(AnomalyJson, DoublesReadBackAndLookLikePythonFloats) {
  for (double v : {0.1, 1.0 / 3.0, -2.5e-7, 123456789.0, 1e16, 0.0}) {
    std::string out;
    AppendJsonDouble(v, &out);
    EXPECT_EQ(std::stod(out), v) << out;
  }
  std::string out;
  AppendJsonDouble(2.0, &out);
  AppendJsonDouble(std::numeric_limits<double>::infinity(), &out);
  EXPECT_EQ(out, "2.0null");
}

TEST(AnomalyJson, ShortOrMissingColumnsAreInvalid) {
  Fixture f;
  AnomalyColumns c = f.Columns();
  c.n = 3;  // more rows than the string columns hold
  std::string out;
  std::vector<int64_t> ends;
  ASSERT_RAISES(Invalid, WriteAnomalyJsonLines(c, {"p", "d"}, &out, &ends));
  c = f.Columns();
  c.score = nullptr;
  ASSERT_RAISES(Invalid, WriteAnomalyJsonLines(c, {"p", "d"}, &out, &ends));
  EXPECT_TRUE(out.empty() && ends.empty());
}

}  // namespace
}  // namespace vigil
