// The pca detector beyond the contract suite: its linear algebra, what each
// statistic sees, the gated learning, attribution and bad settings / state.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "vigil/detect/pca.h"
#include "vigil/detect/pca_internal.h"
#include "vigil/engine/engine.h"
#include "vigil/testing/generators.h"
#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

using internal::ChiSquareToNormal;
using internal::PcaDetector;
using internal::SymmetricEigen;

TEST(SymmetricEigenTest, DecomposesARandomSymmetricMatrix) {
  constexpr int n = 9;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g;
  std::vector<double> a(n * n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j <= i; ++j) a[i * n + j] = a[j * n + i] = g(rng);
  }
  std::vector<double> work = a, values(n), vectors(n * n);
  SymmetricEigen(n, work, values, vectors);
  for (int j = 1; j < n; ++j) EXPECT_GE(values[j - 1], values[j]);
  for (int j = 0; j < n; ++j) {
    for (int l = 0; l < n; ++l) {  // orthonormal columns
      double dot = 0;
      for (int i = 0; i < n; ++i) dot += vectors[i * n + j] * vectors[i * n + l];
      EXPECT_NEAR(dot, j == l ? 1.0 : 0.0, 1e-12);
    }
    for (int i = 0; i < n; ++i) {  // A v = lambda v
      double av = 0;
      for (int k = 0; k < n; ++k) av += a[i * n + k] * vectors[k * n + j];
      EXPECT_NEAR(av, values[j] * vectors[i * n + j], 1e-10);
    }
  }
}

TEST(SymmetricEigenTest, KnownSpectrum) {
  // [[2,1,0],[1,2,0],[0,0,5]]: eigenvalues 5, 3, 1.
  std::vector<double> a = {2, 1, 0, 1, 2, 0, 0, 0, 5}, values(3), vectors(9);
  SymmetricEigen(3, a, values, vectors);
  EXPECT_NEAR(values[0], 5, 1e-12);
  EXPECT_NEAR(values[1], 3, 1e-12);
  EXPECT_NEAR(values[2], 1, 1e-12);
  EXPECT_NEAR(vectors[0 * 3 + 1], std::sqrt(0.5), 1e-12);  // (1,1,0)/sqrt 2, sign: largest entry positive
  EXPECT_NEAR(vectors[1 * 3 + 1], std::sqrt(0.5), 1e-12);
}

TEST(ChiSquareToNormalTest, MatchesKnownQuantiles) {
  EXPECT_NEAR(ChiSquareToNormal(15.086, 5), 2.326, 0.02);   // chi²(5) 99%
  EXPECT_NEAR(ChiSquareToNormal(3.841, 1), 1.645, 0.05);    // chi²(1) 95%
  EXPECT_NEAR(ChiSquareToNormal(29.588, 10), 3.090, 0.03);  // chi²(10) 99.9%
  EXPECT_LT(ChiSquareToNormal(0, 3), -2);
  EXPECT_LT(ChiSquareToNormal(2, 3), ChiSquareToNormal(3, 3));
}

// Two metrics that move together (b = a + small noise), plus one independent.
struct Correlated {
  std::mt19937_64 rng{7};
  std::normal_distribution<double> g;
  std::vector<double> Next() {
    const double a = g(rng);
    return {10 + a, 50 + 2 * a + 0.1 * g(rng), g(rng)};
  }
};

std::unique_ptr<Detector> Make(PcaOptions o, int dims = 3) {
  auto f = MakePcaFactory(o);
  EXPECT_OK(f);
  std::vector<std::string> names;
  for (int i = 0; i < dims; ++i) names.push_back(std::string("m").append(std::to_string(i)));
  auto d = (*f)->Create({"pump", names, 1});
  EXPECT_OK(d);
  return std::move(d).ValueOrDie();
}

void Learn(Detector* d, Correlated* data, int n) {
  for (int i = 0; i < n; ++i) {
    std::vector<double> v = data->Next();
    ASSERT_OK(d->Update({i, v}));
  }
}

