#include "fleet.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "time_util.h"

namespace vigil::sim {
namespace {

constexpr size_t kRecentSize = 256;

// event_id = device_id + "-" + the reading number in 12 digits (snprintf is slow here).
void AppendSequence(const std::string& device, int64_t k, std::string* out) {
  out->assign(device);
  char digits[13];
  auto n = static_cast<uint64_t>(k);
  for (int i = 11; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + n % 10);
    n /= 10;
  }
  digits[12] = '\0';
  out->push_back('-');
  out->append(digits, 12);
}

bool ValidRate(double r) { return r >= 0.0 && r <= 1.0; }

}  // namespace

std::string_view RecordKindName(RecordKind kind) {
  static constexpr std::string_view kNames[kNumRecordKinds] = {"normal", "anomalous", "duplicate",
                                                               "malformed", "late"};
  return kNames[static_cast<int>(kind)];
}

Result<std::unique_ptr<FleetSimulator>> FleetSimulator::Make(const FleetOptions& o,
                                                             LabelsCallback labels) {
  if (o.devices < 1 || o.devices > 10000000) {
    return Status::Invalid("--devices must be in [1, 10000000], got " + std::to_string(o.devices));
  }
  if (o.metrics < 1 || o.metrics > kMaxMetrics) {
    return Status::Invalid("--metrics must be in [1, " + std::to_string(kMaxMetrics) + "], got " +
                           std::to_string(o.metrics));
  }
  if (o.sites < 1) return Status::Invalid("--sites must be at least 1");
  if (o.interval_ms < 1) return Status::Invalid("--interval must be at least 1ms");
  for (const auto& [name, rate] : {std::pair{"--duplicate-rate", o.duplicate_rate},
                                   std::pair{"--malformed-rate", o.malformed_rate},
                                   std::pair{"--late-rate", o.late_rate},
                                   std::pair{"--anomaly-rate", o.anomaly.rate}}) {
    if (!ValidRate(rate)) {
      return Status::Invalid(std::string(name) + " must be in [0, 1], got " + std::to_string(rate));
    }
  }
  if (o.duplicate_rate + o.malformed_rate >= 1.0) {
    return Status::Invalid("--duplicate-rate + --malformed-rate must be below 1");
  }
  if (o.late_rate > 0.0 && o.max_lateness_ms <= o.interval_ms) {
    return Status::Invalid("--max-lateness (" + std::to_string(o.max_lateness_ms) +
                           "ms) must exceed --interval (" + std::to_string(o.interval_ms) +
                           "ms) so that late readings arrive after later ones");
  }
  if (o.anomaly.warmup_readings < 0 || o.anomaly.gap_readings < 0 || !(o.anomaly.scale > 0.0)) {
    return Status::Invalid("--anomaly-warmup and --anomaly-gap must be >= 0, --anomaly-scale > 0");
  }
  if (o.oversize_bytes < 1024 || o.oversize_bytes > 64 * 1024 * 1024) {
    return Status::Invalid("--oversize-bytes must be in [1024, 67108864]");
  }
  std::vector<const DeviceClass*> classes;
  for (const std::string& name : o.device_classes) {
    VIGIL_ASSIGN_OR_RAISE(const DeviceClass* c, FindDeviceClass(name));
    classes.push_back(c);
  }
  if (classes.empty()) {
    for (const DeviceClass& c : DeviceClasses()) classes.push_back(&c);
  }
  auto fleet = std::make_unique<FleetSimulator>(Key{}, o, std::move(labels));
  fleet->devices_.reserve(static_cast<size_t>(o.devices));
  char id[32];
  for (int d = 0; d < o.devices; ++d) {
    const DeviceClass* cls = classes[static_cast<size_t>(d) % classes.size()];
    std::snprintf(id, sizeof(id), "dev-%05d", d);
    Device dev{id,
               "plant-" + std::to_string(d % o.sites + 1),
               DeviceSignal(cls, o.metrics, Rng::Derive(o.seed, 2 * static_cast<uint64_t>(d) + 1),
                            o.start_ms),
               AnomalyInjector(&fleet->options_.anomaly,
                               Rng::Derive(o.seed, 2 * static_cast<uint64_t>(d) + 2)),
               {},
               {},
               std::vector<double>(static_cast<size_t>(o.metrics)),
               {},
               INT64_MIN};
    for (int m = 0; m < o.metrics; ++m) {
      dev.names.emplace_back(cls->metrics[m].name);
      dev.decimals.push_back(cls->metrics[m].decimals);
      dev.values[static_cast<size_t>(m)] = cls->metrics[m].base;
    }
    fleet->devices_.push_back(std::move(dev));
  }
  return fleet;
}

