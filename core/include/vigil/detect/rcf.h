// vigil/detect/rcf.h: the streaming Random Cut Forest detector ("rcf").
//
// A multivariate, shingled Random Cut Forest after Guha et al. (ICML 2016)
// and AWS's randomcutforest library: each tree keeps a time-decayed reservoir
// sample of the last shingle_size points of the device's metric vector, and
// the raw score of a point is the forest's average "displacement" score
// (about 1 for ordinary points; anomalies score well above 1, often 2-4).
// Explanations attribute the score to each metric (AWS's DiVector, summed
// over the shingle).
//
//   vigil::RcfOptions o = vigil::RcfOptions::Defaults();
//   o.shingle_size = 4;
//   VIGIL_ASSIGN_OR_RAISE(auto factory, vigil::MakeRcfFactory(o));
//   std::vector<std::string> names = {"temperature", "vibration"};
//   VIGIL_ASSIGN_OR_RAISE(auto det, factory->Create({.metric_names = names, .seed = 7}));
//   double v[2] = {21.5, 0.02};
//   VIGIL_ASSIGN_OR_RAISE(double raw, det->ScoreAndUpdate({.ts_ms = 0, .values = v}));
//
// YAML (detectors.rcf): num_trees, sample_size, shingle_size, time_decay,
// output_after, initial_accept_fraction, seed; see RcfOptions.
#pragma once

#include <cstdint>
#include <memory>

#include "vigil/detect/detector.h"

namespace vigil {

/// \brief Options of the Random Cut Forest. Negative time_decay / output_after
/// mean "derive from sample_size" (AWS defaults).
struct RcfOptions {
  int32_t num_trees = 50;       ///< trees in the forest, 1..1000
  int32_t sample_size = 256;    ///< points per tree's reservoir, 2..4096
  int32_t shingle_size = 8;     ///< consecutive points concatenated into one tree point, 1..256
  double time_decay = -1;       ///< lambda of the sampler's recency bias; < 0: 1 / (10 * sample_size)
  int64_t output_after = -1;    ///< forest updates before scores are non-zero; < 0: sample_size / 4
  double initial_accept_fraction = 0.125;  ///< fraction of a reservoir filled unconditionally, (0, 1]
  uint64_t seed = 0;            ///< mixed with the per-key seed of the DetectorContext

  static RcfOptions Defaults() { return {}; }
  /// \brief A small forest for keeping one per device: 30 trees, 128 samples, shingle 4.
  static RcfOptions Compact();
  /// \brief Read the section detectors.rcf; unknown keys are an error.
  static Result<RcfOptions> FromParams(const Params& p);
  Status Validate() const;

  double resolved_time_decay() const;
  int64_t resolved_output_after() const;
};

/// \brief The factory of "rcf" detectors (multivariate: one per device).
Result<std::unique_ptr<DetectorFactory>> MakeRcfFactory(const RcfOptions& options);

}  // namespace vigil
