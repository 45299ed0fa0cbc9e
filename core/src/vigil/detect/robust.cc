// Streaming median / MAD z-score, O(1) per point.
//
// The first `warmup` points are buffered to seed an exact median and MAD;
// afterwards both follow stochastic-approximation quantile updates
// (m += step * sign(x - m)) with a step proportional to the current scale, so
// they track the median of x and of |x - m| without keeping a window.
// Quantized sensors (a flow meter reading 31, 32, 32, 31.0007 ...) have a MAD
// of ~0, so the scale is also floored by the typical size of a non-zero change
// between consecutive readings (a streaming median of |x_t - x_t-1| over
// non-zero steps, updated multiplicatively so it is unit-free): one quantum
// step then scores about 1, not infinity.
// Gated scale (`gate`, `holdoff`): the MAD steps up by a fraction of the scale
// per point, so under a sustained shift it grows geometrically and the shift
// is absorbed within a few hundred points. Points further than gate scales from
// the median therefore do not move the MAD, for at most `holdoff` in a row
// (after that a persisting change is learned); the median keeps its bounded
// step, so a permanent shift is still absorbed, only not by inflating the scale.
#include <algorithm>
#include <cmath>
#include <vector>

#include "vigil/detect/builtin.h"
#include "vigil/detect/factory_internal.h"

namespace vigil {

namespace {

constexpr double kMadToStd = 1.4826;
// The floor is the standard deviation of quantization noise, q / sqrt(12),
// for a quantum q = the typical non-zero step: it stops a collapsed MAD from
// turning one quantum into an alarm, and is far below the MAD of continuous
// noise (whose typical step is ~0.95 sigma), where it has no effect.
constexpr double kStepToStd = 0.28867513459481287;  // 1 / sqrt(12)
constexpr double kStepRate = 0.02;  // multiplicative step of the typical-step median

double Median(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), v.begin() + mid)) / 2;
  return m;
}

class RobustDetector final : public internal::UnivariateBase<RobustDetector> {
 public:
  RobustDetector(const RobustOptions& o, const DetectorContext&) : o_(o), mad_rate_(o.rate / kMadToStd) {}

  std::string_view type_name() const override { return "robust"; }
  bool warm() const override { return seeded_; }

  double Scale() const {
    return std::max({kMadToStd * mad_, o_.min_mad_rel * std::fabs(median_), o_.min_mad_abs, kStepToStd * step_});
  }

  double DoScore(double x, int64_t) const {
    if (!seeded_) return 0.0;
    return std::fabs(x - median_) / Scale();
  }

  double DoScoreAndUpdate(double x, int64_t t) {
    if (!seeded_) {
      DoUpdate(x, t);
      return 0.0;
    }
    const double scale = Scale();
    const double score = std::fabs(x - median_) / scale;
    x = internal::Learnable(x);
    Track(x);
    Step(x, scale);
    return score;
  }

  void DoUpdate(double x, int64_t) {
    x = internal::Learnable(x);
    if (!seeded_) {
      Track(x);
      buffer_.push_back(x);
      if (static_cast<int32_t>(buffer_.size()) >= o_.warmup) Seed();
      return;
    }
    const double scale = Scale();
    Track(x);
    Step(x, scale);
  }

  // The typical non-zero step between consecutive readings.
  void Track(double x) {
    if (has_last_ && x != last_) {
      const double d = std::fabs(x - last_);
      if (step_ == 0) {
        step_ = d;
      } else {
        step_ *= d > step_ ? 1.0 + kStepRate : 1.0 - kStepRate;
      }
    }
    last_ = x;
    has_last_ = true;
  }

  // One stochastic-approximation step of the median and the MAD, with the
  // scale measured before this point (as scoring saw it).
  void Step(double x, double scale) {
    const double step = o_.rate * scale;
    const double z_scaled = std::fabs(x - median_);  // as scored, before the median moves
    median_ += x > median_ ? step : (x < median_ ? -step : 0.0);
    if (o_.gate > 0) {  // gated scale (see RobustOptions::gate)
      if (z_scaled > o_.gate * scale) {
        if (gated_ < static_cast<uint32_t>(o_.holdoff)) {  // saturates: past the hold-off, learn
          ++gated_;
          return;
        }
      } else {
        gated_ = 0;
      }
    }
    const double d = std::fabs(x - median_);
    const double mad_step = mad_rate_ * scale;
    mad_ += d > mad_ ? mad_step : (d < mad_ ? -mad_step : 0.0);
    if (mad_ < 0) mad_ = 0;
  }

