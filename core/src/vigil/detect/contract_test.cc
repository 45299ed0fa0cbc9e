// The contract every detector passes. A new detector joins with one line in
// the INSTANTIATE_TEST_SUITE_P list at the bottom.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "vigil/detect/detector.h"
#include "vigil/testing/generators.h"
#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

struct ContractCase {
  std::string name;                                   ///< registry name
  std::vector<std::pair<std::string, std::string>> settings;  ///< flat "a.b" -> value
  int32_t dims = 1;
  /// Labelled data; default: testing::MakeLabelledMatrix with `dims` columns.
  std::function<testing::LabelledMatrix(uint64_t seed)> data;
};

ContractCase Case(std::string name, std::vector<std::pair<std::string, std::string>> settings = {},
                  int32_t dims = 1, std::function<testing::LabelledMatrix(uint64_t)> data = nullptr) {
  return ContractCase{std::move(name), std::move(settings), dims, std::move(data)};
}

std::ostream& operator<<(std::ostream& os, const ContractCase& c) { return os << c.name; }

// Series whose anomalies are gaps in event time (the values carry no signal).
testing::LabelledMatrix GapData(uint64_t seed) {
  testing::SeriesOptions o;
  o.seed = seed;
  o.num_spikes = 0;
  o.num_shifts = 0;
  o.num_bursts = 0;
  testing::LabelledMatrix m = testing::MakeLabelledMatrix(o, 2);
  int64_t shift = 0;
  for (size_t i = 0; i < m.ts_ms.size(); ++i) {
    if (i > 300 && i % 397 == 0) {
      shift += 60000;
      m.labels[i] = 1;
    }
    m.ts_ms[i] += shift;
  }
  return m;
}

class DetectorContract : public ::testing::TestWithParam<ContractCase> {
 protected:
  void SetUp() override {
    const ContractCase& c = GetParam();
    if (!DetectorRegistry::Global()->Contains(c.name)) GTEST_SKIP() << c.name << " is not built";
    Params p("detectors." + c.name);
    for (const auto& [key, value] : c.settings) {
      Params* node = &p;
      std::string k = key;
      for (size_t dot; (dot = k.find('.')) != std::string::npos; k = k.substr(dot + 1)) {
        node = &node->Child(k.substr(0, dot));
      }
      node->Set(k, value);
    }
    auto f = DetectorRegistry::Global()->MakeFactory(c.name, p);
    ASSERT_OK(f);
    factory_ = std::move(f).ValueOrDie();
    for (int32_t d = 0; d < c.dims; ++d) names_.push_back(std::string("m").append(std::to_string(d)));
    data_ = c.data ? c.data(11) : testing::MakeLabelledMatrix({.n = 3000, .seed = 11}, c.dims);
  }

  std::unique_ptr<Detector> Make(uint64_t seed = 7) {
    auto d = factory_->Create({"pump", names_, seed});
    EXPECT_OK(d);
    EXPECT_NE(d->get(), nullptr);
    return std::move(d).ValueOrDie();
  }

  Point At(int64_t i) const { return {data_.ts_ms[i], data_.row(i)}; }

  // Score-then-learn rows [from, to); append scores.
  void Run(Detector* d, int64_t from, int64_t to, std::vector<double>* scores) {
    for (int64_t i = from; i < to; ++i) {
      auto s = d->ScoreAndUpdate(At(i));
      ASSERT_OK(s);
      scores->push_back(*s);
    }
  }

  int64_t n() const { return static_cast<int64_t>(data_.ts_ms.size()); }

  std::unique_ptr<DetectorFactory> factory_;
  std::vector<std::string> names_;
  testing::LabelledMatrix data_;
};

TEST_P(DetectorContract, SameSeedSameScores) {
  auto a = Make(), b = Make();
  std::vector<double> sa, sb;
  Run(a.get(), 0, n(), &sa);
  Run(b.get(), 0, n(), &sb);
  ASSERT_EQ(sa, sb);
}

TEST_P(DetectorContract, ScoreIsPure) {
  auto a = Make(), b = Make();
  for (int64_t i = 0; i < n(); ++i) {
    ASSERT_OK_AND_ASSIGN(double s1, a->Score(At(i)));
    ASSERT_OK_AND_ASSIGN(double s2, a->Score(At(i)));
    ASSERT_EQ(s1, s2) << i;
    ASSERT_OK(a->Update(At(i)));
    ASSERT_OK_AND_ASSIGN(double sb, b->ScoreAndUpdate(At(i)));
    ASSERT_EQ(s1, sb) << i;
  }
}

