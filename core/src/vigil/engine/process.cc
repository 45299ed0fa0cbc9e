// Engine::Process: score every event against the state so far, then learn it.
#include <algorithm>
#include <bit>
#include <cmath>
#include <string>
#include <utility>

#include "vigil/engine/engine_impl_internal.h"

namespace vigil::internal {

// Devices are independent, so the batch is scored device by device: each device's
// events in batch order, its state hot in cache for all of them (a fleet interleaves
// thousands of devices, and scoring in strict batch order missed the cache on nearly
// every event). The verdicts are those of strict batch order, written at each event's
// position. Pass 1 finds (or creates, in batch order) each event's device; pass 2 is a
// stable counting sort of the events by device.
Status EngineImpl::Process(const EventBatch& batch, VerdictBatch* out) {
  return ProcessEvents(batch, nullptr, batch.size(), out);
}

Status EngineImpl::ProcessRows(const EventBatch& batch, std::span<const uint32_t> rows, VerdictBatch* out) {
  for (size_t k = 0; k < rows.size(); ++k) {
    if (rows[k] >= batch.size()) {
      return Status::Invalid("ProcessRows: rows[" + std::to_string(k) + "] = " + std::to_string(rows[k]) +
                             " is outside the batch of " + std::to_string(batch.size()) + " events");
    }
  }
  return ProcessEvents(batch, rows.data(), static_cast<int64_t>(rows.size()), out);
}

Status EngineImpl::ProcessEvents(const EventBatch& batch, const uint32_t* rows, int64_t n, VerdictBatch* out) {
  if (!recycled_.empty()) recycled_.clear();  // cleared and not loaded again
  out->Resize(n);
  event_dev_.resize(n);
  event_group_.resize(n);
  group_start_.clear();
  ++batch_generation_;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = rows ? rows[k] : k;
    DeviceState* dev = GetDevice(batch.device_id(i), batch.device_class(i));
    if (dev->batch_generation != batch_generation_) {
      dev->batch_generation = batch_generation_;
      dev->batch_group = static_cast<uint32_t>(group_start_.size());
      group_start_.push_back(0);
    }
    event_dev_[k] = dev;
    event_group_[k] = dev->batch_group;
    ++group_start_[dev->batch_group];
  }
  uint32_t at = 0;
  for (uint32_t& g : group_start_) at += std::exchange(g, at);
  event_order_.resize(n);
  for (int64_t k = 0; k < n; ++k) event_order_[group_start_[event_group_[k]]++] = static_cast<uint32_t>(k);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t k = event_order_[j];
    VIGIL_RETURN_NOT_OK(ProcessEvent(batch, rows ? rows[k] : k, k, event_dev_[k], out));
  }
  return Status::OK();
}

