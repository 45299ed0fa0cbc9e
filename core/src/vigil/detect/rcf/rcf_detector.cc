#include "vigil/detect/rcf/rcf_detector_internal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vigil {
namespace internal {

double RcfDetector::AttributePerMetric(const Point& p, std::vector<double>* high, std::vector<double>* low) const {
  const int d = forest_->dims();
  std::vector<double> tree_high(static_cast<size_t>(forest_->tree_dims()));
  std::vector<double> tree_low(tree_high.size());
  const double score = forest_->Attribution(p.values.data(), tree_high.data(), tree_low.data());
  high->assign(static_cast<size_t>(d), 0.0);
  low->assign(static_cast<size_t>(d), 0.0);
  for (size_t i = 0; i < tree_high.size(); ++i) {
    (*high)[i % d] += tree_high[i];
    (*low)[i % d] += tree_low[i];
  }
  return score;
}

void RcfDetector::Explain(const Point& p, Explanation* out) const {
  *out = Explanation();
  std::vector<double> high, low;
  const double score = AttributePerMetric(p, &high, &low);
  const int d = forest_->dims();
  out->attribution.assign(static_cast<size_t>(d), 0.0);
  if (score <= 0.0) {
    out->note = warm() ? "rcf: no attribution" : "rcf: warming up";
    return;
  }
  int top = 0;
  for (int m = 0; m < d; ++m) {
    out->attribution[m] = (high[m] + low[m]) / score;
    if (out->attribution[m] > out->attribution[top]) top = m;
  }
  out->top_dimension = top;
  // Expected range of the top metric: the span of its newest value over the
  // points the trees currently sample.
  const PointStore& store = forest_->store();
  const int newest = forest_->tree_dims() - d + top;
  double lo = INFINITY, hi = -INFINITY;
  for (uint32_t row = 0; row < store.rows(); ++row) {
    if (store.refs(row) == 0) continue;
    lo = std::min(lo, static_cast<double>(store.Get(row)[newest]));
    hi = std::max(hi, static_cast<double>(store.Get(row)[newest]));
  }
  if (lo <= hi) {
    out->expected_lo = lo;
    out->expected_hi = hi;
  }
  char note[160];
  std::snprintf(note, sizeof(note), "rcf: %s drives %.0f%% of the score (%s)",
                top < static_cast<int>(metric_names_.size()) ? metric_names_[top].c_str() : "metric",
                100.0 * out->attribution[top], high[top] >= low[top] ? "higher than usual" : "lower than usual");
  out->note = note;
}

int64_t RcfDetector::memory_bytes() const {
  size_t bytes = sizeof(*this) + forest_->MemoryBytes();
  for (const std::string& name : metric_names_) bytes += sizeof(name) + name.capacity();
  return static_cast<int64_t>(bytes);
}

double RcfDetector::ScoreAndUpdateTrusted(const Point& p) {
  const double score = forest_->Score(p.values.data());
  UpdateTrusted(p);
  return score;
}

void RcfDetector::UpdateTrusted(const Point& p) {
  [[maybe_unused]] const Status st = forest_->Update(p.values.data());
  VIGIL_DCHECK(st.ok(), "rcf: a forest update broke an invariant");
}

namespace {

class RcfFactory final : public DetectorFactory {
 public:
  explicit RcfFactory(const RcfOptions& options) : options_(options) {}

  std::string_view type_name() const override { return "rcf"; }
  DetectorKind kind() const override { return DetectorKind::kMultivariate; }
  CalibrationOptions default_calibration() const override {
    // RCF scores have no fixed scale across data sets: standardize per device.
    CalibrationOptions c;
    c.kind = CalibrationOptions::Kind::kTail;
    c.center = 4.0;
    c.scale = 0.5;
    return c;
  }
  Result<std::unique_ptr<Detector>> Create(const DetectorContext& ctx) const override {
    uint64_t mix = options_.seed ^ (ctx.seed * 0x9e3779b97f4a7c15ULL);
    const uint64_t seed = RcfRandom::SplitMix64(&mix);
    VIGIL_ASSIGN_OR_RAISE(auto forest,
                          RandomCutForest::Make(options_, static_cast<int>(ctx.metric_names.size()), seed));
    std::vector<std::string> names(ctx.metric_names.begin(), ctx.metric_names.end());
    return std::unique_ptr<Detector>(std::make_unique<RcfDetector>(std::move(forest), std::move(names)));
  }

 private:
  RcfOptions options_;
};

Result<std::unique_ptr<DetectorFactory>> MakeRcfFactoryFromParams(const Params& params) {
  VIGIL_ASSIGN_OR_RAISE(RcfOptions options, RcfOptions::FromParams(params));
  return MakeRcfFactory(options);
}

}  // namespace
}  // namespace internal

Result<std::unique_ptr<DetectorFactory>> MakeRcfFactory(const RcfOptions& options) {
  VIGIL_RETURN_NOT_OK(options.Validate());
  return std::unique_ptr<DetectorFactory>(std::make_unique<internal::RcfFactory>(options));
}

Status RegisterRcfDetector(DetectorRegistry* registry) {
  return registry->Register("rcf", &internal::MakeRcfFactoryFromParams);
}

}  // namespace vigil