TEST(PcaDetectorTest, SpeSeesABrokenCoMovementThatEachMetricAloneDoesNot) {
  auto d = Make(PcaOptions::Defaults());
  Correlated data;
  Learn(d.get(), &data, 2000);
  ASSERT_TRUE(d->warm());
  auto* pca = static_cast<PcaDetector*>(d.get());
  EXPECT_EQ(pca->components(), 2);  // the shared factor and the independent metric
  // Each metric within 2.5 of its own std, but against each other.
  std::vector<double> broken = {10 + 2.5, 50 - 2 * 2.5, 0}, along = {10 + 2.5, 50 + 2 * 2.5, 0};
  const auto qb = pca->Statistics({0, broken});
  const auto qa = pca->Statistics({0, along});
  EXPECT_GT(qb.spe, 8) << "broken co-movement";
  EXPECT_LT(qa.spe, 2) << "the usual co-movement";
  ASSERT_OK_AND_ASSIGN(double sb, d->Score({0, broken}));
  ASSERT_OK_AND_ASSIGN(double sa, d->Score({0, along}));
  EXPECT_GT(sb, 3 * sa);

  Explanation ex;
  d->Explain({0, broken}, &ex);
  ASSERT_EQ(ex.attribution.size(), 3u);
  EXPECT_NEAR(ex.attribution[0] + ex.attribution[1] + ex.attribution[2], 1.0, 1e-12);
  EXPECT_LT(ex.attribution[2], 0.05) << "the independent metric is not to blame";
  EXPECT_NE(ex.note.find("SPE"), std::string::npos) << ex.note;
  // The model expects m0 near its usual relation to m1, not the observed value.
  EXPECT_TRUE(ex.expected_lo <= ex.expected_hi);
  const double x = broken[ex.top_dimension];
  EXPECT_TRUE(x < ex.expected_lo || x > ex.expected_hi) << x << " in [" << ex.expected_lo << ", " << ex.expected_hi << "]";
}

TEST(PcaDetectorTest, T2SeesAnExtremePointAlongTheUsualDirection) {
  PcaOptions o;
  o.statistic = PcaOptions::Statistic::kT2;
  auto d = Make(o);
  Correlated data;
  Learn(d.get(), &data, 2000);
  std::vector<double> far_along = {10 + 8, 50 + 16, 0}, typical = {10.5, 51, 0.3};
  ASSERT_OK_AND_ASSIGN(double s_far, d->Score({0, far_along}));
  ASSERT_OK_AND_ASSIGN(double s_typ, d->Score({0, typical}));
  EXPECT_GT(s_far, 6);
  EXPECT_LT(s_typ, 2);
  Explanation ex;
  d->Explain({0, far_along}, &ex);
  EXPECT_NE(ex.note.find("T²"), std::string::npos) << ex.note;
  EXPECT_LT(ex.attribution[2], 0.05);
}

// Mean score of the last 20 of n points of a sustained shift that breaks the
// co-movement (m1 drops by `drop`, m0 does not follow).
double RunShifted(Detector* d, Correlated* data, int n, double drop) {
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<double> v = data->Next();
    v[1] -= drop;
    const double s = d->ScoreAndUpdate({i, v}).ValueOrDie();
    if (i >= n - 20) sum += s;
  }
  return sum / 20;
}

double ScoreIntoShift(PcaOptions o, int at, double drop = 6) {
  auto d = Make(o);
  Correlated data;
  Learn(d.get(), &data, 1500);
  return RunShifted(d.get(), &data, at, drop);
}

TEST(PcaDetectorTest, GatedLearningKeepsASustainedShiftVisibleForTheHoldOff) {
  PcaOptions gated;  // gate 4, holdoff 300
  gated.halflife = 100;
  PcaOptions ungated = gated;
  ungated.gate = 0;
  // The shift scores about 5.9 while it is new (SPE of a residual eigenvalue
  // floored by shrinkage 0.1), about 0.4 once learned.
  EXPECT_GT(ScoreIntoShift(gated, 250), 5);
  EXPECT_LT(ScoreIntoShift(ungated, 250), 1) << "without the gate the shift is learned";
  // Past the hold-off the lasting change is learned.
  EXPECT_LT(ScoreIntoShift(gated, 1500), 1);
}

TEST(PcaDetectorTest, AfterALearnedChangeTheNextOneIsLearnedUngated) {
  // A shift that outlasts the hold-off is learned; when the device then goes
  // back, the way back is learned at once instead of being withheld for
  // another hold-off by a model that has half-learned the shift.
  PcaOptions o;
  o.halflife = 100;
  o.holdoff = 200;
  auto d = Make(o);
  Correlated data;
  Learn(d.get(), &data, 1500);
  auto run = [&](int n, double drop) { return RunShifted(d.get(), &data, n, drop); };
  EXPECT_GT(run(150, 6), 5) << "the shift is withheld from learning while it is new";
  EXPECT_LT(run(150, 6), 2) << "past the hold-off it is learned";
  EXPECT_LT(run(80, 0), 2) << "the way back is learned, not withheld";
}

TEST(PcaDetectorTest, AYoungModelIsNotGated) {
  // 300 points learned, halflife 1000: the model has not seen its memory's
  // worth, so a change is learned rather than withheld (gate_after -1 = halflife).
  auto young = [](int32_t gate_after) {
    PcaOptions o;
    o.halflife = 1000;
    o.gate_after = gate_after;
    auto d = Make(o);
    Correlated data;
    Learn(d.get(), &data, 300);
    return RunShifted(d.get(), &data, 150, 6);
  };
  EXPECT_LT(young(-1), 2);
  EXPECT_GT(young(0), 5) << "gated from the first model on, the shift stays visible";
}