FleetSimulator::FleetSimulator(Key /*key*/, const FleetOptions& options, LabelsCallback labels)
    : options_(options), labels_(std::move(labels)), rng_(Rng::Derive(options.seed, 0)) {
  recent_.reserve(kRecentSize);
}

EventView FleetSimulator::View(const Device& dev, std::string_view event_id,
                               int64_t ts_ms) const {
  EventView e;
  e.event_id = event_id;
  e.device_id = dev.id;
  e.ts_ms = ts_ms;
  e.metric_names = &dev.names;
  e.values = &dev.values;
  e.decimals = &dev.decimals;
  e.device_class = dev.signal.device_class().name;
  e.site = dev.site;
  e.plain_strings = true;  // dev-NNNNN, plant-N, built-in class and metric names
  return e;
}

bool FleetSimulator::Next(Record* out) {
  for (;;) {
    const int64_t left = options_.max_messages > 0 ? options_.max_messages - emitted_ : INT64_MAX;
    if (left <= 0) {
      CloseEpisodes();
      return false;
    }
    if (finishing_ || left <= held_count_) {
      if (!DrainOne(out)) {
        CloseEpisodes();
        return false;
      }
      return true;
    }
    if (!ready_.empty()) {
      Held h = std::move(ready_.front());
      ready_.pop_front();
      EmitHeld(std::move(h), out);
      return true;
    }
    if (!recent_.empty() && rng_.Bernoulli(options_.duplicate_rate)) {
      const Record& r = recent_[static_cast<size_t>(rng_.UniformInt(
          0, static_cast<int64_t>(recent_.size()) - 1))];
      out->key = r.key;
      out->value = r.value;
      out->ts_ms = r.ts_ms;
      out->kind = RecordKind::kDuplicate;
      ++emitted_;
      return true;
    }
    if (rng_.Bernoulli(options_.malformed_rate)) {
      MakeMalformedRecord(out);
      ++emitted_;
      return true;
    }
    if (NextReading(out)) {
      ++emitted_;
      return true;
    }
  }
}

bool FleetSimulator::NextReading(Record* out) {
  const int64_t n = options_.devices;
  const int64_t d = slot_ % n;
  const int64_t k = slot_ / n;
  ++slot_;
  Device& dev = devices_[static_cast<size_t>(d)];
  const int64_t ts = options_.start_ms + k * options_.interval_ms + d * options_.interval_ms / n;
  clock_ms_ = ts;
  dev.signal.Step(ts);
  for (int m = 0; m < options_.metrics; ++m) dev.values[static_cast<size_t>(m)] = dev.signal.value(m);
  const AnomalyInjector::Effect effect =
      dev.injector.Apply(&dev.signal, k, ts, /*may_start=*/dev.held.empty(), &next_episode_,
                         &dev.values);
  if (Episode* active = dev.injector.active()) active->device = static_cast<int>(d);
  if (effect == AnomalyInjector::Effect::kDropped) {
    Release(&dev, ts);
    return false;
  }

  AppendSequence(dev.id, k, &event_id_);
  out->value.clear();
  AppendEventJson(View(dev, event_id_, ts), &out->value);
  out->key.assign(dev.id);
  out->ts_ms = ts;
  if (effect == AnomalyInjector::Effect::kAnomalous) {
    out->kind = RecordKind::kAnomalous;
    dev.injector.active()->event_ids.push_back(event_id_);
    if (std::optional<Episode> done = dev.injector.TakeFinished()) Label(dev, *done);
  } else if (rng_.Bernoulli(options_.late_rate)) {
    // Held until the device's reading j intervals later exists, then sent before any
    // newer one: j intervals late and, as that reading went first, out of order.
    const int64_t j = rng_.UniformInt(1, options_.max_lateness_ms / options_.interval_ms);
    dev.held.push_back(
        Held{ts + j * options_.interval_ms, static_cast<size_t>(d), out->key, out->value, ts});
    ++held_count_;
    Release(&dev, ts);
    return false;
  } else {
    out->kind = RecordKind::kNormal;
  }
  dev.max_ts = ts;
  Release(&dev, ts);
  Remember(*out);
  return true;
}

void FleetSimulator::Release(Device* dev, int64_t now_ts) {
  if (dev->held.empty()) return;
  auto due = std::stable_partition(dev->held.begin(), dev->held.end(),
                                   [&](const Held& h) { return h.release_ts > now_ts; });
  for (auto it = due; it != dev->held.end(); ++it) ready_.push_back(std::move(*it));
  dev->held.erase(due, dev->held.end());
}