Status EngineImpl::ProcessEvent(const EventBatch& batch, int64_t i, int64_t at, DeviceState* dev,
                                VerdictBatch* out) {
  constexpr double kNaN = Explanation::kNaN;
  const std::string_view device_id = batch.device_id(i);
  const auto ids = batch.metric_ids(i);
  const auto vals = batch.metric_values(i);
  const int64_t ts = batch.ts_ms(i);
  const size_t K = ids.size();
  const size_t J = uni_.size();

  slots_.resize(K);
  for (size_t k = 0; k < K; ++k) {
    VIGIL_ASSIGN_OR_RAISE(slots_[k], Slot(dev, device_id, batch.metric_name(ids[k]), k));
  }
  if (!dev->has_multivariate && !multi_.empty()) VIGIL_RETURN_NOT_OK(InitMultivariate(dev, device_id));

  // Phase 1: score (pure).
  uint32_t mask = 0;
  raw_.assign(K * J, 0.0);
  metric_p_.assign(K, 0.0);
  double best_metric_p = 0;
  int64_t best_k = -1;
  int64_t best_j = -1;
  for (size_t k = 0; k < K; ++k) {
    if (slots_[k] < 0) continue;
    KeyDetectors& key = dev->metrics[slots_[k]].univariate;
    const Point p{ts, {&vals[k], 1}};
    double keep = 1.0;
    double best_w = 0;
    int64_t arg_j = -1;
    for (size_t j = 0; j < J; ++j) {
      Detector* d = key.members[j].detector.get();
      if (d == nullptr) continue;
      const double raw = d->ScoreTrusted(p);
      raw_[k * J + j] = raw;
      const double w = uni_[j].weight * key.members[j].calibrator.Calibrate(raw);
      keep *= 1.0 - w;
      if (w >= uni_[j].fire) mask |= 1u << uni_[j].bit;
      if (w > best_w) {
        best_w = w;
        arg_j = static_cast<int64_t>(j);
      }
    }
    metric_p_[k] = 1.0 - keep;
    if (metric_p_[k] > best_metric_p) {
      best_metric_p = metric_p_[k];
      best_k = static_cast<int64_t>(k);
      best_j = arg_j;
    }
  }
  double keep = 1.0 - best_metric_p;
  double best_mv_w = 0;
  int64_t best_mv_j = -1;
  Point mv_point{ts, {}};
  if (dev->has_multivariate) {
    // Carry forward: the dimension's last value unless this event has it.
    for (size_t d = 0; d < dev->mv_slots.size(); ++d) {
      const MetricState& m = dev->metrics[dev->mv_slots[d]];
      if (m.has_value) dev->mv_values[d] = m.last_value;
    }
    for (size_t k = 0; k < K; ++k) {
      if (slots_[k] < 0) continue;
      for (size_t d = 0; d < dev->mv_slots.size(); ++d) {
        if (dev->mv_slots[d] == slots_[k]) dev->mv_values[d] = vals[k];
      }
    }
    mv_point.values = dev->mv_values;
    mv_raw_.assign(multi_.size(), 0.0);
    for (size_t j = 0; j < multi_.size(); ++j) {
      Detector* d = dev->multivariate.members[j].detector.get();
      if (d == nullptr) continue;
      const double raw = d->ScoreTrusted(mv_point);
      mv_raw_[j] = raw;
      const double w = multi_[j].weight * dev->multivariate.members[j].calibrator.Calibrate(raw);
      keep *= 1.0 - w;
      if (w >= multi_[j].fire) mask |= 1u << multi_[j].bit;
      if (w > best_mv_w) {
        best_mv_w = w;
        best_mv_j = static_cast<int64_t>(j);
      }
    }
  }
  const double point_score = std::clamp(1.0 - keep, 0.0, 1.0);
  const EnsembleOptions& ens = options_.ensemble;
  bool collective = false;
  double score = point_score;
  if (ens.smoothing > 0) {
    dev->smoothed += ens.smoothing * (point_score - dev->smoothed);
    collective = dev->smoothed >= (dev->collective ? ens.release() : ens.smoothed_threshold);
    dev->collective = collective;
    score = std::max(score, dev->smoothed);
  }
  // A member in its refractory period fires without making a point alarm.
  const uint32_t fired = mask;
  if (onset_only_ != 0) {
    if (dev->since_fire.empty()) dev->since_fire = refractory_;
    for (uint32_t b = 0; b < refractory_.size(); ++b) {
      if ((fired >> b & 1u) != 0 && dev->since_fire[b] < refractory_[b]) mask &= ~(1u << b);
    }
  }
  const bool point_alarm = point_score >= ens.threshold && std::popcount(mask) >= ens.min_fired;
  const bool anomalous = point_alarm || collective;
  const int severity = static_cast<int>(std::lround(100.0 * score));

  // Verdict and explanation.
  std::string top_metric;
  double observed = kNaN;
  Explanation ex;
  std::string_view by;
  int64_t by_bit = -1;  // detector_names() index of `by`
  const bool explain = options_.explain == ExplainMode::kAll ||
                       (options_.explain == ExplainMode::kAnomalies && anomalous);
  ExplainInput in{score, severity, 0, &names_, {}, kNaN, kNaN, kNaN, {}, {}, {}};
  if (best_mv_j >= 0 && best_mv_w > best_metric_p) {
    const Detector* d = dev->multivariate.members[best_mv_j].detector.get();
    by = multi_[best_mv_j].name;
    by_bit = multi_[best_mv_j].bit;
    if (explain || anomalous) d->Explain(mv_point, &ex);
    int32_t top = ex.top_dimension;
    if (ex.attribution.size() == dev->mv_names.size() && !ex.attribution.empty()) {
      top = static_cast<int32_t>(std::max_element(ex.attribution.begin(), ex.attribution.end()) -
                                 ex.attribution.begin());
      std::vector<int32_t> order(ex.attribution.size());
      for (size_t d2 = 0; d2 < order.size(); ++d2) order[d2] = static_cast<int32_t>(d2);
      std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return ex.attribution[a] > ex.attribution[b]; });
      for (int32_t t = 0; t < options_.top_attributions && t < static_cast<int32_t>(order.size()); ++t) {
        in.attribution.emplace_back(dev->mv_names[order[t]], ex.attribution[order[t]]);
      }
    }
    if (top >= 0 && top < static_cast<int32_t>(dev->mv_names.size())) {
      top_metric = dev->mv_names[top];
      observed = dev->mv_values[top];
    }
  } else if (best_k >= 0) {
    top_metric = dev->metrics[slots_[best_k]].name;
    observed = vals[best_k];
    if ((explain || anomalous) && best_j >= 0) {
      by = uni_[best_j].name;
      by_bit = uni_[best_j].bit;
      const Point p{ts, {&vals[best_k], 1}};
      dev->metrics[slots_[best_k]].univariate.members[best_j].detector->Explain(p, &ex);
    }
    if (explain) {
      std::vector<size_t> order;
      double total = 0;
      for (size_t k = 0; k < K; ++k) {
        if (metric_p_[k] > 0) order.push_back(k);
        total += metric_p_[k];
      }
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return metric_p_[a] > metric_p_[b]; });
      for (int32_t t = 0; t < options_.top_attributions && t < static_cast<int32_t>(order.size()); ++t) {
        in.attribution.emplace_back(batch.metric_name(ids[order[t]]), metric_p_[order[t]] / total);
      }
    }
  }
  // What an anomaly reports as its detectors is never empty. A point alarm: the members
  // that made it. A collective-only anomaly: the members that fired at this point,
  // refractory or not (what they keep firing on is the collective path's to report);
  // if none, the member carrying the top evidence (`by`); if the point carries no
  // evidence at all, what the running collective alarm last reported (kept in the device
  // blob; an alarm restored from a blob written before that field names none there).
  // Only the report changes: the verdict, score and severity are decided above.
  uint32_t reported = mask;
  if (anomalous) {
    if (!point_alarm) reported = fired;
    if (reported == 0 && by_bit >= 0) reported = 1u << by_bit;
    if (reported == 0) reported = dev->collective_mask;
  }
  dev->collective_mask = collective ? reported : 0;
  in.mask = reported;
  out->index[at] = batch.source_index(i);
  out->score[at] = score;
  out->severity[at] = static_cast<uint8_t>(severity);
  out->is_anomaly[at] = anomalous ? 1 : 0;
  out->detector_mask[at] = reported;
  out->observed[at] = observed;
  out->expected_lo[at] = ex.expected_lo;
  out->expected_hi[at] = ex.expected_hi;
  if (explain) {
    in.metric = top_metric;
    in.observed = observed;
    in.expected_lo = ex.expected_lo;
    in.expected_hi = ex.expected_hi;
    if (collective && !point_alarm) ex.note = "sustained anomaly (smoothed score); " + ex.note;
    in.note = ex.note;
    in.detector = by;
    out->explanation_json[at] = RenderExplanation(in);
  }
  out->top_metric[at] = std::move(top_metric);

  // Phase 2: learn.
  for (size_t k = 0; k < K; ++k) {
    if (slots_[k] < 0) continue;
    MetricState& m = dev->metrics[slots_[k]];
    const Point p{ts, {&vals[k], 1}};
    for (size_t j = 0; j < J; ++j) {
      Detector* d = m.univariate.members[j].detector.get();
      if (d == nullptr) continue;
      d->UpdateTrusted(p);
      m.univariate.members[j].calibrator.Observe(raw_[k * J + j]);
    }
    m.last_value = vals[k];
    m.has_value = true;
  }
  if (dev->has_multivariate) {
    for (size_t j = 0; j < multi_.size(); ++j) {
      Detector* d = dev->multivariate.members[j].detector.get();
      if (d == nullptr) continue;
      d->UpdateTrusted(mv_point);
      dev->multivariate.members[j].calibrator.Observe(mv_raw_[j]);
    }
  }
  if (onset_only_ != 0) {
    for (uint32_t b = 0; b < refractory_.size(); ++b) {
      dev->since_fire[b] = (fired >> b & 1u) != 0 ? 0 : std::min(dev->since_fire[b] + 1, refractory_[b]);
    }
  }
  ++dev->events;
  return Status::OK();
}

}  // namespace vigil::internal
