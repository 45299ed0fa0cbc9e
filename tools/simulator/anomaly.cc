#include "anomaly.h"

#include <charconv>
#include <cmath>

namespace vigil::sim {
namespace {

constexpr std::string_view kKindNames[kNumAnomalyKinds] = {
    "spike", "dip", "level_shift", "drift", "stuck", "noise_burst", "dropout", "correlation_break"};

// Lengths in readings and magnitudes in sigmas, per kind: [min, max].
struct KindShape {
  int64_t min_len, max_len;
  double min_mag, max_mag;
  bool recovery;  // the step back to normal is labelled too
};
constexpr KindShape kShapes[kNumAnomalyKinds] = {
    {1, 1, 8.0, 12.0, false},     // spike: one reading, up
    {1, 1, 8.0, 12.0, false},     // dip: one reading, down
    {20, 60, 6.0, 9.0, true},     // level_shift: a step, then back
    {30, 90, 12.0, 18.0, true},   // drift: linear ramp to the magnitude, then back
    {30, 90, 0.0, 0.0, false},    // stuck: the value repeats exactly
    {10, 30, 6.0, 10.0, false},   // noise_burst: noise sd times the magnitude
    {20, 120, 0.0, 0.0, false},   // dropout: missing readings; the next one is labelled
    {20, 60, 6.0, 9.0, true},     // correlation_break: partners up, broken metric down
};

}  // namespace

std::string_view AnomalyKindName(AnomalyKind kind) {
  return kKindNames[static_cast<int>(kind)];
}

Result<std::array<double, kNumAnomalyKinds>> ParseAnomalyMix(std::string_view text) {
  std::array<double, kNumAnomalyKinds> mix{};
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t eq = item.find('=');
    const std::string_view name = item.substr(0, eq);
    double weight = 1.0;
    if (eq != std::string_view::npos) {
      const std::string_view w = item.substr(eq + 1);
      auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), weight);
      if (ec != std::errc() || p != w.data() + w.size() || !(weight >= 0.0)) {
        return Status::Invalid("bad weight '" + std::string(w) + "' for anomaly kind '" +
                               std::string(name) + "' (want a number >= 0)");
      }
    }
    bool found = false;
    for (int i = 0; i < kNumAnomalyKinds; ++i) {
      if (name == kKindNames[i]) {
        mix[static_cast<size_t>(i)] = weight;
        found = true;
      }
    }
    if (!found) {
      std::string known;
      for (std::string_view k : kKindNames) known += (known.empty() ? "" : ", ") + std::string(k);
      return Status::Invalid("unknown anomaly kind '" + std::string(name) + "' (known: " + known +
                             ")");
    }
  }
  return mix;
}

void AnomalyInjector::Start(DeviceSignal* signal, int64_t k, int64_t ts_ms, int64_t id) {
  const int n = signal->num_metrics();
  double total = 0.0;
  for (int i = 0; i < kNumAnomalyKinds; ++i) {
    if (i == static_cast<int>(AnomalyKind::kCorrelationBreak) && n < 2) continue;
    total += options_->mix[static_cast<size_t>(i)];
  }
  if (total <= 0.0) return;
  double pick = rng_.Uniform() * total;
  int kind = 0;
  for (int i = 0; i < kNumAnomalyKinds; ++i) {
    if (i == static_cast<int>(AnomalyKind::kCorrelationBreak) && n < 2) continue;
    const double w = options_->mix[static_cast<size_t>(i)];
    if (w <= 0.0) continue;
    kind = i;
    if (pick < w) break;
    pick -= w;
  }
  const KindShape& shape = kShapes[kind];
  Episode e;
  e.id = id;
  e.kind = static_cast<AnomalyKind>(kind);
  e.start_ts_ms = ts_ms;
  e.end_ts_ms = ts_ms;
  e.magnitude = rng_.Uniform(shape.min_mag, shape.max_mag) * options_->scale;
  if (e.kind == AnomalyKind::kNoiseBurst) e.magnitude = std::max(2.0, e.magnitude);
  const int metric = static_cast<int>(rng_.UniformInt(0, n - 1));
  e.metrics.push_back(metric);
  if (e.kind == AnomalyKind::kCorrelationBreak) {
    for (int m = 0; m < n; ++m) {
      if (m != metric) e.metrics.push_back(m);
    }
  }
  if (e.kind == AnomalyKind::kDropout) e.metrics.clear();
  start_k_ = k;
  length_ = rng_.UniformInt(shape.min_len, shape.max_len);
  recovery_ = shape.recovery || e.kind == AnomalyKind::kDropout;
  sign_ = e.kind == AnomalyKind::kDip ? -1 : (e.kind == AnomalyKind::kSpike ? 1 : 0);
  if (sign_ == 0) sign_ = rng_.Bernoulli(0.5) ? 1 : -1;
  frozen_.clear();
  finished_ = false;
  active_ = std::move(e);
}

