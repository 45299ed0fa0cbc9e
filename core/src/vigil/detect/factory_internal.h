// Shared plumbing of the built-in detectors: a generic factory and EWMA helpers.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <string_view>

#include "vigil/detect/detector.h"

namespace vigil::internal {

/// \brief Values beyond this magnitude are learned as +-kMaxLearned (scored as they are).
/// Every mean, variance and covariance a detector keeps then stays finite (squares stay
/// below 1e301), so whatever state any finite input drives a detector into can also be
/// saved and loaded: state blobs refuse non-finite statistics, and a bucket whose state
/// cannot load could not be restored at all.
inline constexpr double kMaxLearned = 1e150;
inline double Learnable(double x) { return std::clamp(x, -kMaxLearned, kMaxLearned); }

/// \brief alpha of an EWMA whose weights halve every `halflife` points.
inline double AlphaFromHalflife(double halflife) { return 1.0 - std::exp2(-1.0 / halflife); }

/// \brief A factory for a detector type D constructed as D(options, ctx).
template <typename D, typename Options>
class SimpleFactory final : public DetectorFactory {
 public:
  SimpleFactory(Options o, std::string_view name, DetectorKind kind, CalibrationOptions cal)
      : options_(std::move(o)), name_(name), kind_(kind), calibration_(cal) {}
  std::string_view type_name() const override { return name_; }
  DetectorKind kind() const override { return kind_; }
  CalibrationOptions default_calibration() const override { return calibration_; }
  Result<std::unique_ptr<Detector>> Create(const DetectorContext& ctx) const override {
    return std::unique_ptr<Detector>(std::make_unique<D>(options_, ctx));
  }

 private:
  Options options_;
  std::string_view name_;
  DetectorKind kind_;
  CalibrationOptions calibration_;
};

/// \brief Logistic calibration centred on `center`.
inline CalibrationOptions Logistic(double center, double scale) {
  CalibrationOptions c;
  c.kind = CalibrationOptions::Kind::kLogistic;
  c.center = center;
  c.scale = scale;
  return c;
}

/// \brief Univariate detectors share this: CRTP gives the batch loop an inlined body.
/// D provides: double DoScore(double x, int64_t ts) const; void DoUpdate(double x, int64_t ts).
template <typename D>
class UnivariateBase : public Detector {
 public:
  int32_t dims() const override { return 1; }
  double ScoreTrusted(const Point& p) const override { return Self().DoScore(p.values[0], p.ts_ms); }
  void UpdateTrusted(const Point& p) override { Self().DoUpdate(p.values[0], p.ts_ms); }
  double ScoreAndUpdateTrusted(const Point& p) override { return Fused(p.values[0], p.ts_ms); }
  Status ScoreAndUpdateBatch(std::span<const double> xs, std::span<const int64_t> ts,
                             std::span<double> scores) override {
    if (scores.size() != xs.size() || (!ts.empty() && ts.size() != xs.size())) {
      return Status::Invalid(std::string(type_name()) + ": ScoreAndUpdateBatch spans differ in length");
    }
    for (double x : xs) {
      if (!std::isfinite(x)) return Status::Invalid(std::string(type_name()) + ": non-finite value");
    }
    const size_t n = xs.size();
    if (ts.empty()) {
      for (size_t i = 0; i < n; ++i) scores[i] = Fused(xs[i], 0);
    } else {
      for (size_t i = 0; i < n; ++i) scores[i] = Fused(xs[i], ts[i]);
    }
    return Status::OK();
  }
  int64_t memory_bytes() const override { return sizeof(D); }

 private:
  // Score then learn; a detector may fuse both (sharing e.g. one sqrt) by
  // defining DoScoreAndUpdate, which must return exactly DoScore's value.
  double Fused(double x, int64_t t) {
    D& self = static_cast<D&>(*this);
    if constexpr (requires { self.DoScoreAndUpdate(x, t); }) {
      return self.DoScoreAndUpdate(x, t);
    } else {
      const double s = self.DoScore(x, t);
      self.DoUpdate(x, t);
      return s;
    }
  }
  const D& Self() const { return static_cast<const D&>(*this); }
  D& Self() { return static_cast<D&>(*this); }
};

/// \brief Running mean/variance with an EWMA after a cumulative warm-up (shared by
/// ewma, cusum and page_hinkley). Warm-up uses weight 1/(n+1) so that the first
/// points are averaged exactly rather than dominated by the first value.
struct EwmaStats {
  double mean = 0;
  double var = 0;
  uint64_t n = 0;

  void Add(double x, double alpha) {
    x = Learnable(x);
    if (n == 0) {
      mean = x;
      var = 0;
      n = 1;
      return;
    }
    // max(alpha, 1/(n+1)) without a division once n is past the warm-up weights.
    const double a = static_cast<double>(n + 1) * alpha >= 1.0 ? alpha : 1.0 / static_cast<double>(n + 1);
    const double diff = x - mean;
    const double incr = a * diff;
    mean += incr;
    var = (1 - a) * (var + diff * incr);
    ++n;
  }
  /// \brief The variance floored at (min_rel * |mean|)^2 and min_abs^2.
  double FlooredVar(double min_rel, double min_abs) const {
    const double rel = min_rel * mean;
    return std::max({var, rel * rel, min_abs * min_abs});
  }
  double Std(double min_rel, double min_abs) const { return std::sqrt(FlooredVar(min_rel, min_abs)); }
  void Write(StateWriter* w, uint32_t first_id) const {
    w->WriteDouble(first_id, mean);
    w->WriteDouble(first_id + 1, var);
    w->WriteUInt(first_id + 2, n);
  }
  Status Read(StateReader* r, uint32_t first_id) {
    VIGIL_RETURN_NOT_OK(r->ReadDouble(first_id, &mean));
    VIGIL_RETURN_NOT_OK(r->ReadDouble(first_id + 1, &var));
    VIGIL_RETURN_NOT_OK(r->ReadUInt(first_id + 2, &n));
    if (!std::isfinite(mean) || !std::isfinite(var) || var < 0) {
      return Status::Corrupt("detector state has a non-finite mean or negative variance");
    }
    return Status::OK();
  }
};

}  // namespace vigil::internal
