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
  // Event 9 is a normal reading (no evidence): it reports what the alarm last named.
  EXPECT_EQ(tail_a.detector_mask, tail_b.detector_mask);
  EXPECT_EQ(tail_b.detector_mask[0], 1u);
  EXPECT_EQ(tail_a.explanation_json, tail_b.explanation_json);
}

// Every anomaly names at least one detector, the same in the mask and in the explanation.
void ExpectAnomaliesNameDetectors(const VerdictBatch& v, const std::vector<std::string>& names) {
  for (size_t i = 0; i < v.is_anomaly.size(); ++i) {
    if (!v.is_anomaly[i]) continue;
    EXPECT_NE(v.detector_mask[i], 0u) << "anomaly " << i << ": " << v.explanation_json[i];
    std::string list;
    for (size_t j = 0; j < names.size(); ++j) {
      if ((v.detector_mask[i] >> j & 1u) != 0) list += (list.empty() ? "\"" : ",\"") + names[j] + "\"";
    }
    EXPECT_NE(v.explanation_json[i].find("\"detectors\":[" + list + "]"), std::string::npos)
        << "anomaly " << i << ": " << v.explanation_json[i];
  }
}

TEST(EnsembleTest, SustainedAnomalyNamesTheMemberInItsRefractoryPeriod) {
  // temp above the rule's max from 5 to 19: one point alarm at the onset (5), then the
  // rule keeps firing inside its refractory period while the EMA (weight 0.5) of the
  // score 0.6 carries the collective alarm from 7 until after the run (release 0.2).
  std::set<int> shift;
  for (int i = 5; i < 20; ++i) shift.insert(i);
  const std::string ens = "smoothing: 0.5, smoothed_threshold: 0.5, smoothed_release: 0.2";
  auto e = Make(ens, ", refractory: 30");
  VerdictBatch v;
  ASSERT_OK(e->Process(Breaks(shift, 26), &v));
  // EMA: 0.3 (5), 0.45 (6), 0.525 (7) ... 0.6; 0.3 on the normal reading 20, 0.15 on 21.
  std::vector<int> expected{5};
  for (int i = 7; i <= 20; ++i) expected.push_back(i);
  EXPECT_EQ(Anomalies(v), expected);
  ExpectAnomaliesNameDetectors(v, e->detector_names());
  EXPECT_NE(v.explanation_json[12].find("\"by\":\"rules\""), std::string::npos) << v.explanation_json[12];
  EXPECT_NE(v.explanation_json[12].find("sustained anomaly"), std::string::npos) << v.explanation_json[12];
  EXPECT_EQ(v.detector_mask[6], 0u) << "not an anomaly: a refractory fire is not reported";
}

TEST(EnsembleTest, CollectiveAnomalyWithoutAFireNamesTheTopMember) {
  // The rule never fires (weight * p = 0.6 < its fire_threshold 0.7); the collective path
  // alarms on 7 and 8 and names the member that carries the evidence.
  auto e = Make("smoothing: 0.5, smoothed_threshold: 0.5", ", fire_threshold: 0.7");
  VerdictBatch v;
  ASSERT_OK(e->Process(RuleBreaks(), &v));
  EXPECT_EQ(Anomalies(v), (std::vector<int>{7, 8}));
  ExpectAnomaliesNameDetectors(v, e->detector_names());
  EXPECT_EQ(v.detector_mask[7], 1u);
  EXPECT_EQ(v.detector_mask[5], 0u) << "not an anomaly: nothing reported";
}

TEST(EnsembleTest, CollectiveAnomalyWithoutEvidenceNamesWhatTheAlarmLastNamed) {
  // Hysteresis keeps the alarm on at 9, a normal reading: no member has any evidence there.
  auto e = Make("threshold: 0.7, smoothing: 0.5, smoothed_threshold: 0.5, smoothed_release: 0.2");
  VerdictBatch v;
  ASSERT_OK(e->Process(RuleBreaks(), &v));
  EXPECT_EQ(Anomalies(v), (std::vector<int>{7, 8, 9}));
  ExpectAnomaliesNameDetectors(v, e->detector_names());
  EXPECT_NE(v.explanation_json[9].find("\"by\":\"\""), std::string::npos) << v.explanation_json[9];
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
