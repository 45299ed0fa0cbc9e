// The streaming PCA detector: Hotelling T² and SPE of a device's metric vector.
// See vigil/detect/pca.h for the model; the linear algebra is in pca_math.cc.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "vigil/detect/factory_internal.h"
#include "vigil/detect/pca_internal.h"

namespace vigil {
namespace internal {

namespace {
// Eigenvalues of the shrunk correlation matrix are floored here (relative to
// the mean eigenvalue, 1), so that shrinkage 0 on collinear metrics cannot
// divide T² by zero.
constexpr double kMinEigen = 1e-6;
}  // namespace

void PcaModel::DeriveResidual() {
  // SPE ~ g chi²(h) with g = theta2 / theta1, h = theta1² / theta2 (Box 1954),
  // theta_i the sum of the i-th powers of the residual eigenvalues.
  double th1 = 0, th2 = 0;
  for (size_t j = static_cast<size_t>(k); j < eigval.size(); ++j) {
    th1 += eigval[j];
    th2 += eigval[j] * eigval[j];
  }
  spe_g = th1 > 0 ? th2 / th1 : 1.0;
  spe_h = th2 > 0 ? th1 * th1 / th2 : 1.0;
}

PcaDetector::PcaDetector(const PcaOptions& o, std::vector<std::string> metric_names)
    : o_(o),
      d_(static_cast<int32_t>(metric_names.size())),
      warmup_(std::max(o.warmup, 2 * static_cast<int32_t>(metric_names.size()))),
      alpha_(AlphaFromHalflife(o.halflife)),
      gate_after_(o.gate_after >= 0 ? static_cast<uint64_t>(o.gate_after) : static_cast<uint64_t>(std::ceil(o.halflife))),
      metric_names_(std::move(metric_names)),
      cov_(static_cast<size_t>(d_) * d_, 0.0),
      xbar_(static_cast<size_t>(d_), 0.0),
      x_(static_cast<size_t>(d_), 0.0),
      z_(static_cast<size_t>(d_), 0.0),
      t_(static_cast<size_t>(d_), 0.0) {
  cur_.mean.assign(static_cast<size_t>(d_), 0.0);
  UpdateSd();
}

void PcaDetector::UpdateSd() {
  cur_.sd.resize(static_cast<size_t>(d_));
  for (int i = 0; i < d_; ++i) {
    const double rel = o_.min_std_rel * cur_.mean[i];
    cur_.sd[i] =
        std::sqrt(std::max({cov_[static_cast<size_t>(i) * d_ + i], rel * rel, o_.min_std_abs * o_.min_std_abs}));
  }
}

const double* PcaDetector::Input(const Point& p) const {
  // Magnitudes beyond kMaxLearned are taken as kMaxLearned: the covariance stays finite.
  if (o_.smoothing >= 1) {
    for (int i = 0; i < d_; ++i) x_[i] = Learnable(p.values[i]);
    return x_.data();
  }
  // The EWMA of the raw vector: the model (mean, covariance) is of this series.
  const double r = has_xbar_ ? o_.smoothing : 1.0;
  for (int i = 0; i < d_; ++i) x_[i] = r * Learnable(p.values[i]) + (1 - r) * xbar_[i];
  return x_.data();
}

void PcaDetector::Project(const double* x, const PcaModel& m) const {
  for (int i = 0; i < d_; ++i) z_[i] = (x[i] - m.mean[i]) / m.sd[i];
  for (int j = 0; j < m.k; ++j) {
    double t = 0;
    for (int i = 0; i < d_; ++i) t += m.eigvec[static_cast<size_t>(i) * d_ + j] * z_[i];
    t_[j] = t;
  }
}

PcaDetector::Quantiles PcaDetector::StatisticsOf(const double* x, const PcaModel& m) const {
  Quantiles q;
  Project(x, m);
  double t2 = 0, explained = 0, norm = 0;
  for (int j = 0; j < m.k; ++j) {
    t2 += t_[j] * t_[j] / m.eigval[j];
    explained += t_[j] * t_[j];
  }
  for (int i = 0; i < d_; ++i) norm += z_[i] * z_[i];
  q.t2 = ChiSquareToNormal(t2, m.k);
  if (m.k < d_) q.spe = ChiSquareToNormal(std::max(0.0, norm - explained) / m.spe_g, m.spe_h);
  return q;
}

double PcaDetector::Combine(const Quantiles& q) const {
  double s = 0;
  switch (o_.statistic) {
    case PcaOptions::Statistic::kT2: s = q.t2; break;
    case PcaOptions::Statistic::kSpe: s = q.spe; break;
    case PcaOptions::Statistic::kBoth: s = std::max(q.t2, q.spe); break;
  }
  return std::isnan(s) ? 0.0 : std::max(s, 0.0);  // +inf: beyond any quantile, not 0
}

double PcaDetector::ScoreTrusted(const Point& p) const {
  return has_model_ ? Combine(StatisticsOf(Input(p), cur_)) : 0.0;
}

double PcaDetector::ScoreAndUpdateTrusted(const Point& p) {
  const double s = ScoreTrusted(p);
  Learn(p, s);
  return s;
}

void PcaDetector::Learn(const Point& p, double score) {
  const double* x = Input(p);
  if (o_.smoothing < 1) {  // the smoothed series follows every point, learned or not
    std::copy(x, x + d_, xbar_.begin());
    has_xbar_ = true;
  }
  if (relearn_ > 0) {
    --relearn_;
  } else if (has_model_ && o_.gate > 0 && n_ >= gate_after_) {  // learning gated on its own evidence
    if (score > o_.gate) {
      if (gated_ < static_cast<uint32_t>(o_.holdoff)) {
        ++gated_;
        return;
      }
      // Past the hold-off the change is lasting: learn everything for another
      // hold-off, so that what follows it (often the way back) is learned too.
      gated_ = 0;
      relearn_ = static_cast<uint32_t>(o_.holdoff);
    } else {
      gated_ = 0;
    }
  }
  // EWMA mean and covariance; the first points are averaged exactly (weight 1/(n+1)).
  const double a = static_cast<double>(n_ + 1) * alpha_ >= 1.0 ? alpha_ : 1.0 / static_cast<double>(n_ + 1);
  for (int i = 0; i < d_; ++i) z_[i] = x[i] - cur_.mean[i];  // z_ as scratch: the deviation
  for (int i = 0; i < d_; ++i) {
    cur_.mean[i] += a * z_[i];
    double* row = &cov_[static_cast<size_t>(i) * d_];
    for (int j = 0; j < d_; ++j) row[j] = (1 - a) * (row[j] + a * z_[i] * z_[j]);
  }
  UpdateSd();
  ++n_;
  // Points since the last eigendecomposition; counted only once there is a model
  // (the warm-up may be longer than `refresh`, and a saved count must stay in range).
  if (has_model_ ? ++since_refresh_ >= static_cast<uint32_t>(o_.refresh)
                 : n_ >= static_cast<uint64_t>(warmup_)) {
    Refresh();
  }
}

void PcaDetector::Refresh() {
  const size_t d = static_cast<size_t>(d_);
  std::vector<double> c(d * d);
  for (size_t i = 0; i < d; ++i) {
    for (size_t j = 0; j < d; ++j) {
      const double r = cov_[i * d + j] / (cur_.sd[i] * cur_.sd[j]);
      c[i * d + j] = (1 - o_.shrinkage) * r + (i == j ? o_.shrinkage : 0.0);
    }
  }
  cur_.eigval.assign(d, 0.0);
  cur_.eigvec.assign(d * d, 0.0);
  SymmetricEigen(d_, c, cur_.eigval, cur_.eigvec);
  double trace = 0;
  for (double& v : cur_.eigval) {
    v = std::max(v, kMinEigen);
    trace += v;
  }
  if (o_.components > 0) {
    cur_.k = std::min(o_.components, d_);
  } else {
    cur_.k = 1;
    double kept = cur_.eigval[0];
    while (cur_.k < d_ - 1 && kept < o_.explained * trace) kept += cur_.eigval[cur_.k++];
  }
  has_model_ = true;
  since_refresh_ = 0;
  cur_.DeriveResidual();
}

void PcaDetector::Contributions(const double* x, const PcaModel& m, std::vector<double>* t2,
                                std::vector<double>* spe) const {
  t2->assign(static_cast<size_t>(d_), 0.0);
  spe->assign(static_cast<size_t>(d_), 0.0);
  Project(x, m);
  double t2_sum = 0, spe_sum = 0;
  for (int i = 0; i < d_; ++i) {
    double back = 0, weighted = 0;  // (V_k t)_i and (V_k diag(1/lambda) t)_i
    for (int j = 0; j < m.k; ++j) {
      const double v = m.eigvec[static_cast<size_t>(i) * d_ + j];
      back += v * t_[j];
      weighted += v * t_[j] / m.eigval[j];
    }
    // z_i (C_k^-1 z)_i sums to T² over i; a negative term (the metric pulls the
    // point back toward the usual) attributes nothing.
    (*t2)[i] = std::max(0.0, z_[i] * weighted);
    const double r = z_[i] - back;
    (*spe)[i] = r * r;
    t2_sum += (*t2)[i];
    spe_sum += (*spe)[i];
  }
  for (int i = 0; i < d_; ++i) {
    if (t2_sum > 0) (*t2)[i] /= t2_sum;
    if (spe_sum > 0) (*spe)[i] /= spe_sum;
  }
}

void PcaDetector::Explain(const Point& p, Explanation* out) const {
  *out = Explanation();
  out->attribution.assign(static_cast<size_t>(d_), 0.0);
  if (!has_model_) {
    out->note = "pca: warming up";
    return;
  }
  const double* x = Input(p);
  const PcaModel& m = cur_;
  const Quantiles q = StatisticsOf(x, m);
  const bool by_spe = o_.statistic == PcaOptions::Statistic::kSpe ||
                      (o_.statistic == PcaOptions::Statistic::kBoth && q.spe > q.t2);
  std::vector<double> t2, spe;
  Contributions(x, m, &t2, &spe);
  out->attribution = by_spe ? spe : t2;
  const int top = static_cast<int>(std::max_element(out->attribution.begin(), out->attribution.end()) -
                                   out->attribution.begin());
  out->top_dimension = top;
  const double s = m.sd[top];
  if (by_spe) {
    // The model's estimate of the top metric from the usual directions, +- band
    // times its residual standard deviation under the model.
    Project(x, m);
    double back = 0, resid_var = 0;
    for (int j = 0; j < d_; ++j) {
      const double v = m.eigvec[static_cast<size_t>(top) * d_ + j];
      if (j < m.k) {
        back += v * t_[j];
      } else {
        resid_var += v * v * m.eigval[j];
      }
    }
    const double center = m.mean[top] + s * back;
    const double half = o_.band * s * std::sqrt(resid_var);
    out->expected_lo = center - half;
    out->expected_hi = center + half;
  } else {
    out->expected_lo = m.mean[top] - o_.band * s;
    out->expected_hi = m.mean[top] + o_.band * s;
  }
  char note[200];
  std::snprintf(note, sizeof(note), "pca: %s drives %.0f%% of the %s (%s)",
                top < static_cast<int>(metric_names_.size()) ? metric_names_[top].c_str() : "metric",
                100.0 * out->attribution[top],
                by_spe ? "SPE: the metrics left their usual co-movement" : "T²: unusual along the usual directions",
                x[top] > 0.5 * (out->expected_lo + out->expected_hi) ? "higher than expected" : "lower than expected");
  out->note = note;
}

Status PcaDetector::SerializeTo(StateWriter* w) const {
  w->WriteUInt(1, n_);
  w->WriteDoubles(2, cur_.mean);
  w->WriteDoubles(3, cov_);
  w->WriteBool(4, has_model_);
  if (has_model_) {
    w->WriteUInt(5, static_cast<uint64_t>(cur_.k));
    w->WriteDoubles(6, cur_.eigval);
    w->WriteDoubles(7, cur_.eigvec);
  }
  w->WriteUInt(8, since_refresh_);
  w->WriteBool(9, has_xbar_);
  if (has_xbar_) w->WriteDoubles(10, xbar_);
  if (gated_ > 0) w->WriteUInt(11, gated_);
  if (relearn_ > 0) w->WriteUInt(12, relearn_);
  return Status::OK();
}

Status PcaDetector::DeserializeFrom(StateReader* r) {
  Status st = ReadState(r);
  if (!st.ok()) Reset();  // never half a state
  return st;
}

void PcaDetector::Reset() {
  const size_t d = static_cast<size_t>(d_);
  n_ = 0;
  cur_.mean.assign(d, 0.0);
  cov_.assign(d * d, 0.0);
  has_model_ = false;
  cur_.k = 0;
  cur_.eigval.clear();
  cur_.eigvec.clear();
  since_refresh_ = gated_ = relearn_ = 0;
  has_xbar_ = false;
  xbar_.assign(d, 0.0);
  UpdateSd();
}

// Reads over the detector's own vectors: a state of the same dimensions (a device
// loaded again) allocates nothing.
Status PcaDetector::ReadState(StateReader* r) {
  const size_t d = static_cast<size_t>(d_);
  uint64_t n = 0, k = 0, since = 0, gated = 0, relearn = 0;
  VIGIL_RETURN_NOT_OK(r->ReadUInt(1, &n));
  VIGIL_RETURN_NOT_OK(r->ReadDoubles(2, &cur_.mean));
  VIGIL_RETURN_NOT_OK(r->ReadDoubles(3, &cov_));
  VIGIL_RETURN_NOT_OK(r->ReadBool(4, &has_model_));
  if (has_model_) {
    VIGIL_RETURN_NOT_OK(r->ReadUInt(5, &k));
    VIGIL_RETURN_NOT_OK(r->ReadDoubles(6, &cur_.eigval));
    VIGIL_RETURN_NOT_OK(r->ReadDoubles(7, &cur_.eigvec));
  } else {
    cur_.eigval.clear();
    cur_.eigvec.clear();
  }
  VIGIL_RETURN_NOT_OK(r->ReadUInt(8, &since));
  VIGIL_RETURN_NOT_OK(r->ReadBool(9, &has_xbar_));
  if (has_xbar_) {
    VIGIL_RETURN_NOT_OK(r->ReadDoubles(10, &xbar_));
  } else {
    xbar_.assign(d, 0.0);
  }
  if (r->Has(11)) VIGIL_RETURN_NOT_OK(r->ReadUInt(11, &gated));
  if (r->Has(12)) VIGIL_RETURN_NOT_OK(r->ReadUInt(12, &relearn));
  auto finite = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  };
  if (cur_.mean.size() != d || cov_.size() != d * d || xbar_.size() != d) {
    return Status::Corrupt("pca detector state: " + std::to_string(cur_.mean.size()) + " means for " +
                           std::to_string(d) + " dimensions");
  }
  if (!finite(cur_.mean) || !finite(cov_) || !finite(xbar_)) {
    return Status::Corrupt("pca detector state: non-finite mean, covariance or smoothed vector");
  }
  for (size_t i = 0; i < d; ++i) {
    if (cov_[i * d + i] < 0) return Status::Corrupt("pca detector state: negative variance");
  }
  if (has_model_) {
    if (k < 1 || k > d || cur_.eigval.size() != d || cur_.eigvec.size() != d * d || !finite(cur_.eigvec) ||
        !std::all_of(cur_.eigval.begin(), cur_.eigval.end(), [](double v) { return v > 0 && std::isfinite(v); })) {
      return Status::Corrupt("pca detector state: inconsistent model");
    }
  }
  const uint64_t holdoff = static_cast<uint64_t>(o_.holdoff);
  // A blob from before the fix above counted warm-up points (< warmup); unused then.
  if (!has_model_) since = 0;
  if (since > static_cast<uint64_t>(o_.refresh) || gated > holdoff || relearn > holdoff) {
    return Status::Corrupt("pca detector state: counters out of range");
  }
  n_ = n;
  cur_.k = static_cast<int32_t>(k);
  since_refresh_ = static_cast<uint32_t>(since);
  gated_ = static_cast<uint32_t>(gated);
  relearn_ = static_cast<uint32_t>(relearn);
  UpdateSd();
  if (has_model_) cur_.DeriveResidual();
  return Status::OK();
}

int64_t PcaDetector::memory_bytes() const {
  size_t doubles = cov_.capacity() + xbar_.capacity() + x_.capacity() + z_.capacity() + t_.capacity();
  doubles += cur_.mean.capacity() + cur_.sd.capacity() + cur_.eigval.capacity() + cur_.eigvec.capacity();
  size_t b = sizeof(*this) + doubles * sizeof(double);
  for (const std::string& name : metric_names_) b += sizeof(name) + name.capacity();
  return static_cast<int64_t>(b);
}

namespace {

class PcaFactory final : public DetectorFactory {
 public:
  explicit PcaFactory(const PcaOptions& o) : options_(o) {}
  std::string_view type_name() const override { return "pca"; }
  DetectorKind kind() const override { return DetectorKind::kMultivariate; }
  // The raw score is a normal quantile; heavy-tailed real data crosses z 4 on
  // normal points far more often than a Gaussian, hence a center of 6 like the
  // z-score members.
  CalibrationOptions default_calibration() const override { return Logistic(6.0, 0.6); }
  Result<std::unique_ptr<Detector>> Create(const DetectorContext& ctx) const override {
    if (static_cast<int32_t>(ctx.metric_names.size()) < options_.min_dims) return std::unique_ptr<Detector>();
    std::vector<std::string> names(ctx.metric_names.begin(), ctx.metric_names.end());
    return std::unique_ptr<Detector>(std::make_unique<PcaDetector>(options_, std::move(names)));
  }

 private:
  PcaOptions options_;
};

}  // namespace
}  // namespace internal

Result<std::unique_ptr<DetectorFactory>> MakePcaFactory(const PcaOptions& options) {
  VIGIL_RETURN_NOT_OK(options.Validate());
  return std::unique_ptr<DetectorFactory>(std::make_unique<internal::PcaFactory>(options));
}

}  // namespace vigil
