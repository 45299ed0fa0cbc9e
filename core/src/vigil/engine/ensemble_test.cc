// The ensemble's verdict rules: per-member fire thresholds and the hysteresis
// of the collective path (including its state across a save/load).
#include <gtest/gtest.h>

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
}

}  // namespace
}  // namespace vigil
