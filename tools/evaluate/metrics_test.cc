#include "evaluate/metrics.h"

#include <gtest/gtest.h>

namespace vigil::evaluate {
namespace {

TEST(Metrics, PointConfusionCountsEveryRow) {
  const std::vector<uint8_t> label = {0, 0, 1, 1, 1, 0, 0, 1};
  const std::vector<uint8_t> pred = {0, 1, 1, 1, 0, 0, 0, 0};
  Confusion c = PointConfusion(label, pred);
  EXPECT_EQ(c.tp, 2);
  EXPECT_EQ(c.fp, 1);
  EXPECT_EQ(c.tn, 3);
  EXPECT_EQ(c.fn, 2);
  EXPECT_DOUBLE_EQ(c.Precision(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(c.Recall(), 0.5);
  EXPECT_DOUBLE_EQ(c.F1(), 4.0 / 7);  // 2TP / (2TP + FP + FN)
  EXPECT_DOUBLE_EQ(c.FalseAlarmRate(), 0.25);
  EXPECT_DOUBLE_EQ(c.MissedAlarmRate(), 0.5);
}

TEST(Metrics, F1MatchesSkabsFormula) {
  Confusion c{.tp = 70, .fp = 13, .tn = 400, .fn = 29};
  EXPECT_DOUBLE_EQ(c.F1(), 70.0 / (70.0 + (29.0 + 13.0) / 2));
}

TEST(Metrics, FlaggingEverythingGivesFullRecallAndFullFalseAlarms) {
  const std::vector<uint8_t> label = {0, 1, 1, 0};
  const std::vector<uint8_t> all(4, 1);
  Confusion c = PointConfusion(label, all);
  EXPECT_DOUBLE_EQ(c.Recall(), 1.0);
  EXPECT_DOUBLE_EQ(c.FalseAlarmRate(), 1.0);
  EXPECT_DOUBLE_EQ(c.MissedAlarmRate(), 0.0);
}

TEST(Metrics, EmptyDenominatorsGiveZeroNotNan) {
  Confusion c;
  EXPECT_EQ(c.Precision(), 0.0);
  EXPECT_EQ(c.F1(), 0.0);
  EXPECT_EQ(EventCounts{}.F1(), 0.0);
}

TEST(Metrics, RunsFindsEveryStretch) {
  const std::vector<uint8_t> f = {1, 1, 0, 0, 1, 0, 1, 1, 1};
  auto runs = Runs(f);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0], (std::pair<size_t, size_t>{0, 1}));
  EXPECT_EQ(runs[1], (std::pair<size_t, size_t>{4, 4}));
  EXPECT_EQ(runs[2], (std::pair<size_t, size_t>{6, 8}));
}

TEST(Metrics, EventMatchCountsDetectedAndSpuriousEvents) {
  // Two true events; the first is hit late, the second missed; one spurious alarm run.
  const std::vector<uint8_t> label = {0, 1, 1, 1, 0, 0, 0, 1, 1, 0};
  const std::vector<uint8_t> pred = {0, 0, 0, 1, 1, 1, 0, 0, 0, 0};
  EventCounts e = EventMatch(label, pred);
  EXPECT_EQ(e.true_events, 2);
  EXPECT_EQ(e.detected_true_events, 1);
  EXPECT_EQ(e.predicted_events, 1);
  EXPECT_EQ(e.correct_predicted_events, 1);
  EXPECT_DOUBLE_EQ(e.Recall(), 0.5);
  EXPECT_DOUBLE_EQ(e.Precision(), 1.0);
  const std::vector<uint8_t> spurious = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EventCounts s = EventMatch(label, spurious);
  EXPECT_EQ(s.correct_predicted_events, 0);
  EXPECT_EQ(s.Precision(), 0.0);
}

TEST(Metrics, CountsAddUpAcrossFiles) {
  Confusion a{.tp = 1, .fp = 2, .tn = 3, .fn = 4};
  a.Add(Confusion{.tp = 10, .fp = 20, .tn = 30, .fn = 40});
  EXPECT_EQ(a.tp, 11);
  EXPECT_EQ(a.fn, 44);
}

}  // namespace
}  // namespace vigil::evaluate
