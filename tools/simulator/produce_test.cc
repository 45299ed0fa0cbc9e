#include "produce.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vigil/testing/gtest_util.h"

namespace vigil::sim {
namespace {

class ProduceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil_produce_test_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static std::vector<std::string> Lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  int Produce(std::vector<const char*> args, std::string* err) {
    args.insert(args.begin(), "vigil-produce");
    Result<ProduceConfig> cfg = ParseFlags(static_cast<int>(args.size()), args.data(),
                                           [](const char*) -> const char* { return nullptr; });
    if (!cfg.ok()) {
      *err = cfg.status().message();
      return kExitUsage;
    }
    std::ostringstream os;
    const int code = RunProduce(*cfg, os);
    *err = os.str();
    return code;
  }

  std::filesystem::path dir_;
};

TEST_F(ProduceTest, DryRunWritesEventsLabelsAndStatsThatAgree) {
  const std::string out = Path("events.jsonl"), labels = Path("labels.jsonl"),
                    stats = Path("stats.json");
  std::string err;
  ASSERT_EQ(Produce({"--dry-run", "--output", out.c_str(), "--labels", labels.c_str(), "--stats",
                     stats.c_str(), "--events", "20000", "--devices", "10", "--anomaly-rate",
                     "0.01", "--anomaly-warmup", "50", "--anomaly-gap", "20", "--duplicate-rate",
                     "0.01", "--malformed-rate", "0.01", "--late-rate", "0.02",
                     "--oversize-bytes", "2048", "--progress", "0"},
                    &err),
            kExitOk)
      << err;
  EXPECT_NE(err.find("sent 20000  failed 0  unsent 0"), std::string::npos) << err;
  EXPECT_EQ(Lines(out).size(), 20000u);
  const std::vector<std::string> label_lines = Lines(labels);
  simdjson::dom::parser parser;
  simdjson::dom::element s;
  ASSERT_EQ(parser.parse(Lines(stats).at(0)).get(s), simdjson::SUCCESS);
  EXPECT_EQ(int64_t(s["delivered"]), 20000);
  EXPECT_EQ(int64_t(s["failed"]), 0);
  int64_t kinds = 0;
  for (auto [k, v] : s["kinds"].get_object()) kinds += int64_t(v);
  EXPECT_EQ(kinds, 20000);
  int64_t malformed = 0;
  for (auto [k, v] : s["malformed"].get_object()) malformed += int64_t(v);
  EXPECT_EQ(malformed, int64_t(s["kinds"]["malformed"]));
  EXPECT_GT(malformed, 0);
  EXPECT_EQ(int64_t(s["episodes"]["total"]), static_cast<int64_t>(label_lines.size()));
  EXPECT_GT(label_lines.size(), 10u);
  int64_t labelled = 0;
  simdjson::dom::parser label_parser;  // `s` lives in `parser`'s document
  for (const std::string& l : label_lines) {
    simdjson::dom::element doc;
    ASSERT_EQ(label_parser.parse(l).get(doc), simdjson::SUCCESS) << l;
    labelled += static_cast<int64_t>(doc["event_ids"].get_array().size());
  }
  EXPECT_EQ(labelled, int64_t(s["kinds"]["anomalous"]));
}

TEST_F(ProduceTest, SameSeedSameFilesDifferentRateSameFiles) {
  std::string err;
  const std::string a = Path("a.jsonl"), b = Path("b.jsonl"), la = Path("a.labels"),
                    lb = Path("b.labels");
  ASSERT_EQ(Produce({"--output", a.c_str(), "--labels", la.c_str(), "--events", "5000",
                     "--anomaly-warmup", "10", "--anomaly-rate", "0.02", "--quiet"},
                    &err),
            kExitOk)
      << err;
  ASSERT_EQ(Produce({"--output", b.c_str(), "--labels", lb.c_str(), "--events", "5000",
                     "--anomaly-warmup", "10", "--anomaly-rate", "0.02", "--rate", "200000",
                     "--quiet"},
                    &err),
            kExitOk)
      << err;
  EXPECT_EQ(Lines(a), Lines(b));
  EXPECT_EQ(Lines(la), Lines(lb));
  EXPECT_FALSE(Lines(la).empty());
}

TEST_F(ProduceTest, UnwritablePathsAndBadInputExitTwo) {
  std::string err;
  const std::string nowhere = Path("no/such/dir/x.jsonl");
  EXPECT_EQ(Produce({"--dry-run", "--output", nowhere.c_str(), "--quiet"}, &err), kExitUsage);
  EXPECT_NE(err.find("no/such/dir/x.jsonl"), std::string::npos) << err;
  EXPECT_EQ(Produce({"--dry-run", "--labels", nowhere.c_str(), "--quiet"}, &err), kExitUsage);
  EXPECT_NE(err.find("--labels"), std::string::npos) << err;
  const std::string csv = Path("bad.csv");
  std::ofstream(csv) << "timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:00:01,x\n";
  const std::string out = Path("out.jsonl");
  EXPECT_EQ(Produce({"--replay", csv.c_str(), "--output", out.c_str(), "--quiet"}, &err),
            kExitUsage);
  EXPECT_NE(err.find("bad.csv:3"), std::string::npos) << err;
  EXPECT_EQ(Lines(out).size(), 1u) << "rows before the bad one are sent";
}

}  // namespace
}  // namespace vigil::sim
