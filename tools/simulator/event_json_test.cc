#include "event_json.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "time_util.h"

namespace vigil::sim {
namespace {

class EventJsonTest : public ::testing::Test {
 protected:
  EventView View() const {
    EventView e;
    e.event_id = "dev-00042-000000001234";
    e.device_id = "dev-00042";
    e.ts_ms = 1795428000000;
    e.metric_names = &names_;
    e.values = &values_;
    e.decimals = &decimals_;
    e.device_class = "pump";
    e.site = "plant-1";
    return e;
  }

  // Parse strictly; false if not JSON.
  bool Parse(const std::string& s, simdjson::dom::element* out) {
    return parser_.parse(s).get(*out) == simdjson::SUCCESS;
  }

  std::vector<std::string> names_{"temperature", "vibration"};
  std::vector<double> values_{21.5, 0.02};
  std::vector<int> decimals_{2, 4};
  simdjson::dom::parser parser_;
};

TEST_F(EventJsonTest, WritesTheDocumentedEvent) {
  std::string out;
  AppendEventJson(View(), &out);
  EXPECT_EQ(out,
            R"({"schema_version":1,"event_id":"dev-00042-000000001234","device_id":"dev-00042",)"
            R"("ts":"2026-11-23T10:00:00.000Z","metrics":{"temperature":21.50,"vibration":0.0200},)"
            R"("tags":{"device_class":"pump","site":"plant-1"}})");
  simdjson::dom::element doc;
  ASSERT_TRUE(Parse(out, &doc));
  EXPECT_EQ(double(doc["metrics"]["vibration"]), 0.02);
}

TEST_F(EventJsonTest, FastPathWritesTheSameBytes) {
  Rng rng(3);
  for (int i = 0; i < 1000; ++i) {
    values_ = {rng.Uniform(-1e4, 1e4), rng.Normal(0, 1e-3)};
    decimals_ = {static_cast<int>(rng.UniformInt(0, 6)), static_cast<int>(rng.UniformInt(0, 6))};
    EventView e = View();
    e.ts_ms = rng.UniformInt(0, 4102444800000);
    if (i % 3 == 1) e.device_class = "";
    if (i % 3 == 2) e.site = "";
    std::string slow, fast;
    AppendEventJson(e, &slow);
    e.plain_strings = true;
    AppendEventJson(e, &fast);
    ASSERT_EQ(fast, slow);
  }
}

TEST_F(EventJsonTest, WritesFixedDecimals) {
  auto num = [](double v, int d) {
    std::string out;
    AppendNumber(v, d, &out);
    return out;
  };
  EXPECT_EQ(num(21.5, 2), "21.50");
  EXPECT_EQ(num(-3.14159, 3), "-3.142");
  EXPECT_EQ(num(-0.00001, 3), "0.000");
  EXPECT_EQ(num(1200.0, 0), "1200");
  EXPECT_EQ(num(0.02, 4), "0.0200");
  EXPECT_EQ(num(-7.0, 1), "-7.0");
  EXPECT_EQ(num(0.1, -1), "0.1");
  EXPECT_EQ(num(1e300, 2), "1e+300");
}

TEST_F(EventJsonTest, EscapesStrings) {
  std::string out;
  AppendJsonString("a\"b\\c\n", &out);
  EXPECT_EQ(out, R"("a\"b\\c\u000a")");
}

TEST_F(EventJsonTest, EveryMalformedKindIsReallyMalformed) {
  Rng rng(7);
  std::string out;
  const char* const kRequired[] = {"event_id", "device_id", "ts", "metrics"};
  for (int round = 0; round < 200; ++round) {
    for (int k = 0; k < kNumMalformedKinds; ++k) {
      const auto kind = static_cast<MalformedKind>(k);
      MakeMalformed(kind, View(), 4096, &rng, &out);
      SCOPED_TRACE(std::string(MalformedKindName(kind)) + ": " + out.substr(0, 200));
      ASSERT_EQ(out.find('\n'), std::string::npos) << "a message must stay one line";
      simdjson::dom::element doc;
      const bool json = Parse(out, &doc);
      switch (kind) {
        case MalformedKind::kInvalidJson:
          EXPECT_FALSE(json);
          break;
        case MalformedKind::kMissingField: {
          ASSERT_TRUE(json);
          int missing = 0;
          for (const char* f : kRequired) missing += doc[f].error() == simdjson::NO_SUCH_FIELD;
          EXPECT_EQ(missing, 1);
          break;
        }
        case MalformedKind::kWrongType: {
          ASSERT_TRUE(json);
          const bool wrong = !doc["device_id"].is_string() || !doc["ts"].is_string() ||
                             !doc["metrics"].is_object() ||
                             !doc["metrics"]["temperature"].is_number();
          EXPECT_TRUE(wrong);
          break;
        }
        case MalformedKind::kNonFinite: {
          EXPECT_FALSE(json) << "NaN / Infinity are not JSON numbers";
          const size_t at = out.find("\"temperature\":");
          ASSERT_NE(at, std::string::npos);
          const std::string token = out.substr(at + 14, out.find(',', at) - at - 14);
          EXPECT_TRUE(token == "NaN" || token == "Infinity" || token == "-Infinity") << token;
          break;
        }
        case MalformedKind::kOversized:
          ASSERT_TRUE(json);
          EXPECT_GE(out.size(), 4096u);
          EXPECT_LE(out.size(), 4200u);
          break;
        case MalformedKind::kBadTimestamp: {
          ASSERT_TRUE(json);
          simdjson::dom::element ts = doc["ts"];
          if (ts.is_string()) {
            Result<int64_t> ms = ParseTimestampMs(std::string(std::string_view(ts)));
            const bool impossible = !ms.ok() || *ms > 4102444800000;  // after 2100
            EXPECT_TRUE(impossible);
          } else {
            EXPECT_LT(int64_t(ts), 0);
          }
          break;
        }
      }
    }
  }
}

}  // namespace
}  // namespace vigil::sim
