#include "vigil/detect/detector.h"

#include <cmath>
#include <string>

namespace vigil {

Status CalibrationOptions::Validate(std::string_view where) const {
  const std::string w(where);
  if (kind == Kind::kLogistic || kind == Kind::kTail) {
    if (!(scale > 0) || !std::isfinite(scale)) return Status::Invalid(w + ".scale: must be > 0");
    if (!std::isfinite(center)) return Status::Invalid(w + ".center: must be finite");
  }
  if (kind == Kind::kTail) {
    if (warmup < 1) return Status::Invalid(w + ".warmup: must be >= 1");
    if (!(halflife >= 1)) return Status::Invalid(w + ".halflife: must be >= 1");
  }
  return Status::OK();
}

Status Detector::CheckPoint(const Point& p) const {
  if (static_cast<int32_t>(p.values.size()) != dims()) {
    return Status::Invalid(std::string(type_name()) + ": point has " + std::to_string(p.values.size()) +
                           " values, detector has " + std::to_string(dims()) + " dimensions");
  }
  for (double v : p.values) {
    if (!std::isfinite(v)) return Status::Invalid(std::string(type_name()) + ": point has a non-finite value");
  }
  return Status::OK();
}

Result<double> Detector::Score(const Point& p) const {
  VIGIL_RETURN_NOT_OK(CheckPoint(p));
  return ScoreTrusted(p);
}

Status Detector::Update(const Point& p) {
  VIGIL_RETURN_NOT_OK(CheckPoint(p));
  UpdateTrusted(p);
  return Status::OK();
}

Result<double> Detector::ScoreAndUpdate(const Point& p) {
  VIGIL_RETURN_NOT_OK(CheckPoint(p));
  return ScoreAndUpdateTrusted(p);
}

Status Detector::ScoreAndUpdateBatch(std::span<const double> xs, std::span<const int64_t> ts,
                                     std::span<double> scores) {
  if (dims() != 1) return Status::Invalid(std::string(type_name()) + ": batch path is for univariate detectors");
  if (scores.size() != xs.size() || (!ts.empty() && ts.size() != xs.size())) {
    return Status::Invalid(std::string(type_name()) + ": ScoreAndUpdateBatch spans differ in length");
  }
  for (size_t i = 0; i < xs.size(); ++i) {
    Point p{ts.empty() ? 0 : ts[i], {&xs[i], 1}};
    VIGIL_ASSIGN_OR_RAISE(scores[i], ScoreAndUpdate(p));
  }
  return Status::OK();
}

}  // namespace vigil