TEST(PcaDetectorTest, SmoothingMakesASmallSustainedShiftStandOut) {
  // m1 off its relation to m0 by half its std, within the noise of single
  // points around that relation, but sustained: the EWMA pre-filter averages the
  // noise away, not the shift.
  PcaOptions plain;
  PcaOptions smoothed;
  smoothed.smoothing = 0.1;
  const double s_plain = ScoreIntoShift(plain, 60, 1.0);
  const double s_smoothed = ScoreIntoShift(smoothed, 60, 1.0);
  // Measured: 0.79 plain, 4.38 smoothed.
  EXPECT_LT(s_plain, 2);
  EXPECT_GT(s_smoothed, 3);
  EXPECT_GT(s_smoothed, 3 * s_plain);
  EXPECT_LT(ScoreIntoShift(smoothed, 60, 0), 2) << "no shift, no score";
}

TEST(PcaDetectorTest, WarmUpIsAtLeastTwicePerDimension) {
  PcaOptions o;
  o.warmup = 3;
  auto d = Make(o, 10);
  std::vector<double> v(10);
  std::mt19937_64 rng(1);
  std::normal_distribution<double> g;
  for (int i = 0; i < 19; ++i) {
    for (double& x : v) x = g(rng);
    ASSERT_OK(d->Update({i, v}));
    ASSERT_FALSE(d->warm()) << i;
  }
  ASSERT_OK(d->Update({19, v}));
  EXPECT_TRUE(d->warm());
}

TEST(PcaDetectorTest, NoDetectorForDevicesWithTooFewMetrics) {
  ASSERT_OK_AND_ASSIGN(auto f, MakePcaFactory(PcaOptions::Defaults()));
  const std::string one[1] = {"temperature"};
  ASSERT_OK_AND_ASSIGN(auto d, f->Create({"pump", one, 1}));
  EXPECT_EQ(d, nullptr);
}

TEST(PcaDetectorTest, StateOfAnotherShapeIsCorrupt) {
  auto d3 = Make(PcaOptions::Defaults(), 3);
  Correlated data;
  Learn(d3.get(), &data, 300);
  StateWriter w;
  ASSERT_OK(d3->SerializeTo(&w));
  const std::string blob = w.Finish();
  auto d2 = Make(PcaOptions::Defaults(), 2);
  ASSERT_OK_AND_ASSIGN(StateReader r, StateReader::Open(blob));
  ASSERT_RAISES(Corrupt, d2->DeserializeFrom(&r));
}

TEST(PcaDetectorTest, StateSavedAnywhereInTheWarmUpLoadsAndContinuesIdentically) {
  // warmup 100 > refresh 50: a save between the two must load (it did not: the job's
  // state store could not restore a device in its first 100 events).
  PcaOptions o = PcaOptions::Defaults();
  o.warmup = 100;
  o.refresh = 50;
  for (int cut : {1, 49, 50, 51, 75, 99, 100, 101, 149, 150, 151}) {
    auto a = Make(o);
    Correlated data;
    Learn(a.get(), &data, cut);
    StateWriter w;
    ASSERT_OK(a->SerializeTo(&w));
    const std::string blob = w.Finish();
    auto b = Make(o);
    ASSERT_OK_AND_ASSIGN(StateReader r, StateReader::Open(blob));
    const Status loaded = b->DeserializeFrom(&r);
    ASSERT_TRUE(loaded.ok()) << "saved after " << cut << " points: " << loaded.ToString();
    for (int i = 0; i < 120; ++i) {
      const std::vector<double> v = data.Next();
      ASSERT_OK_AND_ASSIGN(double sa, a->Score({i, v}));
      ASSERT_OK_AND_ASSIGN(double sb, b->Score({i, v}));
      ASSERT_EQ(sa, sb) << "cut " << cut << ", point " << i;
      ASSERT_OK(a->Update({i, v}));
      ASSERT_OK(b->Update({i, v}));
    }
  }
}

TEST(PcaOptionsTest, BadSettingsNameTheKey) {
  Params p("detectors.pca");
  p.Set("statistic", "hotelling");
  auto o = PcaOptions::FromParams(p);
  ASSERT_RAISES(Invalid, o);
  EXPECT_NE(o.status().message().find("detectors.pca.statistic"), std::string::npos) << o.status().ToString();

  Params q("detectors.pca");
  q.Set("shrinkage", "1");
  auto o2 = PcaOptions::FromParams(q);
  ASSERT_RAISES(Invalid, o2);
  EXPECT_NE(o2.status().message().find("detectors.pca.shrinkage"), std::string::npos) << o2.status().ToString();

  Params typo("detectors.pca");
  typo.Set("halflfie", "100");
  ASSERT_RAISES(Invalid, PcaOptions::FromParams(typo));
}

