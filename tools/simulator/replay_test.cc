#include "replay.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "vigil/testing/gtest_util.h"

namespace vigil::sim {
namespace {

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil_replay_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Replay `opts` to the end; records and label lines.
  Status ReplayAll(const ReplayOptions& opts, std::vector<Record>* records,
                   std::vector<std::string>* labels) {
    VIGIL_ASSIGN_OR_RAISE(auto src,
                          ReplaySource::Make(opts, [&](const std::string&, const std::string& l) {
                            labels->push_back(l);
                          }));
    Record r;
    while (src->Next(&r)) records->push_back(r);
    return src->error();
  }

  std::filesystem::path dir_;
  simdjson::dom::parser parser_;
};

TEST_F(ReplayTest, NabCsvBecomesEventsOfOneDevice) {
  ReplayOptions o;
  o.path = Write("art_daily.csv",
                 "timestamp,value\n2014-04-01 00:00:00,18.3\n2014-04-01 00:05:00,21.09\n\n"
                 "2014-04-01 00:10:00,-3.5e2\n");
  std::vector<Record> recs;
  std::vector<std::string> labels;
  ASSERT_OK(ReplayAll(o, &recs, &labels));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_TRUE(labels.empty());
  EXPECT_EQ(recs[0].key, "art_daily");
  EXPECT_EQ(recs[1].value,
            R"({"schema_version":1,"event_id":"art_daily-000000000001","device_id":"art_daily",)"
            R"("ts":"2014-04-01T00:05:00.000Z","metrics":{"value":21.09}})");
  EXPECT_EQ(recs[2].ts_ms - recs[0].ts_ms, 600000);
  simdjson::dom::element doc;
  ASSERT_EQ(parser_.parse(recs[2].value).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(double(doc["metrics"]["value"]), -350.0);
}

TEST_F(ReplayTest, SkabCsvKeepsMetricsDropsLabelsAndWritesEpisodes) {
  ReplayOptions o;
  o.path = Write("1.csv",
                 "datetime;Accelerometer1RMS;Current;anomaly;changepoint\n"
                 "2020-03-09 10:14:33;0.027;0.68;0.0;0.0\n"
                 "2020-03-09 10:14:34;0.026;0.70;1.0;1.0\n"
                 "2020-03-09 10:14:35;0.029;0.71;1.0;0.0\n"
                 "2020-03-09 10:14:36;0.027;0.69;0.0;0.0\n"
                 "2020-03-09 10:14:37;0.031;0.90;1.0;1.0\n");
  o.device_id = "valve1-1";
  o.start_ms = 1767225600000;
  std::vector<Record> recs;
  std::vector<std::string> labels;
  ASSERT_OK(ReplayAll(o, &recs, &labels));
  ASSERT_EQ(recs.size(), 5u);
  simdjson::dom::element doc;
  ASSERT_EQ(parser_.parse(recs[1].value).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(doc["device_id"]), "valve1-1");
  EXPECT_EQ(std::string_view(doc["ts"]), "2026-01-01T00:00:01.000Z");
  EXPECT_EQ(doc["metrics"].get_object().size(), 2u) << "anomaly/changepoint are not metrics";
  EXPECT_EQ(double(doc["metrics"]["Current"]), 0.70);
  EXPECT_EQ(recs[1].kind, RecordKind::kAnomalous);
  EXPECT_EQ(recs[3].kind, RecordKind::kNormal);
  ASSERT_EQ(labels.size(), 2u);
  ASSERT_EQ(parser_.parse(labels[0]).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(doc["event_ids"].get_array().size(), 2u);
  EXPECT_EQ(std::string_view(doc["event_ids"].at(1)), "valve1-1-000000000002");
  EXPECT_EQ(int64_t(doc["end_ts_ms"]) - int64_t(doc["start_ts_ms"]), 1000);
}

TEST_F(ReplayTest, ColumnsChooseMetrics) {
  ReplayOptions o;
  o.path = Write("w.csv", "time,a,b,c\n2026-01-01T00:00:00Z,1,2,3\n");
  o.columns = {"c", "a"};
  std::vector<Record> recs;
  std::vector<std::string> labels;
  ASSERT_OK(ReplayAll(o, &recs, &labels));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_NE(recs[0].value.find(R"("metrics":{"c":3,"a":1})"), std::string::npos) << recs[0].value;
  o.columns = {"nope"};
  ASSERT_RAISES_WITH_MESSAGE(NotFound, "nope", ReplaySource::Make(o, nullptr));
}

TEST_F(ReplayTest, JsonLinesPassThroughWithTheirDevice) {
  ReplayOptions o;
  o.path = Write("events.jsonl",
                 R"({"event_id":"x-1","device_id":"dev-7","ts":"2026-01-01T00:00:01Z","metrics":{"t":1}})"
                 "\n"
                 R"({"event_id":"x-2","device_id":"dev-8","ts":1767225602000,"metrics":{"t":2}})"
                 "\r\n");
  std::vector<Record> recs;
  std::vector<std::string> labels;
  ASSERT_OK(ReplayAll(o, &recs, &labels));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].key, "dev-7");
  EXPECT_EQ(recs[1].key, "dev-8");
  EXPECT_EQ(recs[1].ts_ms - recs[0].ts_ms, 1000);
  EXPECT_EQ(recs[1].value.back(), '}');
}

TEST_F(ReplayTest, BadDataNamesFileLineAndColumn) {
  ReplayOptions o;
  o.path = Write("bad.csv", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,abc\n");
  std::vector<Record> recs;
  std::vector<std::string> labels;
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "bad.csv:3", ReplayAll(o, &recs, &labels));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "column 'value'", ReplayAll(o, &recs, &labels));
  o.path = Write("badts.csv", "timestamp,value\nnot-a-time,1\n");
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "bad timestamp 'not-a-time'", ReplayAll(o, &recs, &labels));
  o.path = (dir_ / "missing.csv").string();
  ASSERT_RAISES_WITH_MESSAGE(IOError, "missing.csv", ReplaySource::Make(o, nullptr));
  o.path = Write("one.csv", "value\n1\n");
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "one column", ReplaySource::Make(o, nullptr));
}

}  // namespace
}  // namespace vigil::sim
