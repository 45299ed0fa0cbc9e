#include "evaluate/nab.h"

#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

namespace vigil::evaluate {
namespace {

// 100 rows one second apart; a labelled window over rows 40..49.
Series MakeSeries() {
  Series s;
  for (int i = 0; i < 100; ++i) {
    s.ts.push_back(i * 1000);
    s.label.push_back(i >= 40 && i <= 49);
    s.predicted.push_back(0);
  }
  return s;
}

NabOptions Numenta() {
  NabOptions o;
  o.scoring = NabScoring::kNab;
  o.detections = Detections::kAll;
  o.probation = 0;
  return o;
}

TEST(Nab, ScaledSigmoidMatchesNumenta) {
  EXPECT_NEAR(ScaledSigmoid(-1.0), 0.98661, 1e-5);
  EXPECT_NEAR(ScaledSigmoid(-0.5), 0.84828, 1e-5);
  EXPECT_NEAR(ScaledSigmoid(0.0), 0.0, 1e-12);
  EXPECT_NEAR(ScaledSigmoid(1.0), -0.98661, 1e-5);
  EXPECT_EQ(ScaledSigmoid(3.5), -1.0);
}

TEST(Nab, PerfectAndNullDetectorsScore100And0) {
  Series s = MakeSeries();
  NabTotals none = ScoreNab(s, Numenta());
  EXPECT_EQ(none.windows, 1);
  for (size_t p = 0; p < 3; ++p) EXPECT_NEAR(none.Normalized(p), 0.0, 1e-9);
  s.predicted[40] = 1;
  NabTotals perfect = ScoreNab(s, Numenta());
  for (size_t p = 0; p < 3; ++p) EXPECT_NEAR(perfect.Normalized(p), 100.0, 1e-9);
  EXPECT_EQ(perfect.detected_windows, 1);
}

TEST(Nab, LaterDetectionsInAWindowAddNothing) {
  Series s = MakeSeries();
  for (int i = 40; i <= 49; ++i) s.predicted[static_cast<size_t>(i)] = 1;
  EXPECT_NEAR(ScoreNab(s, Numenta()).Normalized(0), 100.0, 1e-9);
}

TEST(Nab, LateDetectionScoresLess) {
  Series s = MakeSeries();
  s.predicted[49] = 1;  // the window's last row: y = -1/10
  const double tp = ScaledSigmoid(-0.1) / ScaledSigmoid(-1.0);
  NabTotals t = ScoreNab(s, Numenta());
  EXPECT_NEAR(t.raw[0], tp, 1e-12);
  EXPECT_NEAR(t.Normalized(0), 100.0 * (tp + 1.0) / 2.0, 1e-9);
}

TEST(Nab, FalsePositivesCostByProfileAndDistance) {
  Series s = MakeSeries();
  s.predicted[40] = 1;
  s.predicted[5] = 1;   // before any window: -A_fp
  s.predicted[60] = 1;  // 11 rows past a window of width 10: A_fp * S(11/9)
  NabTotals t = ScoreNab(s, Numenta());
  EXPECT_EQ(t.false_detections, 2);
  const double late = ScaledSigmoid(11.0 / 9.0);
  EXPECT_NEAR(t.raw[0], 1.0 - 0.11 + 0.11 * late, 1e-12);
  EXPECT_NEAR(t.raw[1], 1.0 - 0.22 + 0.22 * late, 1e-12);
  EXPECT_NEAR(t.raw[2], 1.0 - 0.11 + 0.11 * late, 1e-12);
  EXPECT_NEAR(t.null[2], -2.0, 1e-12);
  EXPECT_LT(t.Normalized(1), t.Normalized(0));  // reward_low_FP punishes the FPs harder
}

TEST(Nab, ProbationaryRowsAreNotScored) {
  Series s = MakeSeries();
  s.predicted[5] = 1;
  NabOptions o = Numenta();
  o.probation = 0.15;  // 15 rows
  NabTotals t = ScoreNab(s, o);
  EXPECT_EQ(t.false_detections, 0);
  EXPECT_EQ(t.windows, 1);
}

TEST(Nab, DetectionModes) {
  const std::vector<uint8_t> p = {1, 1, 0, 0, 1, 1, 1, 0};
  EXPECT_EQ(DetectionRows(p, Detections::kAll), (std::vector<size_t>{0, 1, 4, 5, 6}));
  EXPECT_EQ(DetectionRows(p, Detections::kOnsets), (std::vector<size_t>{0, 4}));
  EXPECT_EQ(DetectionRows(p, Detections::kEdges), (std::vector<size_t>{0, 2, 4, 7}));
}

TEST(Nab, ChangepointWindowsFollowThePosition) {
  Series s = MakeSeries();
  s.changepoint.assign(100, 0);
  s.changepoint[40] = 1;
  NabOptions o;
  o.window_ms = 60'000;
  o.position = WindowPosition::kRight;
  auto w = ScoringWindows(s, o);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].start_ms, 40'000);
  EXPECT_EQ(w[0].end_ms, 100'000);
  o.position = WindowPosition::kCenter;
  EXPECT_EQ(ScoringWindows(s, o)[0].start_ms, 10'000);
  o.position = WindowPosition::kLeft;
  EXPECT_EQ(ScoringWindows(s, o)[0].end_ms, 40'000);
}

double SkabCurveAt(int event, double a_tp, double a_fp) {
  const double x = -std::numbers::pi / 2 + std::numbers::pi * event / 999.0;
  return (a_tp - a_fp) / 2 * -std::tanh(x) / std::tanh(std::numbers::pi / 2) + (a_tp - a_fp) / 2 + a_fp;
}

TEST(Nab, SkabScoringFollowsTsad) {
  Series s = MakeSeries();
  s.changepoint.assign(100, 0);
  s.changepoint[40] = 1;  // window [40 s, 100 s]
  NabOptions o;
  o.scoring = NabScoring::kSkab;
  o.detections = Detections::kEdges;
  // A prediction run 70..75 gives edges at 70 and 76; only the first scores.
  for (int i = 70; i <= 75; ++i) s.predicted[static_cast<size_t>(i)] = 1;
  NabTotals t = ScoreNab(s, o);
  EXPECT_EQ(t.false_detections, 0);
  EXPECT_NEAR(t.raw[0], SkabCurveAt(500, 1.0, -0.11), 1e-12);
  EXPECT_NEAR(t.perfect[0], 1.0, 1e-12);
  EXPECT_NEAR(t.null[2], -2.0, 1e-12);
  // A run before the window: two edges, both false alarms.
  s.predicted.assign(100, 0);
  s.predicted[10] = 1;
  t = ScoreNab(s, o);
  EXPECT_EQ(t.false_detections, 2);
  EXPECT_NEAR(t.raw[1], -1.0 - 2 * 0.22, 1e-12);
  // At the changepoint itself: A_tp exactly.
  s.predicted.assign(100, 0);
  s.predicted[40] = 1;
  EXPECT_NEAR(ScoreNab(s, o).Normalized(0), 100.0, 1e-9);
}

TEST(Nab, SkabCutsOverlappingWindows) {
  Series s = MakeSeries();
  s.changepoint.assign(100, 0);
  s.changepoint[10] = 1;  // [10, 70]
  s.changepoint[30] = 1;  // [30, 90] -> cut to [70, 90]
  NabOptions o;
  o.scoring = NabScoring::kSkab;
  o.detections = Detections::kAll;
  s.predicted[10] = 1;
  s.predicted[80] = 1;
  NabTotals t = ScoreNab(s, o);
  EXPECT_EQ(t.windows, 2);
  EXPECT_EQ(t.detected_windows, 2);
  EXPECT_NEAR(t.raw[0], 1.0 + SkabCurveAt(500, 1.0, -0.11), 1e-12);
}

TEST(Nab, TotalsAddBeforeNormalising) {
  Series hit = MakeSeries();
  hit.predicted[40] = 1;
  Series miss = MakeSeries();
  NabTotals t = ScoreNab(hit, Numenta());
  t.Add(ScoreNab(miss, Numenta()));
  EXPECT_EQ(t.windows, 2);
  EXPECT_NEAR(t.Normalized(0), 50.0, 1e-9);
}

}  // namespace
}  // namespace vigil::evaluate

