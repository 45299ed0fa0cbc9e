#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vigil/detect/rcf/forest_internal.h"
#include "vigil/testing/gtest_util.h"

namespace vigil::internal {
namespace {

RcfOptions Small(int shingle = 4) {
  RcfOptions o;
  o.num_trees = 20;
  o.sample_size = 64;
  o.shingle_size = shingle;
  return o;
}

std::unique_ptr<RandomCutForest> MakeForest(const RcfOptions& o, int dims, uint64_t seed = 1) {
  auto r = RandomCutForest::Make(o, dims, seed);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).MoveValueUnsafe();
}

// A noisy sine wave, one column per metric with different phases.
std::vector<double> Sine(int n, int dims, uint64_t seed, double period = 50.0, double noise = 0.05) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> eps(0.0, noise);
  std::vector<double> xs(static_cast<size_t>(n) * dims);
  for (int t = 0; t < n; ++t) {
    for (int m = 0; m < dims; ++m) xs[t * dims + m] = std::sin(2 * M_PI * t / period + m) + eps(gen);
  }
  return xs;
}

std::vector<double> Feed(RandomCutForest* f, const std::vector<double>& xs, int from, int to) {
  std::vector<double> scores;
  const int d = f->dims();
  for (int t = from; t < to; ++t) {
    scores.push_back(f->Score(&xs[t * d]));
    EXPECT_OK(f->Update(&xs[t * d]));
  }
  return scores;
}

void ExpectConsistent(const RandomCutForest& f) {
  uint64_t entries = 0;
  for (int t = 0; t < f.num_trees(); ++t) {
    EXPECT_EQ(f.tree(t).mass(), static_cast<uint32_t>(f.sampler(t).size())) << "tree " << t;
    EXPECT_TRUE(f.sampler(t).IsHeap()) << "tree " << t;
    entries += f.sampler(t).size();
  }
  uint64_t refs = 0;
  for (uint32_t row = 0; row < f.store().rows(); ++row) refs += f.store().refs(row);
  EXPECT_EQ(refs, entries);
}

std::string Save(const RandomCutForest& f) {
  StateWriter w;
  EXPECT_OK(f.SerializeTo(&w));
  return w.Finish();
}

Status Load(RandomCutForest* f, const std::string& blob) {
  VIGIL_ASSIGN_OR_RAISE(StateReader r, StateReader::Open(blob));
  return f->DeserializeFrom(&r);
}

TEST(RandomCutForestTest, RejectsBadOptions) {
  RcfOptions o = Small();
  o.num_trees = 0;
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "num_trees", RandomCutForest::Make(o, 1, 1));
  o = Small();
  o.sample_size = 1;
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "sample_size", RandomCutForest::Make(o, 1, 1));
  o = Small();
  o.initial_accept_fraction = 0.0;
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "initial_accept_fraction", RandomCutForest::Make(o, 1, 1));
  o = Small();
  o.time_decay = NAN;
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "time_decay", RandomCutForest::Make(o, 1, 1));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "metric", RandomCutForest::Make(Small(), 0, 1));
  o = Small(256);
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "exceeds", RandomCutForest::Make(o, 17, 1));
}

TEST(RandomCutForestTest, WarmUpGivesZeroUntilOutputAfter) {
  RcfOptions o = Small(4);
  o.output_after = 10;
  auto f = MakeForest(o, 1);
  const auto xs = Sine(100, 1, 3);
  std::vector<double> scores = Feed(f.get(), xs, 0, 100);
  // 3 inputs fill the shingle, the 4th makes update 1; 10 updates are done after input 13.
  for (int t = 0; t < 13; ++t) EXPECT_EQ(scores[t], 0.0) << t;
  for (int t = 13; t < 100; ++t) EXPECT_GT(scores[t], 0.0) << t;
  EXPECT_EQ(f->updates(), 97u);
}

TEST(RandomCutForestTest, SameSeedSameScoresOtherSeedOtherScores) {
  const auto xs = Sine(1500, 2, 5);
  auto a = MakeForest(Small(), 2, 42);
  auto b = MakeForest(Small(), 2, 42);
  auto c = MakeForest(Small(), 2, 43);
  const auto sa = Feed(a.get(), xs, 0, 1500);
  const auto sb = Feed(b.get(), xs, 0, 1500);
  const auto sc = Feed(c.get(), xs, 0, 1500);
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
  ExpectConsistent(*a);
}

TEST(RandomCutForestTest, ScoreIsPure) {
  const auto xs = Sine(800, 1, 7);
  auto a = MakeForest(Small(), 1);
  auto b = MakeForest(Small(), 1);
  for (int t = 0; t < 800; ++t) {
    const double s1 = a->Score(&xs[t]);
    EXPECT_EQ(s1, a->Score(&xs[t]));
    const double probe = 100.0;
    (void)a->Score(&probe);
    EXPECT_EQ(s1, b->Score(&xs[t]));
    ASSERT_OK(a->Update(&xs[t]));
    ASSERT_OK(b->Update(&xs[t]));
  }
}

