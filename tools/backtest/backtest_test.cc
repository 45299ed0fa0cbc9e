#include "backtest/backtest.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "vigil/testing/gtest_util.h"

namespace vigil::backtest {
namespace {

namespace fs = std::filesystem;

class BacktestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil_backtest_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name), std::ios::binary) << text;
    return Path(name);
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  BacktestOptions Options(const std::string& in, const std::string& out) const {
    BacktestOptions o;
    o.input = in;
    o.output = Path(out);
    o.progress_interval_s = 0;
    return o;
  }
  fs::path dir_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

// A seeded series with one huge spike at `spike_row`.
std::string Series(int rows, int spike_row, char d, bool with_label) {
  std::string s = std::string("timestamp") + d + "value" + (with_label ? std::string(1, d) + "label" : "") + "\n";
  uint64_t x = 12345;
  for (int i = 0; i < rows; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    double v = 10.0 + static_cast<double>(x >> 40) / static_cast<double>(1ULL << 24) * 0.2;
    if (i == spike_row) v += 50;
    s += std::to_string(1700000000 + 60 * i) + d + std::to_string(v);
    if (with_label) s += std::string(1, d) + (i == spike_row ? "1" : "0");
    s += "\n";
  }
  return s;
}

TEST_F(BacktestTest, CsvKeepsEveryRowAndAppendsTheVerdict) {
  BacktestOptions o = Options(Write("nab.csv", Series(300, 250, ',', true)), "out.csv");
  ASSERT_OK_AND_ASSIGN(BacktestStats stats, RunBacktest(o, nullptr));
  EXPECT_EQ(stats.rows, 300);
  EXPECT_EQ(stats.scored, 300);
  auto in = Lines(Read(o.input));
  auto out = Lines(Read(o.output));
  ASSERT_EQ(out.size(), in.size());
  EXPECT_EQ(out[0], "timestamp,value,label,anomaly_score,is_anomaly,severity,explanation");
  for (size_t i = 1; i < in.size(); ++i) ASSERT_EQ(out[i].rfind(in[i] + ",", 0), 0u) << i;
  // The spike is an alert with an explanation; the first warm rows are not.
  EXPECT_NE(out[251].find(",1,"), std::string::npos) << out[251];
  EXPECT_NE(out[251].find("value"), std::string::npos);
  EXPECT_GE(stats.anomalies, 1);
  EXPECT_FALSE(fs::exists(o.output + ".tmp"));
}

TEST_F(BacktestTest, SameInputGivesTheSameOutput) {
  BacktestOptions a = Options(Write("s.csv", Series(200, 150, ';', false)), "a.csv");
  BacktestOptions b = a;
  b.output = Path("b.csv");
  b.batch_rows = 7;  // batching must not change a verdict
  ASSERT_OK(RunBacktest(a, nullptr));
  ASSERT_OK(RunBacktest(b, nullptr));
  EXPECT_EQ(Read(a.output), Read(b.output));
  EXPECT_NE(Lines(Read(a.output))[0].find(";anomaly_score;is_anomaly;severity;explanation"), std::string::npos);
}

TEST_F(BacktestTest, LabelsNeverReachTheDetectors) {
  // Same metric values, different labels: the verdicts must not differ.
  std::string base = Series(200, 150, ',', true);
  std::string flipped = base;
  for (size_t p = flipped.find(",0\n"); p != std::string::npos; p = flipped.find(",0\n", p + 1)) flipped[p + 1] = '9';
  BacktestOptions a = Options(Write("a.csv", base), "a.out");
  BacktestOptions b = Options(Write("b.csv", flipped), "b.out");
  ASSERT_OK(RunBacktest(a, nullptr));
  ASSERT_OK(RunBacktest(b, nullptr));
  auto la = Lines(Read(a.output)), lb = Lines(Read(b.output));
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 1; i < la.size(); ++i) {
    auto tail = [](const std::string& l) { return l.substr(l.find(',', l.find(',', l.find(',') + 1) + 1)); };
    ASSERT_EQ(tail(la[i]), tail(lb[i])) << i;
  }
}

