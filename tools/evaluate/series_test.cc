#include "evaluate/series.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "evaluate/evaluate.h"
#include "vigil/testing/gtest_util.h"

namespace vigil::evaluate {
namespace {

std::string Write(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / ("vigil_eval_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "sub");
  std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

constexpr const char* kSkabScores =
    "datetime;x;anomaly;changepoint;anomaly_score;is_anomaly;severity;explanation\n"
    "2020-03-09 10:00:00;1;0;0;0.1;0;0;\n"
    "2020-03-09 10:00:01;1;1;1;0.9;1;80;\"{\"\"metric\"\": \"\"x\"\"}\"\n"
    "2020-03-09 10:00:02;1;1;0;0.4;0;10;\n"
    "2020-03-09 10:00:03;1;0;0;0.7;1;60;\n";

TEST(Series, LoadsSkabStyleScores) {
  ASSERT_OK_AND_ASSIGN(Series s, LoadSeries(Write("a.csv", kSkabScores), {}));
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s.predicted, (std::vector<uint8_t>{0, 1, 0, 1}));
  EXPECT_EQ(s.label, (std::vector<uint8_t>{0, 1, 1, 0}));
  EXPECT_EQ(s.changepoint, (std::vector<uint8_t>{0, 1, 0, 0}));
  EXPECT_EQ(s.ts[1] - s.ts[0], 1000);
}

TEST(Series, ThresholdOverridesThePrediction) {
  LoadOptions o;
  o.threshold = 0.35;
  ASSERT_OK_AND_ASSIGN(Series s, LoadSeries(Write("a.csv", kSkabScores), o));
  EXPECT_EQ(s.predicted, (std::vector<uint8_t>{0, 1, 1, 1}));
}

TEST(Series, SmoothingDebouncesAlarms) {
  // One isolated high score does not lift the EMA over the threshold; a sustained run does.
  const std::vector<double> scores = {0, 1, 0, 0, 1, 1, 1, 1, 0};
  EXPECT_EQ(ThresholdScores(scores, 0.5, std::nullopt), (std::vector<uint8_t>{0, 1, 0, 0, 1, 1, 1, 1, 0}));
  EXPECT_EQ(ThresholdScores(scores, 0.5, 0.4), (std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 1, 1, 1}));
}

TEST(Series, ExplainsMissingColumnsAndBadValues) {
  ASSERT_RAISES_WITH_MESSAGE(NotFound, "no label column",
                             LoadSeries(Write("nolabel.csv", "timestamp,is_anomaly\n2020-01-01,1\n"), {}));
  ASSERT_RAISES_WITH_MESSAGE(NotFound, "no column named 'is_anomaly'",
                             LoadSeries(Write("nopred.csv", "timestamp,label\n2020-01-01,1\n"), {}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "bad.csv:3:",
                             LoadSeries(Write("bad.csv", "timestamp,label,is_anomaly\n2020-01-01,1,0\n"
                                                         "2020-01-02,yes,0\n"), {}));
  ASSERT_RAISES(IOError, LoadSeries("/nonexistent.csv", {}));
}

TEST(Series, LoadsJsonLines) {
  std::string path = Write("s.jsonl",
                           "{\"ts\": \"2026-11-23T10:00:00Z\", \"label\": 0, \"is_anomaly\": false}\n"
                           "\n"
                           "{\"ts\": 1795428001000, \"label\": 1, \"is_anomaly\": true, \"anomaly_score\": 0.9}\n");
  ASSERT_OK_AND_ASSIGN(Series s, LoadSeries(path, {}));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.predicted, (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(s.label, (std::vector<uint8_t>{0, 1}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "bad.jsonl:1", LoadSeries(Write("bad.jsonl", "{nope\n"), {}));
}

TEST(LabelWindows, ReadsNabJsonListsAndCsv) {
  ASSERT_OK_AND_ASSIGN(LabelWindows keyed,
                       LoadLabelWindows(Write("w.json", R"({"realKnownCause/nyc_taxi.csv": [
                         ["2014-11-01 19:22:30.000000", "2014-11-02 12:22:30.000000"]], "other.csv": []})")));
  EXPECT_TRUE(keyed.keyed);
  auto w = keyed.For("/data/realKnownCause/nyc_taxi.csv");
  ASSERT_TRUE(w.has_value());
  ASSERT_EQ(w->size(), 1u);
  EXPECT_EQ((*w)[0].end_ms - (*w)[0].start_ms, 17 * 3600 * 1000);
  EXPECT_TRUE(keyed.For("out/nyc_taxi.csv").has_value());  // by base name
  EXPECT_FALSE(keyed.For("unknown.csv").has_value());

  ASSERT_OK_AND_ASSIGN(LabelWindows list,
                       LoadLabelWindows(Write("l.json", R"([{"start": "2020-01-01", "end": "2020-01-02"}])")));
  EXPECT_EQ(list.For("anything.csv")->size(), 1u);

  ASSERT_OK_AND_ASSIGN(LabelWindows csv, LoadLabelWindows(Write("w.csv", "start,end\n1000,2000\n5000,6000\n")));
  EXPECT_EQ(csv.all.size(), 2u);
  EXPECT_EQ(csv.all[1].start_ms, 5'000'000);  // small epoch numbers are seconds

  ASSERT_RAISES_WITH_MESSAGE(Invalid, "ends before it starts",
                             LoadLabelWindows(Write("rev.csv", "start,end\n2020-01-02,2020-01-01\n")));
}

TEST(Series, WindowsDefineLabelsAndSkipDropsTheHead) {
  Series s;
  for (int i = 0; i < 10; ++i) {
    s.ts.push_back(i * 1000);
    s.predicted.push_back(0);
  }
  ApplyWindows({{2000, 4000}, {8000, 8000}}, &s);
  EXPECT_EQ(s.label, (std::vector<uint8_t>{0, 0, 1, 1, 1, 0, 0, 0, 1, 0}));
  SkipRows(3, &s);
  EXPECT_EQ(s.size(), 7u);
  EXPECT_EQ(s.label.front(), 1);
  EXPECT_EQ(s.ts.front(), 3000);
}

TEST(Evaluate, AddsUpFilesFromADirectory) {
  Write("sub/x.csv", kSkabScores);
  Write("sub/y.csv", kSkabScores);
  Write("sub/skip-me.csv", kSkabScores);
  std::string dir = std::filesystem::path(Write("sub/z.txt", "not scores")).parent_path().string();
  EvaluateOptions o;
  o.exclude = {"skip-me"};
  ASSERT_OK_AND_ASSIGN(Report r, Evaluate({dir}, o));
  EXPECT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.rows, 8);
  EXPECT_EQ(r.point.tp, 2);
  EXPECT_EQ(r.point.fp, 2);
  EXPECT_EQ(r.point.fn, 2);
  EXPECT_EQ(r.point.tn, 2);
  EXPECT_NE(FormatTable(r, true).find("point-wise"), std::string::npos);
  EXPECT_NE(FormatJson(r).find("\"f1\": 0.500000"), std::string::npos);
  o.skip_rows = 4;
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "no rows left", Evaluate({dir}, o));
}

TEST(Evaluate, SweepFindsTheThresholdThatSeparates) {
  // Scores 0.9 inside the labelled window, 0.6 on one row outside it, 0.1 elsewhere:
  // a threshold of 0.9 (or anything in (0.6, 0.9]) is perfect; 0.6 adds a false positive.
  Series s;
  for (int i = 0; i < 100; ++i) {
    s.ts.push_back(i * 1000);
    s.label.push_back(i >= 40 && i <= 49);
    s.score.push_back(i >= 40 && i <= 49 ? 0.9 : (i == 70 ? 0.6 : 0.1));
    s.predicted.push_back(0);
  }
  NabOptions o;
  o.probation = 0;
  std::vector<NabOptimum> best = SweepNabThreshold({s}, o);
  ASSERT_EQ(best.size(), 3u);
  EXPECT_DOUBLE_EQ(best[0].threshold, 0.9);
  EXPECT_NEAR(best[0].score, 100.0, 1e-9);
}

TEST(Evaluate, ParsesDurations) {
  ASSERT_OK_AND_ASSIGN(int64_t a, ParseDurationMillis("60s"));
  EXPECT_EQ(a, 60'000);
  ASSERT_OK_AND_ASSIGN(int64_t b, ParseDurationMillis("1.5m"));
  EXPECT_EQ(b, 90'000);
  ASSERT_OK_AND_ASSIGN(int64_t c, ParseDurationMillis("30"));
  EXPECT_EQ(c, 30'000);
  ASSERT_RAISES(Invalid, ParseDurationMillis("60 parsecs"));
}

}  // namespace
}  // namespace vigil::evaluate
