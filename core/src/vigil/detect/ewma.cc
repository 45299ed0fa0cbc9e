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
      : o_(o), alpha_(internal::AlphaFromHalflife(o.halflife)) {}

  std::string_view type_name() const override { return "ewma"; }
  bool warm() const override { return stats_.n >= static_cast<uint64_t>(o_.warmup); }

  double DoScore(double x, int64_t) const {
    if (!warm()) return 0.0;
    return std::fabs(x - stats_.mean) / stats_.Std(o_.min_std_rel, o_.min_std_abs);
  }

  void DoUpdate(double x, int64_t) {
    if (o_.clip > 0 && warm()) {
      // Learn outliers as if they were at the edge of the band, so one spike
      // does not inflate the variance for the next halflife points.
      const double lim = o_.clip * stats_.Std(o_.min_std_rel, o_.min_std_abs);
      x = std::clamp(x, stats_.mean - lim, stats_.mean + lim);
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
