// vigil/detect/detector.h: the detector interface and its factory registry.
//
// A Detector holds the state of ONE key: one (device, metric) series for a
// univariate detector, one device's metric vector for a multivariate one.
// Learning, scoring and thresholding are separate: Score() is pure and returns
// a raw score (>= 0, larger = more anomalous, 0 while not warm); Update()
// learns; calibration to [0,1] and thresholds belong to the ensemble. Online:
// score the point first, then learn it; never look ahead.
//
//   VIGIL_ASSIGN_OR_RAISE(auto factory,
//       vigil::DetectorRegistry::Global()->MakeFactory("ewma", params));
//   VIGIL_ASSIGN_OR_RAISE(auto det, factory->Create({.metric_names = names}));
//   double x = 21.5;
//   vigil::Point p{.ts_ms = ts, .values = {&x, 1}};
//   VIGIL_ASSIGN_OR_RAISE(double raw, det->Score(p));
//   VIGIL_RETURN_NOT_OK(det->Update(p));
//
// Adding a detector: implement Detector + DetectorFactory, register a maker in
// RegisterBuiltinDetectors() (detector_registry.cc), add one line to the
// contract suite (detect/contract_test.cc).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/detect/params.h"
#include "vigil/state/state.h"
#include "vigil/status.h"

namespace vigil {

/// \brief One observation: event time plus one value (univariate) or dims() values.
struct Point {
  int64_t ts_ms = 0;
  std::span<const double> values;
  double value() const { return values[0]; }
};

enum class DetectorKind : uint8_t { kUnivariate = 0, kMultivariate = 1 };

/// \brief Why a point scored high, in the units of the data.
struct Explanation {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  double expected_lo = kNaN;  ///< expected range of the top dimension (NaN if unknown)
  double expected_hi = kNaN;
  int32_t top_dimension = 0;  ///< index into the detector's values
  std::vector<double> attribution;  ///< per-dimension share of the score (multivariate), sums to 1
  std::string note;                 ///< short reason, e.g. "above max 90"
};

/// \brief How the ensemble maps a detector's raw score to [0,1].
struct CalibrationOptions {
  enum class Kind : uint8_t {
    kIdentity = 0,  ///< raw score already in [0,1]
    kLogistic = 1,  ///< p = 1 / (1 + exp(-(raw - center) / scale)), fixed
    kTail = 2,      ///< raw score standardized by its own running mean/std per key, then logistic
  };
  Kind kind = Kind::kLogistic;
  double center = 5.0;
  double scale = 0.5;
  int32_t warmup = 50;      ///< kTail: points before the score statistics are trusted
  double halflife = 2000;   ///< kTail: memory of the score statistics, in points

  Status Validate(std::string_view where) const;
};

/// \brief The state and scoring of one key. Not thread-safe; cheap to own many.
class Detector {
 public:
  virtual ~Detector() = default;

  /// \brief Registry name, e.g. "ewma".
  virtual std::string_view type_name() const = 0;
  /// \brief Number of values per point (1 for univariate detectors).
  virtual int32_t dims() const = 0;
  /// \brief True once enough points were seen for scores to mean something.
  virtual bool warm() const = 0;

  /// \brief Raw score of p against the state so far (>= 0; 0 while not warm). Pure.
  Result<double> Score(const Point& p) const;
  /// \brief Learn p.
  Status Update(const Point& p);
  /// \brief Score p, then learn it.
  Result<double> ScoreAndUpdate(const Point& p);
  /// \brief Score-then-learn a univariate series in order (the hot loop).
  ///
  /// `ts` may be empty (timestamps 0); otherwise same length as xs. scores.size() == xs.size().
  virtual Status ScoreAndUpdateBatch(std::span<const double> xs, std::span<const int64_t> ts,
                                     std::span<double> scores);

  /// \brief Explain the score p would get now (call before Update(p)).
  virtual void Explain(const Point& p, Explanation* out) const = 0;

  /// \brief Write the learned state (not the options) as fields of the current object.
  virtual Status SerializeTo(StateWriter* w) const = 0;
  /// \brief Replace the learned state with one written by SerializeTo of the same type.
  virtual Status DeserializeFrom(StateReader* r) = 0;
  /// \brief Approximate heap + object bytes of this detector.
  virtual int64_t memory_bytes() const = 0;

  /// \brief Score then learn without argument checks: values.size() == dims(), all finite.
  virtual double ScoreAndUpdateTrusted(const Point& p) = 0;
  /// \brief Score without argument checks.
  virtual double ScoreTrusted(const Point& p) const = 0;
  /// \brief Learn without argument checks.
  virtual void UpdateTrusted(const Point& p) = 0;

 protected:
  Status CheckPoint(const Point& p) const;
};

/// \brief What a factory knows about the key it creates a detector for.
struct DetectorContext {
  std::string_view device_class;
  /// One name for univariate detectors; the device's metrics in stable order otherwise.
  std::span<const std::string> metric_names;
  /// Deterministic per key (derived from the engine seed and the key).
  uint64_t seed = 0;
};

/// \brief Validated options of one detector type; creates per-key detectors.
class DetectorFactory {
 public:
  virtual ~DetectorFactory() = default;
  virtual std::string_view type_name() const = 0;
  virtual DetectorKind kind() const = 0;
  /// \brief The calibration the ensemble uses unless the config overrides it.
  virtual CalibrationOptions default_calibration() const = 0;
  /// \brief A fresh detector for a key, or nullptr when it does not apply to it
  /// (e.g. rules with no limits for that metric and class).
  virtual Result<std::unique_ptr<Detector>> Create(const DetectorContext& ctx) const = 0;
  /// \brief Version of the state layout; a blob with another version is Unsupported.
  virtual uint32_t state_version() const { return 1; }
};

/// \brief Builds a factory from its settings (validating them, naming bad keys).
using DetectorFactoryMaker = Result<std::unique_ptr<DetectorFactory>> (*)(const Params& params);

/// \brief Name -> factory maker.
class DetectorRegistry {
 public:
  /// \brief The process-wide registry with every built-in detector (and RCF when built).
  static DetectorRegistry* Global();

  Status Register(std::string name, DetectorFactoryMaker maker);
  Result<std::unique_ptr<DetectorFactory>> MakeFactory(std::string_view name,
                                                       const Params& params) const;
  bool Contains(std::string_view name) const { return makers_.count(std::string(name)) > 0; }
  std::vector<std::string> names() const;

 private:
  std::map<std::string, DetectorFactoryMaker, std::less<>> makers_;
};

/// \brief Register ewma, robust, cusum, page_hinkley, rules, gap and pca.
Status RegisterBuiltinDetectors(DetectorRegistry* registry);

/// \brief Implemented by the Random Cut Forest component (detect/rcf*); registers "rcf".
/// Called by DetectorRegistry::Global() when the library is built with RCF.
Status RegisterRcfDetector(DetectorRegistry* registry);

}  // namespace vigil
