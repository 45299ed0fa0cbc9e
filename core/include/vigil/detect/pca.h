// vigil/detect/pca.h: the streaming PCA detector ("pca"): Hotelling T² and SPE.
//
// A multivariate member, one per device over its metric vector (the engine
// gives it the metrics of the device's first event, sorted by name; metrics
// that appear later are not among its dimensions, missing values are carried
// forward). Online:
//   - each metric is standardized by an EWMA mean/variance (z_i = (x_i - m_i) / s_i);
//   - an EWMA covariance of the raw values gives the correlation matrix R of the
//     standardized metrics, shrunk toward the identity: C = (1 - shrinkage) R + shrinkage I;
//   - every `refresh` updates C is eigendecomposed (cyclic Jacobi, no dependencies)
//     and its top k eigenvectors span the "normal" subspace;
//   - a point (or, with smoothing < 1, an EWMA of the points, modeled as such)
//     scores two statistics against that model:
//       T²  = sum_j<k t_j² / lambda_j     (t = V_k^T z: unusual along the usual directions)
//       SPE = |z|² - sum_j<k t_j²         (Q statistic: breaks the usual co-movement)
//     each turned into a normal quantile with the Wilson-Hilferty cube root
//     (T² ~ chi²(k); SPE ~ g chi²(h) after Box / Jackson-Mudholkar, g and h from
//     the residual eigenvalues); the raw score is the larger quantile, floored at 0.
// Learning is gated on the detector's own evidence: a point scoring above `gate`
// does not move the mean or covariance, for at most `holdoff` such points in a
// row, so minutes-long shifts stay visible (once `gate_after` points, by default
// `halflife`, have been learned). A run that outlasts the hold-off is
// a lasting change: the next `holdoff` points are all learned, so that what
// follows it (often the way back) is not withheld by a half-adapted model.
// Explanations attribute the driving statistic to each metric (each metric's
// term z_i (C_k^-1 z)_i of T², or its squared residual in SPE) and give the
// expected range of the top metric.
//
//   vigil::PcaOptions o = vigil::PcaOptions::Defaults();
//   VIGIL_ASSIGN_OR_RAISE(auto factory, vigil::MakePcaFactory(o));
//   std::vector<std::string> names = {"current", "pressure", "flow"};
//   VIGIL_ASSIGN_OR_RAISE(auto det, factory->Create({.metric_names = names}));
//   double v[3] = {1.2, 0.8, 31.5};
//   VIGIL_ASSIGN_OR_RAISE(double raw, det->ScoreAndUpdate({.ts_ms = 0, .values = v}));
//
// YAML (detectors.pca): halflife, warmup, shrinkage, components, explained,
// refresh, statistic, smoothing, gate, holdoff, min_dims, min_std_rel, min_std_abs, band.
#pragma once

#include <cstdint>
#include <memory>

#include "vigil/detect/detector.h"

namespace vigil {

struct PcaOptions {
  enum class Statistic : uint8_t { kBoth = 0, kT2 = 1, kSpe = 2 };

  double halflife = 500;     ///< points for a weight of the mean / covariance to halve
  int32_t warmup = 100;      ///< points learned before the first model (and score); >= 2 * dims is enforced
  double shrinkage = 0.1;    ///< weight of the identity in the correlation matrix, [0, 1)
  int32_t components = 0;    ///< k; 0 = the fewest explaining `explained` of the variance (at most dims - 1)
  double explained = 0.9;    ///< share of the variance the auto-chosen components keep, (0, 1]
  int32_t refresh = 50;      ///< updates between eigendecompositions
  Statistic statistic = Statistic::kBoth;  ///< t2 | spe | both (the larger quantile)
  /// EWMA weight r of a pre-filter: the model (mean, covariance) and the scores are
  /// of xbar = r x + (1 - r) xbar_prev, so point noise averages out and a shift
  /// sustained over ~1/r points stands out. 1 = each point as it is.
  double smoothing = 1;
  double gate = 4;           ///< points scoring above this (a normal quantile) are not learned (0 = off),
  int32_t holdoff = 300;     ///< for at most this many in a row; then this many are learned ungated
  /// Points learned before the gate applies; < 0: halflife. A model that has not
  /// yet seen its memory's worth of points cannot tell a change from its normal
  /// variation, and withholding what it has not seen would lock it in.
  int32_t gate_after = -1;
  int32_t min_dims = 2;      ///< devices with fewer metrics get no pca detector
  double min_std_rel = 1e-3; ///< std floor relative to |mean|
  double min_std_abs = 1e-9;
  double band = 4;           ///< expected range: the model's estimate +- band residual std

  static PcaOptions Defaults() { return {}; }
  /// \brief Read the section detectors.pca; unknown keys are an error.
  static Result<PcaOptions> FromParams(const Params& p);
  Status Validate() const;
};

/// \brief The factory of "pca" detectors (multivariate: one per device).
Result<std::unique_ptr<DetectorFactory>> MakePcaFactory(const PcaOptions& options);

}  // namespace vigil
