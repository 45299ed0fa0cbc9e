#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vigil/detect/rcf.h"
#include "vigil/detect/rcf/rcf_detector_internal.h"
#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

const std::vector<std::string> kNames = {"temperature", "vibration", "pressure"};

std::unique_ptr<Detector> MakeDetector(const RcfOptions& o, uint64_t seed = 7) {
  auto factory = MakeRcfFactory(o);
  EXPECT_TRUE(factory.ok()) << factory.status().ToString();
  auto det = (*factory)->Create({.device_class = "pump", .metric_names = kNames, .seed = seed});
  EXPECT_TRUE(det.ok()) << det.status().ToString();
  return std::move(det).MoveValueUnsafe();
}

std::vector<double> Row(int t, std::mt19937_64* gen) {
  std::normal_distribution<double> eps(0.0, 0.05);
  return {20 + std::sin(t / 8.0) + eps(*gen), 0.5 + 0.1 * std::cos(t / 8.0) + eps(*gen), 3 + eps(*gen)};
}

TEST(RcfOptionsTest, FromParamsReadsEveryKeyAndNamesBadOnes) {
  Params p("detectors.rcf");
  p.Set("num_trees", "30").Set("sample_size", "128").Set("shingle_size", "4").Set("time_decay", "0.001");
  p.Set("output_after", "10").Set("initial_accept_fraction", "0.5").Set("seed", "3");
  ASSERT_OK_AND_ASSIGN(RcfOptions o, RcfOptions::FromParams(p));
  EXPECT_EQ(o.num_trees, 30);
  EXPECT_EQ(o.sample_size, 128);
  EXPECT_EQ(o.shingle_size, 4);
  EXPECT_EQ(o.time_decay, 0.001);
  EXPECT_EQ(o.output_after, 10);
  EXPECT_EQ(o.initial_accept_fraction, 0.5);
  EXPECT_EQ(o.seed, 3u);

  Params typo("detectors.rcf");
  typo.Set("num_tress", "30");
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "num_tress", RcfOptions::FromParams(typo));
  Params bad("detectors.rcf");
  bad.Set("sample_size", "1");
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "detectors.rcf.sample_size", RcfOptions::FromParams(bad));
  Params words("detectors.rcf");
  words.Set("shingle_size", "eight");
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "shingle_size", RcfOptions::FromParams(words));
}

TEST(RcfOptionsTest, DerivedDefaults) {
  const RcfOptions o = RcfOptions::Defaults();
  EXPECT_EQ(o.num_trees, 50);
  EXPECT_EQ(o.sample_size, 256);
  EXPECT_EQ(o.shingle_size, 8);
  EXPECT_DOUBLE_EQ(o.resolved_time_decay(), 1.0 / 2560);
  EXPECT_EQ(o.resolved_output_after(), 64);
  RcfOptions custom = o;
  custom.time_decay = 0;
  custom.output_after = 5;
  EXPECT_EQ(custom.resolved_time_decay(), 0.0);
  EXPECT_EQ(custom.resolved_output_after(), 5);
  ASSERT_OK(RcfOptions::Compact().Validate());
}

TEST(RcfDetectorTest, RegisteredAsMultivariate) {
  ASSERT_TRUE(DetectorRegistry::Global()->Contains("rcf"));
  ASSERT_OK_AND_ASSIGN(auto factory, DetectorRegistry::Global()->MakeFactory("rcf", Params("detectors.rcf")));
  EXPECT_EQ(factory->kind(), DetectorKind::kMultivariate);
  EXPECT_EQ(factory->type_name(), "rcf");
  std::vector<std::string> none;
  ASSERT_RAISES(Invalid, factory->Create({.device_class = "pump", .metric_names = none, .seed = 1}));
}

TEST(RcfDetectorTest, ExplainNamesTheMetricThatMoved) {
  RcfOptions o = RcfOptions::Compact();
  auto det = MakeDetector(o);
  std::mt19937_64 gen(5);
  for (int t = 0; t < 2000; ++t) {
    const auto row = Row(t, &gen);
    ASSERT_OK(det->ScoreAndUpdate({.ts_ms = t, .values = row}));
  }
  auto row = Row(2000, &gen);
  row[2] += 1.0;  // pressure jumps by 20 standard deviations
  Explanation ex;
  det->Explain({.ts_ms = 2000, .values = row}, &ex);
  EXPECT_EQ(ex.top_dimension, 2);
  EXPECT_NEAR(std::accumulate(ex.attribution.begin(), ex.attribution.end(), 0.0), 1.0, 1e-9);
  EXPECT_GT(ex.attribution[2], 0.6);
  EXPECT_NE(ex.note.find("pressure"), std::string::npos) << ex.note;
  EXPECT_NE(ex.note.find("higher"), std::string::npos) << ex.note;
  EXPECT_LT(ex.expected_lo, 3.0);
  EXPECT_GT(ex.expected_hi, 3.0);
  EXPECT_LT(ex.expected_hi, 3.5);

  auto* rcf = dynamic_cast<internal::RcfDetector*>(det.get());
  ASSERT_NE(rcf, nullptr);
  std::vector<double> high, low;
  const double score = rcf->AttributePerMetric({.ts_ms = 2000, .values = row}, &high, &low);
  ASSERT_OK_AND_ASSIGN(double direct, det->Score({.ts_ms = 2000, .values = row}));
  EXPECT_EQ(score, direct);
  EXPECT_GT(high[2], 10 * low[2]);
}

TEST(RcfDetectorTest, ExplainBeforeWarmUp) {
  auto det = MakeDetector(RcfOptions::Compact());
  std::mt19937_64 gen(1);
  const auto row = Row(0, &gen);
  Explanation ex;
  det->Explain({.ts_ms = 0, .values = row}, &ex);
  EXPECT_EQ(ex.note, "rcf: warming up");
  EXPECT_TRUE(std::isnan(ex.expected_lo));
}

TEST(RcfDetectorTest, KeySeedAndOptionSeedChangeTheForest) {
  RcfOptions o = RcfOptions::Compact();
  auto a = MakeDetector(o, 1), b = MakeDetector(o, 2), c = MakeDetector(o, 1);
  o.seed = 9;
  auto d = MakeDetector(o, 1);
  std::mt19937_64 gen(3);
  std::vector<double> sa, sb, sc, sd;
  for (int t = 0; t < 500; ++t) {
    const auto row = Row(t, &gen);
    const Point p{.ts_ms = t, .values = row};
    sa.push_back(a->ScoreAndUpdate(p).ValueOrDie());
    sb.push_back(b->ScoreAndUpdate(p).ValueOrDie());
    sc.push_back(c->ScoreAndUpdate(p).ValueOrDie());
    sd.push_back(d->ScoreAndUpdate(p).ValueOrDie());
  }
  EXPECT_EQ(sa, sc);
  EXPECT_NE(sa, sb);
  EXPECT_NE(sa, sd);
  EXPECT_GT(a->memory_bytes(), 100000);
}

}  // namespace
}  // namespace vigil
