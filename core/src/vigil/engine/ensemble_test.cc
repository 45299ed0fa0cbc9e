// The ensemble's verdict rules: per-member fire thresholds, refractory periods
// and the hysteresis of the collective path (including their state across a save/load).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "vigil/engine/engine.h"
#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

// One pump, metric temp: 5 normal readings, 4 above the rule's max, 4 normal.
// The rules member (identity calibration, weight 0.6) gives p = 0.6 on a broken rule.
EventBatch RuleBreaks(int from = 0, int to = 13) {
  EventBatchBuilder b;
  for (int i = from; i < to; ++i) {
    b.BeginEvent(i, std::string("e").append(std::to_string(i)), "d1", 1795428000000LL + i * 1000, 1, "pump");
    b.AddMetric("temp", i >= 5 && i < 9 ? 95.0 : 20.0);
    EXPECT_OK(b.FinishEvent());
  }
  return b.Finish();
}

// One pump, metric temp, n readings: above the rule's max at the indexes in `breaks`.
EventBatch Breaks(const std::set<int>& breaks, int n, int from = 0) {
  EventBatchBuilder b;
  for (int i = from; i < n; ++i) {
    b.BeginEvent(i, std::string("e").append(std::to_string(i)), "d1", 1795428000000LL + i * 1000, 1, "pump");
    b.AddMetric("temp", breaks.count(i) != 0 ? 95.0 : 20.0);
    EXPECT_OK(b.FinishEvent());
  }
  return b.Finish();
}

std::unique_ptr<Engine> Make(const std::string& ensemble, const std::string& rules_extra = "") {
  auto o = EngineOptions::FromYaml("ensemble: {" + ensemble + "}\ndetectors:\n  rules: {weight: 0.6" + rules_extra +
                                   ", limits: {pump: {temp: {max: 90}}}}\n");
  EXPECT_OK(o);
  auto e = Engine::Make(*o);
  EXPECT_OK(e);
  return std::move(e).ValueOrDie();
}

std::vector<int> Anomalies(const VerdictBatch& v) {
  std::vector<int> out;
  for (size_t i = 0; i < v.is_anomaly.size(); ++i) {
    if (v.is_anomaly[i]) out.push_back(static_cast<int>(i));
  }
  return out;
}

TEST(EnsembleTest, MemberFireThresholdGatesPointAlarmsNotTheScore) {
  VerdictBatch a, b;
  ASSERT_OK(Make("smoothing: 0")->Process(RuleBreaks(), &a));
  ASSERT_OK(Make("smoothing: 0", ", fire_threshold: 0.7")->Process(RuleBreaks(), &b));
  EXPECT_EQ(Anomalies(a), (std::vector<int>{5, 6, 7, 8}));
  EXPECT_TRUE(Anomalies(b).empty());
  EXPECT_EQ(a.score, b.score);
  EXPECT_DOUBLE_EQ(b.score[5], 0.6);
  EXPECT_EQ(b.detector_mask[5], 0u);
}

TEST(EnsembleTest, RefractoryMemberMakesPointAlarmsOnlyAfterQuiet) {
  // Fires at 5-8 (a run), 12 (3 quiet events after 8), 20 (11 quiet events after 12).
  const std::set<int> at{5, 6, 7, 8, 12, 20};
  VerdictBatch plain, r3, r4;
  ASSERT_OK(Make("smoothing: 0")->Process(Breaks(at, 24), &plain));
  ASSERT_OK(Make("smoothing: 0", ", refractory: 3")->Process(Breaks(at, 24), &r3));
  ASSERT_OK(Make("smoothing: 0", ", refractory: 4")->Process(Breaks(at, 24), &r4));
  EXPECT_EQ(Anomalies(plain), (std::vector<int>{5, 6, 7, 8, 12, 20}));
  EXPECT_EQ(Anomalies(r3), (std::vector<int>{5, 12, 20})) << "12 follows 3 quiet events: enough for 3";
  EXPECT_EQ(Anomalies(r4), (std::vector<int>{5, 20})) << "a fire inside the period extends it";
  EXPECT_EQ(plain.score, r4.score) << "the score (and so the collective path) is unchanged";
  EXPECT_EQ(r4.detector_mask[5], 1u);
  EXPECT_EQ(r4.detector_mask[6], 0u) << "a refractory fire is not reported as fired";
}