TEST_P(DetectorContract, SaveLoadRoundTripIsBitIdentical) {
  for (int64_t cut : {int64_t{5}, n() / 3, n() / 2}) {
    auto a = Make();
    std::vector<double> head, tail_a, tail_b;
    Run(a.get(), 0, cut, &head);
    StateWriter w;
    ASSERT_OK(a->SerializeTo(&w));
    std::string blob = w.Finish();
    auto b = Make(/*seed=*/999);  // the state, not the seed, must carry everything
    ASSERT_OK_AND_ASSIGN(StateReader r, StateReader::Open(blob));
    ASSERT_OK(b->DeserializeFrom(&r));
    Run(a.get(), cut, n(), &tail_a);
    Run(b.get(), cut, n(), &tail_b);
    ASSERT_EQ(tail_a, tail_b) << "cut at " << cut;
  }
}

TEST_P(DetectorContract, TruncatedStateIsAnErrorNotACrash) {
  auto a = Make();
  std::vector<double> s;
  Run(a.get(), 0, n() / 2, &s);
  StateWriter w;
  ASSERT_OK(a->SerializeTo(&w));
  std::string payload = w.TakePayload();
  // A cut that lands exactly before an optional trailing field (one that older
  // blobs lack) reads as an older state, so most, not all, cuts must fail; none
  // may crash. Sealed blobs (StateReader::Open) reject every cut by length and CRC.
  const size_t step = std::max<size_t>(1, payload.size() / 200);
  int cuts = 0, rejected = 0;
  for (size_t len = 0; len < payload.size(); len += step) {
    auto b = Make();
    StateReader r = StateReader::FromPayload(std::string_view(payload).substr(0, len));
    ++cuts;
    rejected += b->DeserializeFrom(&r).ok() ? 0 : 1;
  }
  EXPECT_GE(rejected * 10, cuts * 9) << rejected << " of " << cuts << " cuts rejected";
}

TEST_P(DetectorContract, WarmUpIsDefined) {
  auto a = Make();
  EXPECT_EQ(a->dims(), GetParam().dims);
  for (int64_t i = 0; i < n(); ++i) {
    const bool warm = a->warm();
    ASSERT_OK_AND_ASSIGN(double s, a->ScoreAndUpdate(At(i)));
    ASSERT_TRUE(std::isfinite(s) && s >= 0) << i << ": " << s;
    if (!warm) {
      ASSERT_EQ(s, 0.0) << "scored " << s << " before warm at " << i;
    }
  }
  EXPECT_TRUE(a->warm());
  Explanation ex;
  a->Explain(At(n() - 1), &ex);
  EXPECT_GE(ex.top_dimension, -1);
}

TEST_P(DetectorContract, RejectsBadPoints) {
  auto a = Make();
  std::vector<double> wrong(a->dims() + 1, 1.0);
  ASSERT_RAISES(Invalid, a->Score({0, wrong}));
  std::vector<double> nan(a->dims(), std::nan(""));
  ASSERT_RAISES(Invalid, a->Update({0, nan}));
}

TEST_P(DetectorContract, BetterThanChance) {
  auto a = Make();
  std::vector<double> scores;
  Run(a.get(), 0, n(), &scores);
  const double auc = testing::Auc(scores, data_.labels);
  EXPECT_GT(auc, 0.6) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Detectors, DetectorContract,
    ::testing::Values(Case("ewma"),
                      Case("robust"),
                      Case("cusum"),
                      Case("page_hinkley"),
                      Case("rules", {{"limits.pump.*.min", "14"}, {"limits.pump.*.max", "26"},
                                             {"limits.pump.*.flatline_readings", "5"}}),
                      Case("gap", {}, 2, GapData),
                      Case("pca", {}, 3),
                      Case("rcf", {{"num_trees", "20"}, {"sample_size", "64"}, {"shingle_size", "4"}}, 3)),
    [](const ::testing::TestParamInfo<ContractCase>& info) { return info.param.name; });

}  // namespace
}  // namespace vigil
