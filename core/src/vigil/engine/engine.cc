// The engine: per-device detector state and the score-then-learn loop.
#include "vigil/engine/engine.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "vigil/engine/engine_internal.h"
#include "vigil/engine/engine_impl_internal.h"

namespace vigil {

void VerdictBatch::Clear() {
  index.clear();
  score.clear();
  severity.clear();
  is_anomaly.clear();
  detector_mask.clear();
  top_metric.clear();
  observed.clear();
  expected_lo.clear();
  expected_hi.clear();
  explanation_json.clear();
}

void VerdictBatch::Resize(int64_t n) {
  index.resize(n);
  score.resize(n);
  severity.resize(n);
  is_anomaly.resize(n);
  detector_mask.resize(n);
  top_metric.assign(n, std::string());
  observed.resize(n);
  expected_lo.resize(n);
  expected_hi.resize(n);
  explanation_json.assign(n, std::string());
}

std::string DetectorMaskNames(uint32_t mask, const std::vector<std::string>& names) {
  std::string out;
  for (size_t j = 0; j < names.size() && j < 32; ++j) {
    if (!((mask >> j) & 1)) continue;
    if (!out.empty()) out.push_back(',');
    out += names[j];
  }
  return out;
}

namespace internal {

int64_t KeyDetectors::memory_bytes() const {
  int64_t b = static_cast<int64_t>(members.capacity() * sizeof(KeyMember));
  for (const KeyMember& m : members) b += m.detector ? m.detector->memory_bytes() : 0;
  return b;
}

int64_t DeviceState::memory_bytes() const {
  int64_t b = sizeof(DeviceState) + static_cast<int64_t>(device_class.capacity());
  for (const auto& m : metrics) b += sizeof(MetricState) + m.name.capacity() + m.univariate.memory_bytes();
  for (const auto& n : mv_names) b += sizeof(std::string) + n.capacity();
  b += mv_slots.capacity() * 4 + mv_values.capacity() * 8 + multivariate.memory_bytes() + since_fire.capacity() * 8;
  return b;
}

Result<std::unique_ptr<Engine>> EngineImpl::Create(const EngineOptions& options) {
  VIGIL_RETURN_NOT_OK(options.Validate());
  std::unique_ptr<EngineImpl> e(new EngineImpl(options));  // NOLINT: private constructor
  uint32_t bit = 0;
  std::string fingerprint;
  for (const MemberOptions& m : options.ensemble.members) {
    if (!m.enabled) continue;
    Member member;
    member.name = m.name;
    VIGIL_ASSIGN_OR_RAISE(member.factory, DetectorRegistry::Global()->MakeFactory(m.name, m.params));
    member.kind = member.factory->kind();
    member.weight = m.weight;
    member.fire = m.fire_threshold > 0 ? m.fire_threshold : options.ensemble.fire_threshold;
    member.refractory = m.refractory;
    e->refractory_.push_back(static_cast<uint64_t>(m.refractory));
    if (m.refractory > 0) e->onset_only_ |= 1u << bit;
    member.calibration = m.has_calibration ? m.calibration : member.factory->default_calibration();
    member.bit = bit++;
    e->names_.push_back(m.name);
    fingerprint += m.name + "|" + std::to_string(m.weight) + "|" + std::to_string(int(member.calibration.kind)) + "|" +
                   std::to_string(member.calibration.center) + "|" + std::to_string(member.calibration.scale) + "|" +
                   std::to_string(member.calibration.warmup) + "|" + std::to_string(member.calibration.halflife) +
                   "|" + ParamsFingerprint(m.params) +
                   (m.fire_threshold > 0 ? "|fire " + std::to_string(m.fire_threshold) : std::string()) +
                   (m.refractory > 0 ? "|refractory " + std::to_string(m.refractory) : std::string()) + ";";
    (member.kind == DetectorKind::kUnivariate ? e->uni_ : e->multi_).push_back(std::move(member));
  }
  fingerprint += std::to_string(options.seed) + "|" + std::to_string(options.ensemble.threshold) + "|" +
                 std::to_string(options.ensemble.fire_threshold) + "|" + std::to_string(options.ensemble.min_fired) + "|" +
                 std::to_string(options.ensemble.smoothing) + "|" + std::to_string(options.ensemble.smoothed_threshold) +
                 "|" + std::to_string(options.max_metrics_per_device);
  if (options.ensemble.smoothed_release > 0) {  // versions without hysteresis stay as they were
    fingerprint += "|release " + std::to_string(options.ensemble.release());
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "vigil-%s/%08llx", VIGIL_VERSION,
                static_cast<unsigned long long>(Fnv1a(fingerprint) & 0xFFFFFFFFULL));
  e->version_ = buf;
  return std::unique_ptr<Engine>(std::move(e));
}

std::string EngineImpl::ParamsFingerprint(const Params& p) {
  if (p.is_scalar()) return p.scalar();
  std::string out = "{";
  for (const std::string& k : p.Keys()) out += k + ":" + ParamsFingerprint(*p.Find(k)) + ",";
  return out + "}";
}

DeviceState* EngineImpl::GetDevice(std::string_view device_id, std::string_view device_class) {
  auto it = devices_.find(device_id);
  if (it != devices_.end()) return it->second.get();
  auto state = std::make_unique<DeviceState>();
  state->device_class.assign(device_class);
  DeviceState* raw = state.get();
  devices_.emplace(std::string(device_id), std::move(state));
  return raw;
}

// A member's seed is Fnv1a(member, KeyPrefix(device, key)): the hash of
// "device\0key\0member" from a start derived from the engine seed.
uint64_t EngineImpl::KeyPrefix(std::string_view device_id, std::string_view key) const {
  uint64_t h = Fnv1a(device_id, options_.seed * 0x9E3779B97F4A7C15ULL + 1469598103934665603ULL);
  h = Fnv1a(std::string_view("\0", 1), h);
  h = Fnv1a(key, h);
  return Fnv1a(std::string_view("\0", 1), h);
}

Status EngineImpl::InitMember(const Member& m, DetectorContext ctx, uint64_t prefix, KeyMember* out) const {
  ctx.seed = Fnv1a(m.name, prefix);
  VIGIL_ASSIGN_OR_RAISE(out->detector, m.factory->Create(ctx));
  out->calibrator = Calibrator(&m.calibration);
  return Status::OK();
}

Status EngineImpl::InitKey(const std::vector<Member>& members, const DetectorContext& base,
                           std::string_view device_id, std::string_view key, KeyDetectors* out) const {
  const uint64_t prefix = KeyPrefix(device_id, key);
  out->members.clear();
  out->members.resize(members.size());
  for (size_t j = 0; j < members.size(); ++j) {
    VIGIL_RETURN_NOT_OK(InitMember(members[j], base, prefix, &out->members[j]));
  }
  return Status::OK();
}

Result<int32_t> EngineImpl::Slot(DeviceState* dev, std::string_view device_id, std::string_view metric,
                                 size_t position) {
  auto& ms = dev->metrics;
  if (position < ms.size() && ms[position].name == metric) return static_cast<int32_t>(position);
  for (size_t s = 0; s < ms.size(); ++s) {
    if (ms[s].name == metric) return static_cast<int32_t>(s);
  }
  if (static_cast<int32_t>(ms.size()) >= options_.max_metrics_per_device) return -1;
  MetricState m;
  m.name.assign(metric);
  const std::string names[1] = {m.name};
  DetectorContext ctx{dev->device_class, names, 0};
  VIGIL_RETURN_NOT_OK(InitKey(uni_, ctx, device_id, metric, &m.univariate));
  ms.push_back(std::move(m));
  return static_cast<int32_t>(ms.size() - 1);
}

Status EngineImpl::InitMultivariate(DeviceState* dev, std::string_view device_id) {
  dev->has_multivariate = true;
  std::vector<std::pair<std::string, int32_t>> dims;
  for (size_t s = 0; s < dev->metrics.size(); ++s) dims.emplace_back(dev->metrics[s].name, static_cast<int32_t>(s));
  std::sort(dims.begin(), dims.end());
  dev->mv_names.clear();
  dev->mv_slots.clear();
  for (auto& [name, slot] : dims) {
    dev->mv_names.push_back(name);
    dev->mv_slots.push_back(slot);
  }
  dev->mv_values.assign(dims.size(), 0.0);
  DetectorContext ctx{dev->device_class, dev->mv_names, 0};
  return InitKey(multi_, ctx, device_id, std::string_view(), &dev->multivariate);
}

}  // namespace internal

Result<std::unique_ptr<Engine>> Engine::Make(const EngineOptions& options) {
  return internal::EngineImpl::Create(options);
}

}  // namespace vigil
