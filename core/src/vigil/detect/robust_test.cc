// The robust detector's gated scale: a sustained shift is not absorbed by an
// inflating MAD while the hold-off lasts, and is learned after it.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "vigil/detect/detector.h"
#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

std::unique_ptr<Detector> MakeRobust(double gate, int32_t holdoff) {  // gate 0 = ungated
  Params p("detectors.robust");
  p.Child("gate").SetScalar(std::to_string(gate));
  p.Child("holdoff").SetScalar(std::to_string(holdoff));
  auto f = DetectorRegistry::Global()->MakeFactory("robust", p);
  EXPECT_OK(f);
  const std::string names[1] = {"m"};
  auto d = (*f)->Create({"pump", names, 1});
  EXPECT_OK(d);
  return std::move(d).ValueOrDie();
}

// 1,000 points of N(10, 1), then a shift to 30 (20 sigma) for 1,200 points.
std::vector<double> ShiftedSeries() {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> xs;
  for (int i = 0; i < 2200; ++i) xs.push_back((i < 1000 ? 10.0 : 30.0) + noise(rng));
  return xs;
}

std::vector<double> Scores(Detector* d, const std::vector<double>& xs) {
  std::vector<double> s(xs.size());
  EXPECT_OK(d->ScoreAndUpdateBatch(xs, {}, s));
  return s;
}

TEST(RobustGateTest, SustainedShiftIsNotAbsorbedDuringTheHoldoff) {
  const std::vector<double> xs = ShiftedSeries();
  auto ungated = MakeRobust(0, 0);
  auto gated = MakeRobust(8, 300);
  const std::vector<double> a = Scores(ungated.get(), xs);
  const std::vector<double> b = Scores(gated.get(), xs);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a[i], b[i]) << i;  // nothing beyond 8 scales yet
  // 250 points into the shift: the ungated MAD has inflated, the gated one has not.
  EXPECT_LT(a[1250], 6.0);
  EXPECT_GT(b[1250], 15.0);
  // Past the hold-off the gated scale learns the new level too.
  EXPECT_LT(b[2199], 6.0);
}

TEST(RobustGateTest, HoldoffCounterSurvivesASaveLoadRoundTrip) {
  const std::vector<double> xs = ShiftedSeries();
  auto a = MakeRobust(8, 300);
  std::vector<double> head(xs.begin(), xs.begin() + 1100), tail(xs.begin() + 1100, xs.end());
  Scores(a.get(), head);
  StateWriter w;
  ASSERT_OK(a->SerializeTo(&w));
  const std::string blob = w.Finish();
  ASSERT_OK_AND_ASSIGN(StateReader r, StateReader::Open(blob));
  auto b = MakeRobust(8, 300);
  ASSERT_OK(b->DeserializeFrom(&r));
  EXPECT_EQ(Scores(a.get(), tail), Scores(b.get(), tail));
}

TEST(RobustGateTest, BadSettingsNameTheKey) {
  Params p("detectors.robust");
  p.Child("gate").SetScalar("-1");
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "gate", DetectorRegistry::Global()->MakeFactory("robust", p));
  Params q("detectors.robust");
  q.Child("holdoff").SetScalar("-5");
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "holdoff", DetectorRegistry::Global()->MakeFactory("robust", q));
}

}  // namespace
}  // namespace vigil