TEST_F(BacktestTest, ErrorsNameTheProblemAndLeaveNoOutput) {
  BacktestOptions o = Options(Write("bad.csv", "timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:00:01,x\n"),
                              "bad.out");
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "bad.csv:3:21: column 'value'", RunBacktest(o, nullptr));
  EXPECT_FALSE(fs::exists(o.output));
  EXPECT_FALSE(fs::exists(o.output + ".tmp"));

  o.input = Write("ok.csv", Series(10, 5, ',', true));
  o.columns = {"label"};
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "'label' is a label column", RunBacktest(o, nullptr));
  o.columns = {"nope"};
  ASSERT_RAISES_WITH_MESSAGE(NotFound, "no column named 'nope'", RunBacktest(o, nullptr));
  o.columns = {};
  o.config_path = Path("missing.yaml");
  ASSERT_RAISES_WITH_MESSAGE(IOError, "missing.yaml", RunBacktest(o, nullptr));
  o.config_path = Write("broken.yaml", "ensemble: {threshold: [1, 2]\n");
  ASSERT_RAISES(Invalid, RunBacktest(o, nullptr));
  o.config_path = "";
  o.input = Path("absent.csv");
  ASSERT_RAISES(IOError, RunBacktest(o, nullptr));
}

TEST_F(BacktestTest, JsonLinesInJsonLinesOut) {
  std::string events;
  for (int i = 0; i < 120; ++i) {
    events += "{\"event_id\": \"e" + std::to_string(i) + "\", \"device_id\": \"d1\", \"ts\": " +
              std::to_string(1700000000000LL + 1000LL * i) + ", \"metrics\": {\"t\": " +
              std::to_string(i == 100 ? 500.0 : 20.0 + (i % 5) * 0.1) + "}}\n";
    if (i == 50) events += "\n";
  }
  BacktestOptions o = Options(Write("ev.jsonl", events), "ev.out.jsonl");
  ASSERT_OK_AND_ASSIGN(BacktestStats stats, RunBacktest(o, nullptr));
  EXPECT_EQ(stats.rows, 120);
  auto out = Lines(Read(o.output));
  ASSERT_EQ(out.size(), 120u);
  EXPECT_EQ(out[0].rfind("{\"event_id\": \"e0\"", 0), 0u);
  EXPECT_NE(out[0].find("\"anomaly_score\": "), std::string::npos);
  EXPECT_NE(out[100].find("\"is_anomaly\": true"), std::string::npos) << out[100];
  EXPECT_NE(out[100].find("\"explanation\": {"), std::string::npos);
}

TEST_F(BacktestTest, OutOfOrderRowsAreScoredInTimeOrderAndWrittenInFileOrder) {
  // The same rows, once sorted and once with each pair swapped: the verdict of every
  // row must be the same, and the output keeps the file's order.
  std::string sorted = "timestamp,value\n", swapped = "timestamp,value\n";
  std::vector<std::string> rows;
  for (int i = 0; i < 200; ++i) {
    rows.push_back(std::to_string(1700000000 + 10 * i) + "," + std::to_string(i == 150 ? 90.0 : 5.0 + (i % 7) * 0.1));
  }
  for (const auto& r : rows) sorted += r + "\n";
  for (size_t i = 0; i + 1 < rows.size(); i += 2) swapped += rows[i + 1] + "\n" + rows[i] + "\n";
  BacktestOptions a = Options(Write("sorted.csv", sorted), "a.out");
  BacktestOptions b = Options(Write("swapped.csv", swapped), "b.out");
  ASSERT_OK(RunBacktest(a, nullptr));
  ASSERT_OK(RunBacktest(b, nullptr));
  auto la = Lines(Read(a.output)), lb = Lines(Read(b.output));
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 1; i + 1 < la.size(); i += 2) {
    ASSERT_EQ(lb[i], la[i + 1]) << i;
    ASSERT_EQ(lb[i + 1], la[i]) << i;
  }
}

TEST(BacktestHelpers, CsvFieldQuotesOnlyWhenNeeded) {
  EXPECT_EQ(internal::CsvField("plain", ','), "plain");
  EXPECT_EQ(internal::CsvField("a;b", ';'), "\"a;b\"");
  EXPECT_EQ(internal::CsvField("{\"m\": 1}", ';'), "\"{\"\"m\"\": 1}\"");
  EXPECT_EQ(internal::FormatScore(0.5), "0.500000");
}

}  // namespace
}  // namespace vigil::backtest