bool FleetSimulator::DrainOne(Record* out) {
  if (ready_.empty()) {
    for (Device& dev : devices_) {
      if (dev.held.empty()) continue;
      for (Held& h : dev.held) ready_.push_back(std::move(h));
      dev.held.clear();
      break;
    }
  }
  if (ready_.empty()) return false;
  Held h = std::move(ready_.front());
  ready_.pop_front();
  EmitHeld(std::move(h), out);
  return true;
}

void FleetSimulator::EmitHeld(Held h, Record* out) {
  Device& dev = devices_[h.device];
  // Late means: sent after a later reading of its device. A reading drained at the
  // end with nothing later sent is simply in order.
  out->kind = h.ts_ms < dev.max_ts ? RecordKind::kLate : RecordKind::kNormal;
  dev.max_ts = std::max(dev.max_ts, h.ts_ms);
  out->key = std::move(h.key);
  out->value = std::move(h.value);
  out->ts_ms = h.ts_ms;
  --held_count_;
  ++emitted_;
  Remember(*out);
}

void FleetSimulator::Remember(const Record& r) {
  if (options_.duplicate_rate <= 0.0) return;
  if (recent_.size() < kRecentSize) {
    recent_.push_back(r);
  } else {
    recent_[recent_next_] = r;
    recent_next_ = (recent_next_ + 1) % kRecentSize;
  }
}

void FleetSimulator::MakeMalformedRecord(Record* out) {
  const auto d = static_cast<size_t>(rng_.UniformInt(0, options_.devices - 1));
  const Device& dev = devices_[d];
  char seq[16];
  std::snprintf(seq, sizeof(seq), "-m%011lld", static_cast<long long>(malformed_seq_++));
  event_id_.assign(dev.id).append(seq);
  const auto kind = static_cast<MalformedKind>(rng_.UniformInt(0, kNumMalformedKinds - 1));
  const int64_t ts = clock_ms_ > 0 ? clock_ms_ : options_.start_ms;
  MakeMalformed(kind, View(dev, event_id_, ts), options_.oversize_bytes, &rng_, &out->value);
  out->key.assign(dev.id);
  out->ts_ms = ts;
  out->kind = RecordKind::kMalformed;
  out->malformed = kind;
}

void FleetSimulator::Label(const Device& dev, const Episode& e) {
  ++episodes_.by_kind[static_cast<int>(e.kind)];
  ++episodes_.total;
  if (!labels_) return;
  label_line_.clear();
  AppendLabelJson(e, &label_line_);
  labels_(dev.id, label_line_);
}

void FleetSimulator::CloseEpisodes() {
  if (closed_) return;
  closed_ = true;
  for (Device& dev : devices_) {
    if (std::optional<Episode> e = dev.injector.TakeUnfinished()) Label(dev, *e);
  }
}

void FleetSimulator::AppendLabelJson(const Episode& e, std::string* out) const {
  const Device& dev = devices_[static_cast<size_t>(e.device)];
  char buf[64];
  std::snprintf(buf, sizeof(buf), "ep-%06lld", static_cast<long long>(e.id));
  out->append("{\"episode_id\":");
  AppendJsonString(buf, out);
  out->append(",\"kind\":");
  AppendJsonString(AnomalyKindName(e.kind), out);
  out->append(",\"device_id\":");
  AppendJsonString(dev.id, out);
  out->append(",\"metrics\":[");
  for (size_t i = 0; i < e.metrics.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(dev.names[static_cast<size_t>(e.metrics[i])], out);
  }
  out->append("],\"start_ts_ms\":").append(std::to_string(e.start_ts_ms));
  out->append(",\"end_ts_ms\":").append(std::to_string(e.end_ts_ms));
  char ts[kRfc3339Size];
  FormatRfc3339Ms(e.start_ts_ms, ts);
  out->append(",\"start_ts\":\"").append(ts, kRfc3339Size);
  FormatRfc3339Ms(e.end_ts_ms, ts);
  out->append("\",\"end_ts\":\"").append(ts, kRfc3339Size);
  out->append("\",\"magnitude\":");
  AppendNumber(e.magnitude, 2, out);
  out->append(",\"event_ids\":[");
  for (size_t i = 0; i < e.event_ids.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(e.event_ids[i], out);
  }
  out->append("]}");
}

}  // namespace vigil::sim
