// RcfDetector: the Random Cut Forest behind the Detector interface.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vigil/detect/detector.h"
#include "vigil/detect/rcf.h"
#include "vigil/detect/rcf/forest_internal.h"

namespace vigil::internal {

/// \brief One device's forest over its metric vector.
class RcfDetector final : public Detector {
 public:
  RcfDetector(std::unique_ptr<RandomCutForest> forest, std::vector<std::string> metric_names)
      : forest_(std::move(forest)), metric_names_(std::move(metric_names)) {}

  std::string_view type_name() const override { return "rcf"; }
  int32_t dims() const override { return forest_->dims(); }
  bool warm() const override { return forest_->warm(); }

  void Explain(const Point& p, Explanation* out) const override;
  /// \brief Per-metric attribution of p's score (dims() values summing to the score).
  double AttributePerMetric(const Point& p, std::vector<double>* high, std::vector<double>* low) const;

  Status SerializeTo(StateWriter* w) const override { return forest_->SerializeTo(w); }
  Status DeserializeFrom(StateReader* r) override { return forest_->DeserializeFrom(r); }
  int64_t memory_bytes() const override;

  double ScoreAndUpdateTrusted(const Point& p) override;
  double ScoreTrusted(const Point& p) const override { return forest_->Score(p.values.data()); }
  void UpdateTrusted(const Point& p) override;

  const RandomCutForest& forest() const { return *forest_; }

 private:
  std::unique_ptr<RandomCutForest> forest_;
  std::vector<std::string> metric_names_;
};

}  // namespace vigil::internal
