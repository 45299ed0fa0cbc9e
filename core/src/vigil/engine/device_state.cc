// Device state blobs. Layout (field ids are stable; see vigil/state/state.h):
//
//   device:     1 layout version, 2 device_class, 3 events, 4 metric (repeated),
//               5 multivariate, 6 smoothed score, 7 collective alarm on,
//               8 events since each member last fired, capped at its refractory period,
//               9 detector mask the collective alarm last reported
//   metric:     1 name, 2 last_value, 3 has_value, 4 detectors
//   multivariate: 1 dimension name (repeated), 2 values, 3 detectors
//   detectors:  1 member (repeated): 1 name, 2 state version, 3 state, 4 calibrator
//   SaveAll:    1 layout version, 2 device (repeated): 1 device_id, 2 device
//
// Detectors are matched by member name: a member missing from a blob starts
// fresh, a blob member no longer configured is skipped.
#include <algorithm>
#include <string>

#include "vigil/engine/engine_impl_internal.h"

namespace vigil::internal {

void EngineImpl::WriteKey(const std::vector<Member>& members, const KeyDetectors& k, StateWriter* w) const {
  for (size_t j = 0; j < members.size(); ++j) {
    if (!k.detectors[j]) continue;
    w->BeginObject(1);
    w->WriteString(1, members[j].name);
    w->WriteUInt(2, members[j].factory->state_version());
    w->BeginObject(3);
    Status st = k.detectors[j]->SerializeTo(w);
    VIGIL_DCHECK(st.ok(), "serializing detector state cannot fail");
    (void)st;
    w->EndObject();
    if (k.calibrators[j].stateful()) {
      w->BeginObject(4);
      k.calibrators[j].SerializeTo(w);
      w->EndObject();
    }
    w->EndObject();
  }
}

Status EngineImpl::ReadKey(const std::vector<Member>& members, StateReader* r, KeyDetectors* k) const {
  while (r->Has(1)) {
    VIGIL_ASSIGN_OR_RAISE(StateReader m, r->ReadObject(1));
    std::string name;
    uint64_t version = 0;
    VIGIL_RETURN_NOT_OK(m.ReadString(1, &name));
    VIGIL_RETURN_NOT_OK(m.ReadUInt(2, &version));
    auto it = std::find_if(members.begin(), members.end(), [&](const Member& x) { return x.name == name; });
    if (it == members.end()) continue;  // no longer configured
    const size_t j = static_cast<size_t>(it - members.begin());
    if (!k->detectors[j]) continue;  // no longer applies to this key
    if (version != it->factory->state_version()) {
      return Status::Unsupported("detector '" + name + "' state version " + std::to_string(version) +
                                 " (this build reads " + std::to_string(it->factory->state_version()) + ")");
    }
    VIGIL_ASSIGN_OR_RAISE(StateReader s, m.ReadObject(3));
    Status st = k->detectors[j]->DeserializeFrom(&s);
    if (!st.ok()) return st.WithContext("detector '" + name + "'");
    if (m.Has(4)) {
      VIGIL_ASSIGN_OR_RAISE(StateReader c, m.ReadObject(4));
      VIGIL_RETURN_NOT_OK(k->calibrators[j].DeserializeFrom(&c));
    }
  }
  return Status::OK();
}

void EngineImpl::WriteDevice(const DeviceState& dev, StateWriter* w) const {
  w->WriteUInt(1, kDeviceStateVersion);
  w->WriteString(2, dev.device_class);
  w->WriteUInt(3, dev.events);
  for (const MetricState& m : dev.metrics) {
    w->BeginObject(4);
    w->WriteString(1, m.name);
    w->WriteDouble(2, m.last_value);
    w->WriteBool(3, m.has_value);
    w->BeginObject(4);
    WriteKey(uni_, m.univariate, w);
    w->EndObject();
    w->EndObject();
  }
  if (dev.has_multivariate) {
    w->BeginObject(5);
    for (const std::string& n : dev.mv_names) w->WriteString(1, n);
    w->WriteDoubles(2, dev.mv_values);
    w->BeginObject(3);
    WriteKey(multi_, dev.multivariate, w);
    w->EndObject();
    w->EndObject();
  }
  w->WriteDouble(6, dev.smoothed);
  if (dev.collective) w->WriteBool(7, true);  // absent = off: blobs stay as they were without hysteresis
  // Absent = every member quiet (always so without refractory periods: blobs stay as they were).
  if (!dev.since_fire.empty() && dev.since_fire != refractory_) w->WriteUInts(8, dev.since_fire);
  // Absent while no collective alarm is on (blobs stay as they were).
  if (dev.collective && dev.collective_mask != 0) w->WriteUInt(9, dev.collective_mask);
}

Status EngineImpl::ReadDevice(std::string_view device_id, StateReader* r, std::unique_ptr<DeviceState>* out) const {
  uint64_t version = 0;
  VIGIL_RETURN_NOT_OK(r->ReadUInt(1, &version));
  if (version != kDeviceStateVersion) {
    return Status::Unsupported("device state layout version " + std::to_string(version) + " (this build reads " +
                               std::to_string(kDeviceStateVersion) + ")");
  }
  auto dev = std::make_unique<DeviceState>();
  VIGIL_RETURN_NOT_OK(r->ReadString(2, &dev->device_class));
  VIGIL_RETURN_NOT_OK(r->ReadUInt(3, &dev->events));
  while (r->Has(4)) {
    VIGIL_ASSIGN_OR_RAISE(StateReader mr, r->ReadObject(4));
    MetricState m;
    VIGIL_RETURN_NOT_OK(mr.ReadString(1, &m.name));
    VIGIL_RETURN_NOT_OK(mr.ReadDouble(2, &m.last_value));
    VIGIL_RETURN_NOT_OK(mr.ReadBool(3, &m.has_value));
    for (const MetricState& other : dev->metrics) {
      if (other.name == m.name) return Status::Corrupt("device state lists metric '" + m.name + "' twice");
    }
    if (static_cast<int32_t>(dev->metrics.size()) >= options_.max_metrics_per_device) {
      return Status::Invalid("device state has more metrics than max_metrics_per_device");
    }
    const std::string names[1] = {m.name};
    VIGIL_RETURN_NOT_OK(InitKey(uni_, DetectorContext{dev->device_class, names, 0}, device_id, m.name, &m.univariate));
    VIGIL_ASSIGN_OR_RAISE(StateReader kr, mr.ReadObject(4));
    VIGIL_RETURN_NOT_OK(ReadKey(uni_, &kr, &m.univariate));
    dev->metrics.push_back(std::move(m));
  }
  if (r->Has(5)) {
    VIGIL_ASSIGN_OR_RAISE(StateReader mv, r->ReadObject(5));
    dev->has_multivariate = true;
    while (mv.Has(1)) {
      std::string n;
      VIGIL_RETURN_NOT_OK(mv.ReadString(1, &n));
      auto it = std::find_if(dev->metrics.begin(), dev->metrics.end(), [&](const MetricState& m) { return m.name == n; });
      if (it == dev->metrics.end()) return Status::Corrupt("device state: dimension '" + n + "' is not a metric");
      dev->mv_names.push_back(std::move(n));
      dev->mv_slots.push_back(static_cast<int32_t>(it - dev->metrics.begin()));
    }
    VIGIL_RETURN_NOT_OK(mv.ReadDoubles(2, &dev->mv_values));
    if (dev->mv_values.size() != dev->mv_names.size()) {
      return Status::Corrupt("device state: multivariate values and dimensions differ in number");
    }
    VIGIL_RETURN_NOT_OK(
        InitKey(multi_, DetectorContext{dev->device_class, dev->mv_names, 0}, device_id, {}, &dev->multivariate));
    VIGIL_ASSIGN_OR_RAISE(StateReader kr, mv.ReadObject(3));
    VIGIL_RETURN_NOT_OK(ReadKey(multi_, &kr, &dev->multivariate));
  }
  if (r->Has(6)) {  // absent in blobs written before the collective path existed
    VIGIL_RETURN_NOT_OK(r->ReadDouble(6, &dev->smoothed));
    if (!(dev->smoothed >= 0 && dev->smoothed <= 1)) return Status::Corrupt("device state: smoothed score out of [0,1]");
  }
  // Absent: off (blobs written before the hysteresis, or while no collective alarm was on).
  if (r->Has(7)) VIGIL_RETURN_NOT_OK(r->ReadBool(7, &dev->collective));
  if (r->Has(8)) {
    VIGIL_RETURN_NOT_OK(r->ReadUInts(8, &dev->since_fire));
    if (dev->since_fire.size() != refractory_.size()) {
      dev->since_fire.clear();  // written with other members: every member starts quiet
    } else {
      for (size_t b = 0; b < refractory_.size(); ++b) dev->since_fire[b] = std::min(dev->since_fire[b], refractory_[b]);
    }
  }
  if (r->Has(9) && dev->collective) {  // absent: written before it existed, or no alarm on
    uint64_t mask = 0;
    VIGIL_RETURN_NOT_OK(r->ReadUInt(9, &mask));
    // Bits of members no longer configured are dropped.
    const uint64_t valid = names_.size() >= 32 ? 0xffffffffULL : (1ULL << names_.size()) - 1;
    dev->collective_mask = static_cast<uint32_t>(mask & valid);
  }
  *out = std::move(dev);
  return Status::OK();
}

Result<std::string> EngineImpl::SaveDevice(std::string_view device_id) const {
  auto it = devices_.find(device_id);
  if (it == devices_.end()) return Status::NotFound("no state for device '" + std::string(device_id) + "'");
  StateWriter w;
  WriteDevice(*it->second, &w);
  return w.Finish();
}

Status EngineImpl::LoadDevice(std::string_view device_id, std::string_view blob) {
  VIGIL_ASSIGN_OR_RAISE(StateReader r, StateReader::Open(blob));
  std::unique_ptr<DeviceState> dev;
  Status st = ReadDevice(device_id, &r, &dev);
  if (!st.ok()) return st.WithContext("device '" + std::string(device_id) + "'");
  devices_[std::string(device_id)] = std::move(dev);
  return Status::OK();
}

std::string EngineImpl::SaveAll() const {
  std::vector<std::string_view> ids;
  ids.reserve(devices_.size());
  for (const auto& [id, d] : devices_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // deterministic blobs
  StateWriter w;
  w.WriteUInt(1, kDeviceStateVersion);
  for (std::string_view id : ids) {
    w.BeginObject(2);
    w.WriteString(1, id);
    w.BeginObject(2);
    WriteDevice(*devices_.find(id)->second, &w);
    w.EndObject();
    w.EndObject();
  }
  return w.Finish();
}

Status EngineImpl::LoadAll(std::string_view blob) {
  VIGIL_ASSIGN_OR_RAISE(StateReader r, StateReader::Open(blob));
  uint64_t version = 0;
  VIGIL_RETURN_NOT_OK(r.ReadUInt(1, &version));
  if (version != kDeviceStateVersion) {
    return Status::Unsupported("engine state layout version " + std::to_string(version) + " (this build reads " +
                               std::to_string(kDeviceStateVersion) + ")");
  }
  // Decode everything first so that a corrupt blob leaves the engine unchanged.
  std::vector<std::pair<std::string, std::unique_ptr<DeviceState>>> loaded;
  while (r.Has(2)) {
    VIGIL_ASSIGN_OR_RAISE(StateReader e, r.ReadObject(2));
    std::string id;
    VIGIL_RETURN_NOT_OK(e.ReadString(1, &id));
    VIGIL_ASSIGN_OR_RAISE(StateReader d, e.ReadObject(2));
    std::unique_ptr<DeviceState> dev;
    Status st = ReadDevice(id, &d, &dev);
    if (!st.ok()) return st.WithContext("device '" + id + "'");
    loaded.emplace_back(std::move(id), std::move(dev));
  }
  for (auto& [id, dev] : loaded) devices_[id] = std::move(dev);
  return Status::OK();
}

}  // namespace vigil::internal
