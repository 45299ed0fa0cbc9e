// vigil/detect/builtin.h: options of the built-in detectors.
//
// Each options struct has Defaults() and FromParams() (the YAML section
// detectors.<name>), and each detector type a MakeXxxFactory(). Scores are raw;
// see detector.h for the contract and the ensemble for calibration.
//
//   ewma          EWMA mean/variance z-score               |x - mean| / std
//   robust        streaming median / MAD z-score            |x - median| / (1.4826 MAD)
//   cusum         two-sided CUSUM on standardized residuals max(S+, S-)
//   page_hinkley  two-sided Page-Hinkley test               PH statistic / std
//   rules         static min/max, rate of change, flatline  1 when a rule is broken, else 0
//   gap           missing heartbeat in event time (device)  interval / expected interval
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "vigil/detect/detector.h"

namespace vigil {

/// \brief EWMA mean/variance z-score (per device and metric).
struct EwmaOptions {
  double halflife = 500;   ///< points for a weight to halve
  int32_t warmup = 30;     ///< points before scores are non-zero
  double clip = 6;         ///< learn x clipped to mean +- clip * std (0 = no clipping)
  double min_std_rel = 1e-3;  ///< std floor, relative to |mean|
  double min_std_abs = 1e-9;  ///< std floor, absolute
  double band = 4;         ///< expected range in explanations: mean +- band * std

  static EwmaOptions Defaults() { return {}; }
  static Result<EwmaOptions> FromParams(const Params& p);
  Status Validate() const;
};

/// \brief Streaming median/MAD z-score: O(1) per point, stochastic quantile estimates.
struct RobustOptions {
  int32_t warmup = 32;     ///< points buffered to seed the exact median/MAD
  double rate = 0.005;     ///< learning rate of the median and MAD estimates (in units of MAD)
  /// Gated scale: a point more than `gate` scales from the median does not move
  /// the MAD (0 = off), so a sustained shift is not absorbed by an inflating
  /// scale; after `holdoff` such points in a row the MAD learns them again.
  double gate = 8;
  int32_t holdoff = 300;
  double min_mad_rel = 1e-3;
  double min_mad_abs = 1e-9;
  double band = 4;

  static RobustOptions Defaults() { return {}; }
  static Result<RobustOptions> FromParams(const Params& p);
  Status Validate() const;
};

/// \brief Two-sided CUSUM on residuals standardized by a slow EWMA baseline.
struct CusumOptions {
  double baseline_halflife = 1000;  ///< points; the in-control level adapts this slowly
  int32_t warmup = 60;
  double drift = 1.0;      ///< k, in standard deviations
  double limit = 20;       ///< h: the statistic is reset after exceeding it
  double min_std_rel = 1e-3;
  double min_std_abs = 1e-9;

  static CusumOptions Defaults() { return {}; }
  static Result<CusumOptions> FromParams(const Params& p);
  Status Validate() const;
};

/// \brief Two-sided Page-Hinkley test on standardized values.
struct PageHinkleyOptions {
  double baseline_halflife = 1000;
  int32_t warmup = 60;
  double delta = 0.5;      ///< tolerated drift, in standard deviations
  double limit = 10;       ///< lambda: reset after exceeding it
  double min_std_rel = 1e-3;
  double min_std_abs = 1e-9;

  static PageHinkleyOptions Defaults() { return {}; }
  static Result<PageHinkleyOptions> FromParams(const Params& p);
  Status Validate() const;
};

/// \brief Static rules per device class and metric ("*" matches any).
struct RuleLimits {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  double max_rate_per_s = std::numeric_limits<double>::infinity();  ///< |dx/dt|, units per second
  int32_t flatline_readings = 0;  ///< fire after this many identical readings (0 = off)
};

struct RulesOptions {
  /// class -> metric -> limits. Lookup order: (class, metric), (class, "*"), ("*", metric), ("*", "*").
  std::map<std::string, std::map<std::string, RuleLimits>> limits;

  static RulesOptions Defaults() { return {}; }
  static Result<RulesOptions> FromParams(const Params& p);
  Status Validate() const;
  /// \brief The limits for a key, or nullptr when no rule applies.
  const RuleLimits* Find(std::string_view device_class, std::string_view metric) const;
};

/// \brief Missing heartbeat: the interval before an event, against a fixed or learned one.
struct GapOptions {
  int64_t heartbeat_ms = 0;  ///< expected interval; 0 = learn it (EWMA of intervals)
  double factor = 10;        ///< fires when interval > factor * expected
  int32_t warmup = 20;       ///< intervals before a learned heartbeat is trusted

  static GapOptions Defaults() { return {}; }
  static Result<GapOptions> FromParams(const Params& p);
  Status Validate() const;
};

Result<std::unique_ptr<DetectorFactory>> MakeEwmaFactory(const EwmaOptions& o);
Result<std::unique_ptr<DetectorFactory>> MakeRobustFactory(const RobustOptions& o);
Result<std::unique_ptr<DetectorFactory>> MakeCusumFactory(const CusumOptions& o);
Result<std::unique_ptr<DetectorFactory>> MakePageHinkleyFactory(const PageHinkleyOptions& o);
Result<std::unique_ptr<DetectorFactory>> MakeRulesFactory(const RulesOptions& o);
Result<std::unique_ptr<DetectorFactory>> MakeGapFactory(const GapOptions& o);

}  // namespace vigil
