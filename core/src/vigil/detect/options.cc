// Options of the built-in detectors: validation and parsing from Params.
#include <cmath>
#include <string>
#include <utility>

#include "vigil/detect/builtin.h"
#include "vigil/detect/pca.h"

namespace vigil {

namespace {

Status Positive(const char* what, double v) {
  if (!(v > 0) || !std::isfinite(v)) return Status::Invalid(std::string(what) + ": must be a finite number > 0");
  return Status::OK();
}
Status NonNegative(const char* what, double v) {
  if (!(v >= 0) || !std::isfinite(v)) return Status::Invalid(std::string(what) + ": must be a finite number >= 0");
  return Status::OK();
}

// Parse, check unknown keys, validate with the YAML path as context.
template <typename O, typename F>
Result<O> Parse(const Params& p, F&& read) {
  O o;
  VIGIL_RETURN_NOT_OK(read(o));
  VIGIL_RETURN_NOT_OK(p.CheckAllUsed());
  Status st = o.Validate();
  if (!st.ok()) return Status(st.code(), p.path() + "." + st.message());
  return o;
}

}  // namespace

Status EwmaOptions::Validate() const {
  VIGIL_RETURN_NOT_OK(Positive("halflife", halflife));
  if (warmup < 2) return Status::Invalid("warmup: must be >= 2");
  VIGIL_RETURN_NOT_OK(NonNegative("clip", clip));
  VIGIL_RETURN_NOT_OK(NonNegative("min_std_rel", min_std_rel));
  VIGIL_RETURN_NOT_OK(Positive("min_std_abs", min_std_abs));
  return Positive("band", band);
}

Result<EwmaOptions> EwmaOptions::FromParams(const Params& p) {
  return Parse<EwmaOptions>(p, [&](EwmaOptions& o) -> Status {
    VIGIL_RETURN_NOT_OK(p.Get("halflife", &o.halflife));
    VIGIL_RETURN_NOT_OK(p.Get("warmup", &o.warmup));
    VIGIL_RETURN_NOT_OK(p.Get("clip", &o.clip));
    VIGIL_RETURN_NOT_OK(p.Get("min_std_rel", &o.min_std_rel));
    VIGIL_RETURN_NOT_OK(p.Get("min_std_abs", &o.min_std_abs));
    return p.Get("band", &o.band);
  });
}

Status RobustOptions::Validate() const {
  if (warmup < 3) return Status::Invalid("warmup: must be >= 3");
  VIGIL_RETURN_NOT_OK(Positive("rate", rate));
  if (rate > 1) return Status::Invalid("rate: must be <= 1");
  VIGIL_RETURN_NOT_OK(NonNegative("gate", gate));
  if (holdoff < 0) return Status::Invalid("holdoff: must be >= 0");
  VIGIL_RETURN_NOT_OK(NonNegative("min_mad_rel", min_mad_rel));
  VIGIL_RETURN_NOT_OK(Positive("min_mad_abs", min_mad_abs));
  return Positive("band", band);
}

Result<RobustOptions> RobustOptions::FromParams(const Params& p) {
  return Parse<RobustOptions>(p, [&](RobustOptions& o) -> Status {
    VIGIL_RETURN_NOT_OK(p.Get("warmup", &o.warmup));
    VIGIL_RETURN_NOT_OK(p.Get("rate", &o.rate));
    VIGIL_RETURN_NOT_OK(p.Get("gate", &o.gate));
    VIGIL_RETURN_NOT_OK(p.Get("holdoff", &o.holdoff));
    VIGIL_RETURN_NOT_OK(p.Get("min_mad_rel", &o.min_mad_rel));
    VIGIL_RETURN_NOT_OK(p.Get("min_mad_abs", &o.min_mad_abs));
    return p.Get("band", &o.band);
  });
}

Status CusumOptions::Validate() const {
  VIGIL_RETURN_NOT_OK(Positive("baseline_halflife", baseline_halflife));
  if (warmup < 2) return Status::Invalid("warmup: must be >= 2");
  VIGIL_RETURN_NOT_OK(NonNegative("drift", drift));
  VIGIL_RETURN_NOT_OK(Positive("limit", limit));
  VIGIL_RETURN_NOT_OK(NonNegative("min_std_rel", min_std_rel));
  return Positive("min_std_abs", min_std_abs);
}

Result<CusumOptions> CusumOptions::FromParams(const Params& p) {
  return Parse<CusumOptions>(p, [&](CusumOptions& o) -> Status {
    VIGIL_RETURN_NOT_OK(p.Get("baseline_halflife", &o.baseline_halflife));
    VIGIL_RETURN_NOT_OK(p.Get("warmup", &o.warmup));
    VIGIL_RETURN_NOT_OK(p.Get("drift", &o.drift));
    VIGIL_RETURN_NOT_OK(p.Get("limit", &o.limit));
    VIGIL_RETURN_NOT_OK(p.Get("min_std_rel", &o.min_std_rel));
    return p.Get("min_std_abs", &o.min_std_abs);
  });
}

Status PageHinkleyOptions::Validate() const {
  VIGIL_RETURN_NOT_OK(Positive("baseline_halflife", baseline_halflife));
  if (warmup < 2) return Status::Invalid("warmup: must be >= 2");
  VIGIL_RETURN_NOT_OK(NonNegative("delta", delta));
  VIGIL_RETURN_NOT_OK(Positive("limit", limit));
  VIGIL_RETURN_NOT_OK(NonNegative("min_std_rel", min_std_rel));
  return Positive("min_std_abs", min_std_abs);
}

Result<PageHinkleyOptions> PageHinkleyOptions::FromParams(const Params& p) {
  return Parse<PageHinkleyOptions>(p, [&](PageHinkleyOptions& o) -> Status {
    VIGIL_RETURN_NOT_OK(p.Get("baseline_halflife", &o.baseline_halflife));
    VIGIL_RETURN_NOT_OK(p.Get("warmup", &o.warmup));
    VIGIL_RETURN_NOT_OK(p.Get("delta", &o.delta));
    VIGIL_RETURN_NOT_OK(p.Get("limit", &o.limit));
    VIGIL_RETURN_NOT_OK(p.Get("min_std_rel", &o.min_std_rel));
    return p.Get("min_std_abs", &o.min_std_abs);
  });
}

Status RulesOptions::Validate() const {
  for (const auto& [cls, metrics] : limits) {
    for (const auto& [metric, l] : metrics) {
      const std::string where = "limits." + cls + "." + metric;
      if (std::isnan(l.min) || std::isnan(l.max) || l.min > l.max) {
        return Status::Invalid(where + ": min must be <= max");
      }
      if (!(l.max_rate_per_s > 0)) return Status::Invalid(where + ".max_rate_per_s: must be > 0");
      if (l.flatline_readings < 0 || l.flatline_readings == 1) {
        return Status::Invalid(where + ".flatline_readings: must be 0 (off) or >= 2");
      }
    }
  }
  return Status::OK();
}

Result<RulesOptions> RulesOptions::FromParams(const Params& p) {
  return Parse<RulesOptions>(p, [&](RulesOptions& o) -> Status {
    const Params* classes = p.Find("limits");
    if (classes == nullptr) return Status::OK();
    if (classes->is_scalar() || classes->is_sequence()) {
      return Status::Invalid(classes->path() + ": expected a map of device class -> metric -> limits");
    }
    for (const std::string& cls : classes->Keys()) {
      const Params* metrics = classes->Find(cls);
      for (const std::string& metric : metrics->Keys()) {
        const Params* lp = metrics->Find(metric);
        if (lp->is_scalar() || lp->is_sequence()) {
          return Status::Invalid(lp->path() + ": expected a map with min/max/max_rate_per_s/flatline_readings");
        }
        RuleLimits l;
        VIGIL_RETURN_NOT_OK(lp->Get("min", &l.min));
        VIGIL_RETURN_NOT_OK(lp->Get("max", &l.max));
        VIGIL_RETURN_NOT_OK(lp->Get("max_rate_per_s", &l.max_rate_per_s));
        VIGIL_RETURN_NOT_OK(lp->Get("flatline_readings", &l.flatline_readings));
        o.limits[cls][metric] = l;
      }
    }
    return Status::OK();
  });
}

Status GapOptions::Validate() const {
  if (heartbeat_ms < 0) return Status::Invalid("heartbeat_ms: must be >= 0 (0 = learn it)");
  VIGIL_RETURN_NOT_OK(Positive("factor", factor));
  if (factor <= 1) return Status::Invalid("factor: must be > 1");
  if (warmup < 1) return Status::Invalid("warmup: must be >= 1");
  return Status::OK();
}

Result<GapOptions> GapOptions::FromParams(const Params& p) {
  return Parse<GapOptions>(p, [&](GapOptions& o) -> Status {
    VIGIL_RETURN_NOT_OK(p.Get("heartbeat_ms", &o.heartbeat_ms));
    VIGIL_RETURN_NOT_OK(p.Get("factor", &o.factor));
    return p.Get("warmup", &o.warmup);
  });
}

Status PcaOptions::Validate() const {
  VIGIL_RETURN_NOT_OK(Positive("halflife", halflife));
  if (warmup < 3) return Status::Invalid("warmup: must be >= 3");
  if (!(shrinkage >= 0 && shrinkage < 1)) return Status::Invalid("shrinkage: must be in [0, 1)");
  if (components < 0) return Status::Invalid("components: must be >= 0 (0 = chosen by `explained`)");
  if (!(explained > 0 && explained <= 1)) return Status::Invalid("explained: must be in (0, 1]");
  if (refresh < 1) return Status::Invalid("refresh: must be >= 1");
  if (!(smoothing > 0 && smoothing <= 1)) return Status::Invalid("smoothing: must be in (0, 1] (1 = off)");
  VIGIL_RETURN_NOT_OK(NonNegative("gate", gate));
  if (holdoff < 0) return Status::Invalid("holdoff: must be >= 0");
  if (min_dims < 1) return Status::Invalid("min_dims: must be >= 1");
  VIGIL_RETURN_NOT_OK(NonNegative("min_std_rel", min_std_rel));
  VIGIL_RETURN_NOT_OK(Positive("min_std_abs", min_std_abs));
  return Positive("band", band);
}

Result<PcaOptions> PcaOptions::FromParams(const Params& p) {
  return Parse<PcaOptions>(p, [&](PcaOptions& o) -> Status {
    std::string statistic = "both";
    for (const auto& [key, field] : {std::pair{"halflife", &o.halflife}, {"shrinkage", &o.shrinkage},
                                     {"explained", &o.explained}, {"smoothing", &o.smoothing}, {"gate", &o.gate},
                                     {"min_std_rel", &o.min_std_rel}, {"min_std_abs", &o.min_std_abs},
                                     {"band", &o.band}}) {
      VIGIL_RETURN_NOT_OK(p.Get(key, field));
    }
    for (const auto& [key, field] : {std::pair{"warmup", &o.warmup}, {"components", &o.components},
                                     {"refresh", &o.refresh}, {"holdoff", &o.holdoff}, {"gate_after", &o.gate_after},
                                     {"min_dims", &o.min_dims}}) {
      VIGIL_RETURN_NOT_OK(p.Get(key, field));
    }
    VIGIL_RETURN_NOT_OK(p.Get("statistic", &statistic));
    if (statistic == "both") {
      o.statistic = Statistic::kBoth;
    } else if (statistic == "t2") {
      o.statistic = Statistic::kT2;
    } else if (statistic == "spe") {
      o.statistic = Statistic::kSpe;
    } else {
      return p.Error("statistic", "must be one of t2, spe, both (got '" + statistic + "')");
    }
    return Status::OK();
  });
}

}  // namespace vigil