TEST(PcaEngineTest, ExplainsABrokenCoMovementPerMetric) {
  // The member in the engine: a device whose two metrics move together, then do not.
  const char* yaml =
      "version: 1\n"
      "explain: anomalies\n"
      "detectors:\n"
      "  pca: {halflife: 200}\n";
  ASSERT_OK_AND_ASSIGN(EngineOptions opts, EngineOptions::FromYaml(yaml));
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Make(opts));
  Correlated data;
  EventBatchBuilder b;
  constexpr int kNormal = 1000, kBroken = 20;
  for (int i = 0; i < kNormal + kBroken; ++i) {
    std::vector<double> v = data.Next();
    if (i >= kNormal) v[1] -= 10;  // m1 drops by 5 of its std while m0 does not follow
    b.BeginEvent(i, std::string("e").append(std::to_string(i)), "dev-1", 1795428000000LL + 1000LL * i, 1, "pump");
    b.AddMetric("m0", v[0]);
    b.AddMetric("m1", v[1]);
    b.AddMetric("m2", v[2]);
    ASSERT_OK(b.FinishEvent());
  }
  VerdictBatch out;
  ASSERT_OK(engine->Process(b.Finish(), &out));
  int alarms_before = 0, alarms_after = 0;
  for (int i = 0; i < kNormal + kBroken; ++i) (i < kNormal ? alarms_before : alarms_after) += out.is_anomaly[i];
  EXPECT_LE(alarms_before, 3);
  EXPECT_GE(alarms_after, kBroken / 2);
  for (int i = kNormal; i < kNormal + kBroken; ++i) {
    if (!out.is_anomaly[i]) continue;
    EXPECT_NE(out.explanation_json[i].find("pca"), std::string::npos) << out.explanation_json[i];
    EXPECT_EQ(out.top_metric[i] == "m2", false) << "m2 is not to blame: " << out.explanation_json[i];
  }
}

TEST(PcaEngineTest, DeviceStateWithPcaRoundTripsThroughTheEngine) {
  // The default config with pca on (smoothed, so every piece of its state is
  // used): verdicts after SaveAll / LoadAll equal an uninterrupted run's.
  ASSERT_OK_AND_ASSIGN(EngineOptions opts, EngineOptions::FromYamlFile(VIGIL_SOURCE_DIR "/config/detectors.yaml"));
  bool found = false;
  for (MemberOptions& m : opts.ensemble.members) {
    if (m.name != "pca") continue;
    m.enabled = true;
    m.params.Set("smoothing", "0.2");
    found = true;
  }
  ASSERT_TRUE(found) << "config/detectors.yaml has a pca section";
  EventBatch batch = testing::MakeFleetBatch(/*devices=*/4, /*n=*/1500, /*metrics=*/3, /*seed=*/9);
  const int64_t cut = batch.size() / 2;
  EventBatchBuilder head_b, tail_b;
  for (int64_t i = 0; i < batch.size(); ++i) {
    EventBatchBuilder& out = i < cut ? head_b : tail_b;
    out.BeginEvent(batch.source_index(i), batch.event_id(i), batch.device_id(i), batch.ts_ms(i),
                   batch.schema_version(i), batch.device_class(i));
    for (size_t k = 0; k < batch.metric_ids(i).size(); ++k) {
      out.AddMetric(batch.metric_name(batch.metric_ids(i)[k]), batch.metric_values(i)[k]);
    }
    ASSERT_OK(out.FinishEvent());
  }
  const EventBatch head = head_b.Finish(), tail = tail_b.Finish();
  ASSERT_OK_AND_ASSIGN(auto a, Engine::Make(opts));
  ASSERT_OK_AND_ASSIGN(auto b, Engine::Make(opts));
  VerdictBatch va, vb, ignore;
  ASSERT_OK(a->Process(head, &ignore));
  ASSERT_OK(b->LoadAll(a->SaveAll()));
  ASSERT_OK(a->Process(tail, &va));
  ASSERT_OK(b->Process(tail, &vb));
  EXPECT_EQ(va.score, vb.score);
  EXPECT_EQ(va.explanation_json, vb.explanation_json);
  EXPECT_EQ(a->SaveAll(), b->SaveAll());
  int by_pca = 0;
  for (const std::string& e : va.explanation_json) by_pca += e.find("\"by\":\"pca\"") != std::string::npos;
  EXPECT_GT(by_pca, 0) << "pca explains some verdicts, so its state matters";
}

}  // namespace
}  // namespace vigil