  void Explain(const Point& p, Explanation* out) const override {
    out->top_dimension = 0;
    if (seeded_) {
      out->expected_lo = median_ - o_.band * Scale();
      out->expected_hi = median_ + o_.band * Scale();
    }
    out->note = "robust z-score vs median/MAD";
  }

  Status SerializeTo(StateWriter* w) const override {
    w->WriteDouble(1, median_);
    w->WriteDouble(2, mad_);
    w->WriteBool(3, seeded_);
    w->WriteDoubles(4, buffer_);
    // id 5 (smallest step, before 2026-11-23 23:50) is retired; never reuse it.
    w->WriteDouble(6, last_);
    w->WriteBool(7, has_last_);
    w->WriteDouble(8, step_);
    if (gated_ > 0) w->WriteUInt(9, gated_);
    return Status::OK();
  }
  Status DeserializeFrom(StateReader* r) override {
    VIGIL_RETURN_NOT_OK(r->ReadDouble(1, &median_));
    VIGIL_RETURN_NOT_OK(r->ReadDouble(2, &mad_));
    VIGIL_RETURN_NOT_OK(r->ReadBool(3, &seeded_));
    VIGIL_RETURN_NOT_OK(r->ReadDoubles(4, &buffer_));
    VIGIL_RETURN_NOT_OK(r->ReadDouble(6, &last_));
    VIGIL_RETURN_NOT_OK(r->ReadBool(7, &has_last_));
    step_ = 0;  // older blobs lack it: it is re-learned from the next steps
    if (r->Has(8)) VIGIL_RETURN_NOT_OK(r->ReadDouble(8, &step_));
    uint64_t gated = 0;
    if (r->Has(9)) VIGIL_RETURN_NOT_OK(r->ReadUInt(9, &gated));
    if (gated > 0xFFFFFFFFu) return Status::Corrupt("robust detector state: gated run out of range");
    gated_ = static_cast<uint32_t>(gated);
    if (static_cast<int32_t>(buffer_.size()) > o_.warmup || (seeded_ && !buffer_.empty())) {
      return Status::Corrupt("robust detector state: warm-up buffer inconsistent");
    }
    if (!std::isfinite(median_) || !std::isfinite(mad_) || mad_ < 0 || !(step_ >= 0) || !std::isfinite(step_)) {
      return Status::Corrupt("robust detector state: bad median/MAD");
    }
    return Status::OK();
  }
  int64_t memory_bytes() const override {
    return sizeof(*this) + static_cast<int64_t>(buffer_.capacity() * sizeof(double));
  }

 private:
  void Seed() {
    median_ = Median(buffer_);
    std::vector<double> dev(buffer_.size());
    for (size_t i = 0; i < buffer_.size(); ++i) dev[i] = std::fabs(buffer_[i] - median_);
    mad_ = Median(std::move(dev));
    seeded_ = true;
    std::vector<double>().swap(buffer_);
  }

  RobustOptions o_;
  double mad_rate_;
  double median_ = 0;
  double mad_ = 0;
  double step_ = 0;  // typical non-zero |x_t - x_t-1|
  double last_ = 0;
  uint32_t gated_ = 0;  // points in a row whose MAD update was withheld
  bool has_last_ = false;
  bool seeded_ = false;
  std::vector<double> buffer_;
};

}  // namespace

Result<std::unique_ptr<DetectorFactory>> MakeRobustFactory(const RobustOptions& o) {
  VIGIL_RETURN_NOT_OK(o.Validate());
  return std::unique_ptr<DetectorFactory>(
      std::make_unique<internal::SimpleFactory<RobustDetector, RobustOptions>>(
          o, "robust", DetectorKind::kUnivariate, internal::Logistic(6.0, 0.7)));
}

}  // namespace vigil
