// Missing heartbeat, per device, measured in event time: the interval since the
// device's previous event against a fixed heartbeat or a learned typical one.
// It can only speak when the next event arrives, and scores that event.
#include <algorithm>
#include <cmath>
#include <string>

#include "vigil/detect/builtin.h"
#include "vigil/detect/factory_internal.h"

namespace vigil {

namespace {

constexpr double kIntervalHalflife = 50;  // intervals

class GapDetector final : public Detector {
 public:
  GapDetector(const GapOptions& o, const DetectorContext& ctx)
      : o_(o), dims_(static_cast<int32_t>(std::max<size_t>(1, ctx.metric_names.size()))) {}

  std::string_view type_name() const override { return "gap"; }
  int32_t dims() const override { return dims_; }
  bool warm() const override { return o_.heartbeat_ms > 0 ? has_last_ : intervals_.n >= uint64_t(o_.warmup); }

  double Expected() const { return o_.heartbeat_ms > 0 ? static_cast<double>(o_.heartbeat_ms) : intervals_.mean; }

  double ScoreTrusted(const Point& p) const override {
    if (!warm() || p.ts_ms <= last_ts_) return 0.0;
    const double expected = Expected();
    if (!(expected > 0)) return 0.0;
    return static_cast<double>(p.ts_ms - last_ts_) / expected;
  }

  void UpdateTrusted(const Point& p) override {
    if (has_last_ && p.ts_ms > last_ts_) {
      double interval = static_cast<double>(p.ts_ms - last_ts_);
      // A gap is not a new normal: learn it capped at the firing level.
      if (intervals_.n >= static_cast<uint64_t>(o_.warmup)) interval = std::min(interval, o_.factor * intervals_.mean);
      intervals_.Add(interval, internal::AlphaFromHalflife(kIntervalHalflife));
    }
    if (!has_last_ || p.ts_ms > last_ts_) last_ts_ = p.ts_ms;
    has_last_ = true;
  }

  double ScoreAndUpdateTrusted(const Point& p) override {
    const double s = ScoreTrusted(p);
    UpdateTrusted(p);
    return s;
  }

  void Explain(const Point& p, Explanation* out) const override {
    out->top_dimension = -1;
    const double gap_s = static_cast<double>(p.ts_ms - last_ts_) / 1000.0;
    char buf[96];
    std::snprintf(buf, sizeof(buf), "no event for %.1f s (expected every %.1f s)", gap_s, Expected() / 1000.0);
    out->note = buf;
  }

  Status SerializeTo(StateWriter* w) const override {
    w->WriteInt(1, last_ts_);
    w->WriteBool(2, has_last_);
    intervals_.Write(w, 3);  // ids 3-5
    return Status::OK();
  }
  Status DeserializeFrom(StateReader* r) override {
    VIGIL_RETURN_NOT_OK(r->ReadInt(1, &last_ts_));
    VIGIL_RETURN_NOT_OK(r->ReadBool(2, &has_last_));
    return intervals_.Read(r, 3);
  }
  int64_t memory_bytes() const override { return sizeof(*this); }

 private:
  GapOptions o_;
  int32_t dims_;
  int64_t last_ts_ = 0;
  bool has_last_ = false;
  internal::EwmaStats intervals_;
};

}  // namespace

Result<std::unique_ptr<DetectorFactory>> MakeGapFactory(const GapOptions& o) {
  VIGIL_RETURN_NOT_OK(o.Validate());
  return std::unique_ptr<DetectorFactory>(std::make_unique<internal::SimpleFactory<GapDetector, GapOptions>>(
      o, "gap", DetectorKind::kMultivariate, internal::Logistic(o.factor, o.factor / 10)));
}

}  // namespace vigil
