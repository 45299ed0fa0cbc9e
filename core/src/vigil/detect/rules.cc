// Static rules per (device class, metric): min/max, rate of change, flatline.
// The raw score is 1 when a rule is broken and 0 otherwise (identity calibration).
#include <cmath>
#include <string>

#include "vigil/detect/builtin.h"
#include "vigil/detect/factory_internal.h"

namespace vigil {

namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

class RulesDetector final : public internal::UnivariateBase<RulesDetector> {
 public:
  RulesDetector(const RuleLimits& l, const DetectorContext&) : l_(l) {}

  std::string_view type_name() const override { return "rules"; }
  bool warm() const override { return true; }

  // Which rule x breaks: 0 none, 1 min, 2 max, 3 rate, 4 flatline.
  int Broken(double x, int64_t ts) const {
    if (x < l_.min) return 1;
    if (x > l_.max) return 2;
    if (has_last_ && std::isfinite(l_.max_rate_per_s) && ts > last_ts_) {
      const double rate = std::fabs(x - last_) * 1000.0 / static_cast<double>(ts - last_ts_);
      if (rate > l_.max_rate_per_s) return 3;
    }
    if (l_.flatline_readings > 0 && has_last_ && x == last_ && repeats_ + 1 >= l_.flatline_readings) return 4;
    return 0;
  }

  double DoScore(double x, int64_t ts) const { return Broken(x, ts) ? 1.0 : 0.0; }

  void DoUpdate(double x, int64_t ts) {
    repeats_ = (has_last_ && x == last_) ? repeats_ + 1 : 1;
    last_ = x;
    last_ts_ = ts;
    has_last_ = true;
  }

  void Explain(const Point& p, Explanation* out) const override {
    const double x = p.values[0];
    out->top_dimension = 0;
    out->expected_lo = std::isfinite(l_.min) ? l_.min : Explanation::kNaN;
    out->expected_hi = std::isfinite(l_.max) ? l_.max : Explanation::kNaN;
    switch (Broken(x, p.ts_ms)) {
      case 1: out->note = "below min " + Num(l_.min); break;
      case 2: out->note = "above max " + Num(l_.max); break;
      case 3:
        out->note = "rate of change above " + Num(l_.max_rate_per_s) + "/s";
        out->expected_lo = last_ - l_.max_rate_per_s * (p.ts_ms - last_ts_) / 1000.0;
        out->expected_hi = last_ + l_.max_rate_per_s * (p.ts_ms - last_ts_) / 1000.0;
        break;
      case 4: out->note = "flatline: " + std::to_string(repeats_ + 1) + " identical readings"; break;
      default: break;
    }
  }

  Status SerializeTo(StateWriter* w) const override {
    w->WriteDouble(1, last_);
    w->WriteInt(2, last_ts_);
    w->WriteUInt(3, static_cast<uint64_t>(repeats_));
    w->WriteBool(4, has_last_);
    return Status::OK();
  }
  Status DeserializeFrom(StateReader* r) override {
    uint64_t repeats = 0;
    VIGIL_RETURN_NOT_OK(r->ReadDouble(1, &last_));
    VIGIL_RETURN_NOT_OK(r->ReadInt(2, &last_ts_));
    VIGIL_RETURN_NOT_OK(r->ReadUInt(3, &repeats));
    VIGIL_RETURN_NOT_OK(r->ReadBool(4, &has_last_));
    if (repeats > (1u << 31)) return Status::Corrupt("rules state: repeat count out of range");
    repeats_ = static_cast<int32_t>(repeats);
    return Status::OK();
  }

 private:
  RuleLimits l_;
  double last_ = 0;
  int64_t last_ts_ = 0;
  int32_t repeats_ = 0;
  bool has_last_ = false;
};

class RulesFactory final : public DetectorFactory {
 public:
  explicit RulesFactory(RulesOptions o) : o_(std::move(o)) {}
  std::string_view type_name() const override { return "rules"; }
  DetectorKind kind() const override { return DetectorKind::kUnivariate; }
  CalibrationOptions default_calibration() const override {
    CalibrationOptions c;
    c.kind = CalibrationOptions::Kind::kIdentity;
    return c;
  }
  Result<std::unique_ptr<Detector>> Create(const DetectorContext& ctx) const override {
    if (ctx.metric_names.size() != 1) return Status::Invalid("rules: expects one metric name");
    const RuleLimits* l = o_.Find(ctx.device_class, ctx.metric_names[0]);
    if (l == nullptr) return std::unique_ptr<Detector>();
    return std::unique_ptr<Detector>(std::make_unique<RulesDetector>(*l, ctx));
  }

 private:
  RulesOptions o_;
};

}  // namespace

const RuleLimits* RulesOptions::Find(std::string_view device_class, std::string_view metric) const {
  for (std::string_view cls : {device_class, std::string_view("*")}) {
    auto c = limits.find(std::string(cls));
    if (c == limits.end()) continue;
    for (std::string_view m : {metric, std::string_view("*")}) {
      auto it = c->second.find(std::string(m));
      if (it != c->second.end()) return &it->second;
    }
  }
  return nullptr;
}

Result<std::unique_ptr<DetectorFactory>> MakeRulesFactory(const RulesOptions& o) {
  VIGIL_RETURN_NOT_OK(o.Validate());
  return std::unique_ptr<DetectorFactory>(std::make_unique<RulesFactory>(o));
}

}  // namespace vigil