TEST(EnsembleTest, RefractoryStateSurvivesSaveLoad) {
  const std::set<int> at{5, 6, 7, 8, 12};
  auto a = Make("smoothing: 0", ", refractory: 4");
  VerdictBatch head, tail_a, tail_b, fresh;
  ASSERT_OK(a->Process(Breaks(at, 7), &head));  // ends inside the run
  auto b = Make("smoothing: 0", ", refractory: 4");
  ASSERT_OK(b->LoadAll(a->SaveAll()));
  ASSERT_OK(a->Process(Breaks(at, 16, 7), &tail_a));
  ASSERT_OK(b->Process(Breaks(at, 16, 7), &tail_b));
  EXPECT_EQ(tail_a.is_anomaly, tail_b.is_anomaly);
  EXPECT_EQ(tail_a.score, tail_b.score);
  EXPECT_TRUE(Anomalies(tail_b).empty()) << "7, 8 and 12 are still inside the period after the load";
  // Without the saved period, the first break after the load would alarm.
  auto c = Make("smoothing: 0", ", refractory: 4");
  ASSERT_OK(c->Process(Breaks(at, 16, 7), &fresh));
  EXPECT_EQ(fresh.is_anomaly[0], 1);
  // A quiet period is not written: the blob is the one without refractory periods.
  auto q = Make("smoothing: 0", ", refractory: 4");
  auto plain = Make("smoothing: 0");
  ASSERT_OK(q->Process(Breaks({}, 10), &head));
  ASSERT_OK(plain->Process(Breaks({}, 10), &head));
  EXPECT_EQ(q->SaveAll(), plain->SaveAll());
}

TEST(EnsembleTest, CollectiveAlarmHasHysteresis) {
  // Point alarms off (threshold 0.7 > 0.6); EMA weight 0.5 of the score:
  // 0.3, 0.45, 0.525, 0.5625 on the breaks, then 0.28, 0.14 on normal readings.
  const std::string base = "threshold: 0.7, smoothing: 0.5, smoothed_threshold: 0.5";
  VerdictBatch plain, hyst;
  ASSERT_OK(Make(base)->Process(RuleBreaks(), &plain));
  ASSERT_OK(Make(base + ", smoothed_release: 0.2")->Process(RuleBreaks(), &hyst));
  EXPECT_EQ(Anomalies(plain), (std::vector<int>{7, 8}));
  EXPECT_EQ(Anomalies(hyst), (std::vector<int>{7, 8, 9}));
}

TEST(EnsembleTest, CollectiveAlarmStateSurvivesSaveLoad) {
  const std::string ens = "threshold: 0.7, smoothing: 0.5, smoothed_threshold: 0.5, smoothed_release: 0.2";
  auto a = Make(ens);
  VerdictBatch head, tail_a, tail_b;
  ASSERT_OK(a->Process(RuleBreaks(0, 9), &head));  // ends inside the alarm
  auto b = Make(ens);
  ASSERT_OK(b->LoadAll(a->SaveAll()));
  ASSERT_OK(a->Process(RuleBreaks(9, 13), &tail_a));
  ASSERT_OK(b->Process(RuleBreaks(9, 13), &tail_b));
  EXPECT_EQ(tail_a.is_anomaly, tail_b.is_anomaly);
  EXPECT_EQ(tail_b.is_anomaly[0], 1) << "still above the release level after the load";
  EXPECT_EQ(tail_a.score, tail_b.score);
}

TEST(EnsembleTest, BadSettingsNameTheKey) {
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "ensemble.smoothed_release",
                             EngineOptions::FromYaml("ensemble: {smoothed_release: 0.7}\ndetectors: {ewma: {}}\n"));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "detectors.ewma.fire_threshold",
                             EngineOptions::FromYaml("detectors: {ewma: {fire_threshold: 1.5}}\n"));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "detectors.ewma.fire_threshold",
                             EngineOptions::FromYaml("detectors: {ewma: {fire_threshold: x}}\n"));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "detectors.ewma.refractory",
                             EngineOptions::FromYaml("detectors: {ewma: {refractory: -1}}\n"));
}

}  // namespace
}  // namespace vigil