TEST(RandomCutForestTest, RoundTripContinuesBitIdentically) {
  const auto xs = Sine(9000, 2, 11);
  RcfOptions o = Small();
  o.time_decay = 0.01;  // forces several weight rebases before and after the save
  auto a = MakeForest(o, 2, 9);
  Feed(a.get(), xs, 0, 5000);
  const std::string blob = Save(*a);
  auto b = MakeForest(o, 2, 12345);  // the seed comes from the state
  ASSERT_OK(Load(b.get(), blob));
  ExpectConsistent(*b);
  EXPECT_EQ(Save(*b), blob);
  EXPECT_EQ(Feed(a.get(), xs, 5000, 9000), Feed(b.get(), xs, 5000, 9000));
  EXPECT_EQ(Save(*a), Save(*b));
}

TEST(RandomCutForestTest, RoundTripOfAnEmptyAndAPartlyShingledForest) {
  auto a = MakeForest(Small(), 1);
  auto b = MakeForest(Small(), 1);
  ASSERT_OK(Load(b.get(), Save(*a)));
  const double x = 1.0;
  ASSERT_OK(a->Update(&x));
  ASSERT_OK(a->Update(&x));
  ASSERT_OK(Load(b.get(), Save(*a)));
  EXPECT_EQ(b->inputs(), 2u);
  const auto xs = Sine(300, 1, 2);
  EXPECT_EQ(Feed(a.get(), xs, 0, 300), Feed(b.get(), xs, 0, 300));
}

TEST(RandomCutForestTest, LoadRejectsAnotherShape) {
  auto a = MakeForest(Small(4), 2);
  const auto xs = Sine(200, 2, 1);
  Feed(a.get(), xs, 0, 200);
  const std::string blob = Save(*a);
  auto other_dims = MakeForest(Small(4), 3);
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "metric count 2", Load(other_dims.get(), blob));
  auto other_shingle = MakeForest(Small(8), 2);
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "shingle_size 4", Load(other_shingle.get(), blob));
}

TEST(RandomCutForestTest, TruncatedOrCorruptStateIsAnErrorNeverACrash) {
  const auto xs = Sine(1200, 2, 13);
  auto a = MakeForest(Small(), 2);
  Feed(a.get(), xs, 0, 1000);
  StateWriter w;
  ASSERT_OK(a->SerializeTo(&w));
  const std::string payload = w.TakePayload();
  const std::string reference = Save(*a);
  auto b = MakeForest(Small(), 2);
  // Every truncation of the payload fails; the forest keeps its old state.
  for (size_t len = 0; len < payload.size(); len += 1 + len / 64) {
    StateReader r = StateReader::FromPayload(std::string_view(payload).substr(0, len));
    EXPECT_FALSE(b->DeserializeFrom(&r).ok()) << "truncated at " << len;
  }
  EXPECT_EQ(b->updates(), 0u);
  // Random byte changes (no checksum at this level): an error, or a forest
  // that passed validation and keeps working.
  std::mt19937_64 gen(99);
  int rejected = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bad = payload;
    const int flips = 1 + static_cast<int>(gen() % 4);
    for (int k = 0; k < flips; ++k) bad[gen() % bad.size()] ^= static_cast<char>(1 + gen() % 255);
    StateReader r = StateReader::FromPayload(bad);
    auto c = MakeForest(Small(), 2);
    if (!c->DeserializeFrom(&r).ok()) {
      ++rejected;
      continue;
    }
    ExpectConsistent(*c);
    Feed(c.get(), xs, 1000, 1200);
  }
  EXPECT_GT(rejected, 200);
  // The sealed blob's checksum catches any change.
  std::string flipped = reference;
  flipped[flipped.size() / 2] ^= 0x10;
  ASSERT_RAISES(Corrupt, Load(b.get(), flipped));
}

TEST(RandomCutForestTest, AttributionSumsToScore) {
  const auto xs = Sine(1500, 3, 17);
  auto f = MakeForest(Small(), 3);
  Feed(f.get(), xs, 0, 1000);
  std::vector<double> high(static_cast<size_t>(f->tree_dims())), low(high.size());
  for (int t = 1000; t < 1100; ++t) {
    std::vector<double> x(xs.begin() + t * 3, xs.begin() + t * 3 + 3);
    if (t % 10 == 0) x[t % 3] += 3.0;  // some anomalies
    const double score = f->Attribution(x.data(), high.data(), low.data());
    EXPECT_EQ(score, f->Score(x.data()));
    const double sum = std::accumulate(high.begin(), high.end(), 0.0) + std::accumulate(low.begin(), low.end(), 0.0);
    EXPECT_NEAR(sum, score, 1e-6 * score) << t;
    for (size_t i = 0; i < high.size(); ++i) ASSERT_GE(std::min(high[i], low[i]), 0.0);
    ASSERT_OK(f->Update(x.data()));
  }
}

