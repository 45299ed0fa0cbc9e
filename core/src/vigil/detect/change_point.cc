// Change-point detectors: two-sided CUSUM and Page-Hinkley on values
// standardized by a slow EWMA baseline. Both statistics restart at zero after
// exceeding their limit, so a persisting shift fires again every few points
// until the baseline has adapted to the new level.
#include <algorithm>
#include <cmath>

#include "vigil/detect/builtin.h"
#include "vigil/detect/factory_internal.h"

namespace vigil {

namespace {

class CusumDetector final : public internal::UnivariateBase<CusumDetector> {
 public:
  CusumDetector(const CusumOptions& o, const DetectorContext&)
      : o_(o), alpha_(internal::AlphaFromHalflife(o.baseline_halflife)) {}

  std::string_view type_name() const override { return "cusum"; }
  bool warm() const override { return base_.n >= static_cast<uint64_t>(o_.warmup); }

  double Z(double x) const { return (x - base_.mean) / base_.Std(o_.min_std_rel, o_.min_std_abs); }

  double DoScore(double x, int64_t) const {
    if (!warm()) return 0.0;
    const double z = Z(x);
    return std::max(std::max(0.0, hi_ + z - o_.drift), std::max(0.0, lo_ - z - o_.drift));
  }

  void DoUpdate(double x, int64_t) {
    x = internal::Learnable(x);  // keeps z, and so the statistics, finite
    if (warm()) {
      const double z = Z(x);
      hi_ = std::max(0.0, hi_ + z - o_.drift);
      lo_ = std::max(0.0, lo_ - z - o_.drift);
      if (hi_ > o_.limit || lo_ > o_.limit) hi_ = lo_ = 0;
      const double lim = 4 * base_.Std(o_.min_std_rel, o_.min_std_abs);
      x = std::clamp(x, base_.mean - lim, base_.mean + lim);
    }
    base_.Add(x, alpha_);
  }

  void Explain(const Point& p, Explanation* out) const override {
    const double s = base_.Std(o_.min_std_rel, o_.min_std_abs);
    if (base_.n > 0) {
      out->expected_lo = base_.mean - 3 * s;
      out->expected_hi = base_.mean + 3 * s;
    }
    out->note = hi_ >= lo_ ? "sustained upward shift (CUSUM)" : "sustained downward shift (CUSUM)";
  }

  Status SerializeTo(StateWriter* w) const override {
    base_.Write(w, 1);  // ids 1-3
    w->WriteDouble(4, hi_);
    w->WriteDouble(5, lo_);
    return Status::OK();
  }
  Status DeserializeFrom(StateReader* r) override {
    VIGIL_RETURN_NOT_OK(base_.Read(r, 1));
    VIGIL_RETURN_NOT_OK(r->ReadDouble(4, &hi_));
    VIGIL_RETURN_NOT_OK(r->ReadDouble(5, &lo_));
    if (!(hi_ >= 0) || !(lo_ >= 0)) return Status::Corrupt("cusum state: negative statistic");
    return Status::OK();
  }

 private:
  CusumOptions o_;
  double alpha_;
  internal::EwmaStats base_;
  double hi_ = 0;
  double lo_ = 0;
};

class PageHinkleyDetector final : public internal::UnivariateBase<PageHinkleyDetector> {
 public:
  PageHinkleyDetector(const PageHinkleyOptions& o, const DetectorContext&)
      : o_(o), alpha_(internal::AlphaFromHalflife(o.baseline_halflife)) {}

  std::string_view type_name() const override { return "page_hinkley"; }
  bool warm() const override { return base_.n >= static_cast<uint64_t>(o_.warmup); }

  double Z(double x) const { return (x - base_.mean) / base_.Std(o_.min_std_rel, o_.min_std_abs); }

  double DoScore(double x, int64_t) const {
    if (!warm()) return 0.0;
    const double z = Z(x);
    const double up = up_ + z - o_.delta;
    const double down = down_ + z + o_.delta;
    return std::max(up - std::min(up_min_, up), std::max(down_max_, down) - down);
  }

  void DoUpdate(double x, int64_t) {
    x = internal::Learnable(x);  // keeps z, and so the statistics, finite
    if (warm()) {
      const double z = Z(x);
      up_ += z - o_.delta;
      down_ += z + o_.delta;
      up_min_ = std::min(up_min_, up_);
      down_max_ = std::max(down_max_, down_);
      if (up_ - up_min_ > o_.limit || down_max_ - down_ > o_.limit) up_ = down_ = up_min_ = down_max_ = 0;
      const double lim = 4 * base_.Std(o_.min_std_rel, o_.min_std_abs);
      x = std::clamp(x, base_.mean - lim, base_.mean + lim);
    }
    base_.Add(x, alpha_);
  }

  void Explain(const Point& p, Explanation* out) const override {
    const double s = base_.Std(o_.min_std_rel, o_.min_std_abs);
    if (base_.n > 0) {
      out->expected_lo = base_.mean - 3 * s;
      out->expected_hi = base_.mean + 3 * s;
    }
    out->note = "change point (Page-Hinkley)";
  }

  Status SerializeTo(StateWriter* w) const override {
    base_.Write(w, 1);  // ids 1-3
    w->WriteDouble(4, up_);
    w->WriteDouble(5, up_min_);
    w->WriteDouble(6, down_);
    w->WriteDouble(7, down_max_);
    return Status::OK();
  }
  Status DeserializeFrom(StateReader* r) override {
    VIGIL_RETURN_NOT_OK(base_.Read(r, 1));
    VIGIL_RETURN_NOT_OK(r->ReadDouble(4, &up_));
    VIGIL_RETURN_NOT_OK(r->ReadDouble(5, &up_min_));
    VIGIL_RETURN_NOT_OK(r->ReadDouble(6, &down_));
    VIGIL_RETURN_NOT_OK(r->ReadDouble(7, &down_max_));
    if (!std::isfinite(up_ + up_min_ + down_ + down_max_)) return Status::Corrupt("page_hinkley state: non-finite");
    return Status::OK();
  }

 private:
  PageHinkleyOptions o_;
  double alpha_;
  internal::EwmaStats base_;
  double up_ = 0, up_min_ = 0, down_ = 0, down_max_ = 0;
};

}  // namespace

Result<std::unique_ptr<DetectorFactory>> MakeCusumFactory(const CusumOptions& o) {
  VIGIL_RETURN_NOT_OK(o.Validate());
  return std::unique_ptr<DetectorFactory>(
      std::make_unique<internal::SimpleFactory<CusumDetector, CusumOptions>>(
          o, "cusum", DetectorKind::kUnivariate, internal::Logistic(o.limit, o.limit / 8)));
}

Result<std::unique_ptr<DetectorFactory>> MakePageHinkleyFactory(const PageHinkleyOptions& o) {
  VIGIL_RETURN_NOT_OK(o.Validate());
  return std::unique_ptr<DetectorFactory>(
      std::make_unique<internal::SimpleFactory<PageHinkleyDetector, PageHinkleyOptions>>(
          o, "page_hinkley", DetectorKind::kUnivariate, internal::Logistic(o.limit, o.limit / 8)));
}

}  // namespace vigil
