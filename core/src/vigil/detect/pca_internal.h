// The streaming PCA detector (pca.h) and its small linear algebra.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vigil/detect/detector.h"
#include "vigil/detect/pca.h"

namespace vigil::internal {

/// \brief Eigen-decomposition of a symmetric n x n matrix (row-major, overwritten)
/// by cyclic Jacobi rotations. On return `values` holds the eigenvalues in
/// descending order and column j of `vectors` (row-major n x n) the unit
/// eigenvector of values[j]. Deterministic; O(n³) per sweep, at most 64 sweeps.
void SymmetricEigen(int n, std::span<double> a, std::span<double> values, std::span<double> vectors);

/// \brief Wilson-Hilferty: the standard normal quantile of x under chi²(dof) (dof > 0, any real).
double ChiSquareToNormal(double x, double dof);

/// \brief A fitted model: what scoring needs (the standardization and the eigen-decomposition).
struct PcaModel {
  std::vector<double> mean;    ///< d
  std::vector<double> sd;      ///< d, floored standard deviations
  std::vector<double> eigval;  ///< d, descending (empty before the first fit)
  std::vector<double> eigvec;  ///< d x d, column j = eigenvector j
  int32_t k = 0;               ///< components in the "normal" subspace
  double spe_g = 1;            ///< SPE ~ g chi²(h), derived from eigval and k
  double spe_h = 1;

  void DeriveResidual();
};

/// \brief One device's PCA model over its metric vector.
class PcaDetector final : public Detector {
 public:
  PcaDetector(const PcaOptions& o, std::vector<std::string> metric_names);

  std::string_view type_name() const override { return "pca"; }
  int32_t dims() const override { return d_; }
  bool warm() const override { return has_model_; }

  void Explain(const Point& p, Explanation* out) const override;
  Status SerializeTo(StateWriter* w) const override;
  Status DeserializeFrom(StateReader* r) override;
  int64_t memory_bytes() const override;

  double ScoreAndUpdateTrusted(const Point& p) override;
  double ScoreTrusted(const Point& p) const override;
  void UpdateTrusted(const Point& p) override { Learn(p, ScoreTrusted(p)); }

  /// \brief The two statistics as normal quantiles (0 while not warm), against the current model.
  struct Quantiles {
    double t2 = 0;
    double spe = 0;
  };
  Quantiles Statistics(const Point& p) const { return has_model_ ? StatisticsOf(Input(p), cur_) : Quantiles(); }
  /// \brief Components of the model (0 before the first one).
  int32_t components() const { return has_model_ ? cur_.k : 0; }
  /// \brief Eigenvalues of the shrunk correlation matrix at the last refresh, descending.
  const std::vector<double>& eigenvalues() const { return cur_.eigval; }

 private:
  void UpdateSd();
  // The vector the model sees: the point, or with smoothing < 1 its EWMA (in x_).
  const double* Input(const Point& p) const;
  // z (standardized x) and t (projections on the top k) into the scratch.
  void Project(const double* x, const PcaModel& m) const;
  Quantiles StatisticsOf(const double* x, const PcaModel& m) const;
  double Combine(const Quantiles& q) const;
  // Per-metric shares of T² and SPE of x under m (each sums to 1 unless the statistic is 0).
  void Contributions(const double* x, const PcaModel& m, std::vector<double>* t2, std::vector<double>* spe) const;
  void Learn(const Point& p, double score);
  void Refresh();
  Status ReadState(StateReader* r);
  void Reset();  // back to a fresh detector

  PcaOptions o_;
  int32_t d_;
  int32_t warmup_;  // max(o_.warmup, 2 * d_)
  double alpha_;
  uint64_t gate_after_;  // points learned before the gate applies
  std::vector<std::string> metric_names_;
  // Learned state.
  uint64_t n_ = 0;
  std::vector<double> cov_;     // d x d, EWMA covariance of the input
  PcaModel cur_;                // mean and sd follow every learned point; the eigen part every `refresh`
  bool has_model_ = false;
  uint32_t since_refresh_ = 0;
  uint32_t gated_ = 0;          // points in a row withheld from learning
  uint32_t relearn_ = 0;        // points left to learn ungated after a hold-off ran out
  std::vector<double> xbar_;    // d, the smoothed vector of the last point (smoothing < 1)
  bool has_xbar_ = false;
  // Scratch.
  mutable std::vector<double> x_;
  mutable std::vector<double> z_;
  mutable std::vector<double> t_;
};

}  // namespace vigil::internal