AnomalyInjector::Effect AnomalyInjector::Apply(DeviceSignal* signal, int64_t k, int64_t ts_ms,
                                               bool may_start, int64_t* next_id,
                                               std::vector<double>* values) {
  if (!active_) {
    if (!may_start) return Effect::kNone;
    const bool idle = last_end_k_ < 0 || k - last_end_k_ > options_->gap_readings;
    if (k < options_->warmup_readings || !idle || !rng_.Bernoulli(options_->rate)) {
      return Effect::kNone;
    }
    Start(signal, k, ts_ms, *next_id);
    if (!active_) return Effect::kNone;
    ++*next_id;
  }
  Episode& e = *active_;
  const int64_t j = k - start_k_;
  if (j >= length_) {
    // The first reading after the episode: labelled when it carries the step back.
    e.end_ts_ms = ts_ms;
    finished_ = true;
    return Effect::kAnomalous;
  }
  e.end_ts_ms = ts_ms;
  finished_ = j == length_ - 1 && !recovery_;
  std::vector<double>& v = *values;
  const int m = e.metrics.empty() ? 0 : e.metrics[0];
  const double sd = signal->spec(m).noise_sd;
  switch (e.kind) {
    case AnomalyKind::kSpike:
    case AnomalyKind::kDip:
    case AnomalyKind::kLevelShift:
      v[m] = signal->Clamp(m, v[m] + sign_ * e.magnitude * sd);
      break;
    case AnomalyKind::kDrift: {
      const double progress = static_cast<double>(j + 1) / static_cast<double>(length_);
      v[m] = signal->Clamp(m, v[m] + sign_ * e.magnitude * sd * progress);
      break;
    }
    case AnomalyKind::kStuck:
      if (frozen_.empty()) frozen_.push_back(v[m]);
      v[m] = frozen_[0];
      break;
    case AnomalyKind::kNoiseBurst:
      v[m] = signal->Clamp(m, signal->expected(m) + signal->noise(m) * e.magnitude);
      break;
    case AnomalyKind::kDropout:
      return Effect::kDropped;
    case AnomalyKind::kCorrelationBreak:
      for (size_t i = 0; i < e.metrics.size(); ++i) {
        const int p = e.metrics[i];
        const MetricSpec& s = signal->spec(p);
        const double dir = (s.load_gain >= 0 ? 1.0 : -1.0) * (i == 0 ? -1.0 : 1.0);
        v[p] = signal->Clamp(p, v[p] + sign_ * dir * e.magnitude * s.noise_sd);
      }
      break;
  }
  return Effect::kAnomalous;
}

std::optional<Episode> AnomalyInjector::TakeFinished() {
  if (!finished_ || !active_) return std::nullopt;
  std::optional<Episode> out = std::move(active_);
  active_.reset();
  finished_ = false;
  last_end_k_ = start_k_ + length_;
  return out;
}

std::optional<Episode> AnomalyInjector::TakeUnfinished() {
  if (!active_) return std::nullopt;
  std::optional<Episode> out = std::move(active_);
  active_.reset();
  if (out->event_ids.empty()) return std::nullopt;
  return out;
}

}  // namespace vigil::sim