TEST(RandomCutForestTest, AttributionNamesTheMetricAndDirection) {
  const auto xs = Sine(1500, 3, 19);
  auto f = MakeForest(Small(), 3);
  Feed(f.get(), xs, 0, 1500);
  std::vector<double> high(static_cast<size_t>(f->tree_dims())), low(high.size());
  double x[3] = {xs[1500 * 3 - 3], xs[1500 * 3 - 2] - 4.0, xs[1500 * 3 - 1]};
  f->Attribution(x, high.data(), low.data());
  const int newest = f->tree_dims() - 3;
  EXPECT_GT(low[newest + 1], 0.5 * (std::accumulate(high.begin(), high.end(), 0.0) +
                                    std::accumulate(low.begin(), low.end(), 0.0)));
  EXPECT_GT(low[newest + 1], 10 * high[newest + 1]);
}

TEST(RandomCutForestTest, SpikeInASineScoresHigh) {
  auto xs = Sine(3000, 1, 23);
  xs[2500] += 2.0;
  auto f = MakeForest(RcfOptions::Defaults(), 1);
  const auto scores = Feed(f.get(), xs, 0, 3000);
  const double normal_max = *std::max_element(scores.begin() + 500, scores.begin() + 2500);
  EXPECT_GT(scores[2500], 1.5 * normal_max);
  EXPECT_GT(scores[2500], 2.0);
}

// A change of shape with values inside the usual range: the period halves.
// Single points look ordinary; shingles of 8 do not.
TEST(RandomCutForestTest, ShinglingCatchesAShapeChange) {
  std::vector<double> xs = Sine(3000, 1, 29, 40.0, 0.02);
  std::vector<double> fast = Sine(3000, 1, 31, 10.0, 0.02);
  std::copy(fast.begin() + 2500, fast.end(), xs.begin() + 2500);
  auto mean = [](const std::vector<double>& s, int a, int b) {
    return std::accumulate(s.begin() + a, s.begin() + b, 0.0) / (b - a);
  };
  RcfOptions shingled = RcfOptions::Defaults();
  RcfOptions single = shingled;
  single.shingle_size = 1;
  auto f8 = MakeForest(shingled, 1);
  auto f1 = MakeForest(single, 1);
  const auto s8 = Feed(f8.get(), xs, 0, 3000);
  const auto s1 = Feed(f1.get(), xs, 0, 3000);
  const double ratio8 = mean(s8, 2505, 2545) / mean(s8, 2000, 2500);
  const double ratio1 = mean(s1, 2505, 2545) / mean(s1, 2000, 2500);
  EXPECT_GT(ratio8, 1.5);
  EXPECT_GT(ratio8, ratio1 + 0.3);
}

TEST(RandomCutForestTest, ConstantInputKeepsDuplicatesConsistent) {
  auto f = MakeForest(Small(), 2);
  std::vector<double> xs(2 * 2000, 5.0);
  for (int t = 1000; t < 1010; ++t) xs[2 * t] = 6.0;
  const auto scores = Feed(f.get(), xs, 0, 2000);
  ExpectConsistent(*f);
  EXPECT_LT(f->store().live(), 64u);  // equal shingles share one stored point
  EXPECT_GT(scores[1000], 2 * scores[999]);
  auto g = MakeForest(Small(), 2);
  ASSERT_OK(Load(g.get(), Save(*f)));
  std::vector<double> more(2 * 200, 5.0);
  EXPECT_EQ(Feed(f.get(), more, 0, 200), Feed(g.get(), more, 0, 200));
}

TEST(RandomCutForestTest, HugeValuesKeepScoresFinite) {
  auto f = MakeForest(Small(), 2);
  const auto xs = Sine(600, 2, 41);
  Feed(f.get(), xs, 0, 500);
  const double huge[2] = {1e300, -1e300};
  const double score = f->Score(huge);
  EXPECT_TRUE(std::isfinite(score));
  EXPECT_GT(score, 1.0);
  ASSERT_OK(f->Update(huge));
  for (double s : Feed(f.get(), xs, 500, 600)) ASSERT_TRUE(std::isfinite(s));
}

TEST(RandomCutForestTest, TimeDecayFavoursRecentPoints) {
  const auto xs = Sine(20000, 1, 37);
  RcfOptions o = Small(1);
  o.time_decay = 1.0 / 640;
  auto f = MakeForest(o, 1);
  Feed(f.get(), xs, 0, 20000);
  // With decay the samples concentrate in the last few 1/lambda points.
  uint64_t recent = 0, total = 0;
  for (int t = 0; t < f->num_trees(); ++t) {
    for (uint32_t p : f->sampler(t).points()) {
      ++total;
      recent += f->store().sequence(p) + 5 * 640 >= f->updates() ? 1 : 0;
    }
  }
  EXPECT_GT(static_cast<double>(recent) / total, 0.95);
  ExpectConsistent(*f);
}

}  // namespace
}  // namespace vigil::internal
