// EWMA mean/variance z-score, per (device, metric).
#include <algorithm>
#include <cmath>

#include "vigil/detect/builtin.h"
#include "vigil/detect/factory_internal.h"

namespace vigil {

namespace {

class EwmaDetector final : public internal::UnivariateBase<EwmaDetector> {
 public:
  EwmaDetector(const EwmaOptions& o, const DetectorContext&)
      : o_(o), alpha_(internal::AlphaFromHalflife(o.halflife)), clip2_(o.clip * o.clip) {}

  std::string_view type_name() const override { return "ewma"; }
  bool warm() const override { return stats_.n >= static_cast<uint64_t>(o_.warmup); }

  double DoScore(double x, int64_t) const {
    if (!warm()) return 0.0;
    return std::fabs(x - stats_.mean) / stats_.Std(o_.min_std_rel, o_.min_std_abs);
  }

  // Keeps the sqrt off the loop-carried dependency chain: clipping is decided
  // on squares, so the next point waits only for the cheap update.
  double DoScoreAndUpdate(double x, int64_t) {
    double score = 0.0;
    if (warm()) {
      const double v2 = stats_.FlooredVar(o_.min_std_rel, o_.min_std_abs);
      const double diff = x - stats_.mean;
      score = std::fabs(diff) / std::sqrt(v2);
      if (diff * diff > clip2_ * v2 && o_.clip > 0) {
        const double sd = std::sqrt(v2);
        x = std::clamp(x, stats_.mean - o_.clip * sd, stats_.mean + o_.clip * sd);
      }
    }
    stats_.Add(x, alpha_);
    return score;
  }

  void DoUpdate(double x, int64_t) {
    if (o_.clip > 0 && warm()) {
      // Learn outliers as if they were at the edge of the band, so one spike
      // does not inflate the variance for the next halflife points.
      const double sd = stats_.Std(o_.min_std_rel, o_.min_std_abs);
      x = std::clamp(x, stats_.mean - o_.clip * sd, stats_.mean + o_.clip * sd);
    }
    stats_.Add(x, alpha_);
  }

  void Explain(const Point& p, Explanation* out) const override {
    const double band = o_.band * stats_.Std(o_.min_std_rel, o_.min_std_abs);
    out->top_dimension = 0;
    if (stats_.n > 0) {
      out->expected_lo = stats_.mean - band;
      out->expected_hi = stats_.mean + band;
    }
    out->note = "z-score vs EWMA mean";
  }

  Status SerializeTo(StateWriter* w) const override {
    stats_.Write(w, 1);  // ids 1-3
    return Status::OK();
  }
  Status DeserializeFrom(StateReader* r) override { return stats_.Read(r, 1); }

 private:
  EwmaOptions o_;
  double alpha_;
  double clip2_;
  internal::EwmaStats stats_;
};

}  // namespace

Result<std::unique_ptr<DetectorFactory>> MakeEwmaFactory(const EwmaOptions& o) {
  VIGIL_RETURN_NOT_OK(o.Validate());
  return std::unique_ptr<DetectorFactory>(
      std::make_unique<internal::SimpleFactory<EwmaDetector, EwmaOptions>>(
          o, "ewma", DetectorKind::kUnivariate, internal::Logistic(6.0, 0.6)));
}

}  // namespace vigil
