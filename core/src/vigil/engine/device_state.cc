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
//
// Loading reuses what it can: a device cleared by Clear() and loaded again keeps
// its objects (metrics, detectors, vectors) when the blob has the same device
// class, metric names and dimensions, and only their learned state is read over
// them; SaveAll sizes its buffer from the last blob. Nothing of the layout depends
// on that: every field is read or reset as for a fresh device.
#include <algorithm>
#include <string>

#include "vigil/engine/engine_impl_internal.h"

namespace vigil::internal {

void EngineImpl::WriteKey(const std::vector<Member>& members, const KeyDetectors& k, StateWriter* w) const {
  for (size_t j = 0; j < members.size(); ++j) {
    const KeyMember& km = k.members[j];
    if (!km.detector) continue;
    w->BeginObject(1);
    w->WriteString(1, members[j].name);
    w->WriteUInt(2, members[j].factory->state_version());
    w->BeginObject(3);
    Status st = km.detector->SerializeTo(w);
    VIGIL_DCHECK(st.ok(), "serializing detector state cannot fail");
    (void)st;
    w->EndObject();
    if (km.calibrator.stateful()) {
      w->BeginObject(4);
      km.calibrator.SerializeTo(w);
      w->EndObject();
    }
    w->EndObject();
  }
}

Status EngineImpl::ReadKey(const std::vector<Member>& members, StateReader* r, const DetectorContext& ctx,
                           std::string_view device_id, std::string_view key, bool recycled,
                           KeyDetectors* k) const {
  uint64_t read = 0;  // bit j: member j's state was in the blob
  size_t next = 0;    // members are written in order: try the next one first
  while (r->Has(1)) {
    VIGIL_ASSIGN_OR_RAISE(StateReader m, r->ReadObject(1));
    std::string_view name;
    uint64_t version = 0;
    VIGIL_RETURN_NOT_OK(m.ReadStringView(1, &name));
    VIGIL_RETURN_NOT_OK(m.ReadUInt(2, &version));
    size_t j = next;
    if (j >= members.size() || members[j].name != name) {
      j = static_cast<size_t>(std::find_if(members.begin(), members.end(), [&](const Member& x) { return x.name == name; }) -
                              members.begin());
      if (j == members.size()) continue;  // no longer configured
    }
    next = j + 1;
    KeyMember& km = k->members[j];
    if (!km.detector) continue;  // no longer applies to this key
    if (version != members[j].factory->state_version()) {
      return Status::Unsupported("detector '" + std::string(name) + "' state version " + std::to_string(version) +
                                 " (this build reads " + std::to_string(members[j].factory->state_version()) + ")");
    }
    VIGIL_ASSIGN_OR_RAISE(StateReader s, m.ReadObject(3));
    Status st = km.detector->DeserializeFrom(&s);
    if (!st.ok()) return st.WithContext("detector '" + std::string(name) + "'");
    if (m.Has(4)) {
      VIGIL_ASSIGN_OR_RAISE(StateReader c, m.ReadObject(4));
      VIGIL_RETURN_NOT_OK(km.calibrator.DeserializeFrom(&c));
    } else {
      km.calibrator = Calibrator(&members[j].calibration);
    }
    read |= uint64_t{1} << j;
  }
  if (recycled) {  // a recycled detector the blob did not overwrite holds another state
    const uint64_t prefix = KeyPrefix(device_id, key);
    for (size_t j = 0; j < members.size(); ++j) {
      if ((read >> j & 1) == 0 && k->members[j].detector) {
        VIGIL_RETURN_NOT_OK(InitMember(members[j], ctx, prefix, &k->members[j]));
      }
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

Status EngineImpl::ReadDevice(std::string_view device_id, StateReader* r, DeviceState* dev) const {
  uint64_t version = 0;
  VIGIL_RETURN_NOT_OK(r->ReadUInt(1, &version));
  if (version != kDeviceStateVersion) {
    return Status::Unsupported("device state layout version " + std::to_string(version) + " (this build reads " +
                               std::to_string(kDeviceStateVersion) + ")");
  }
  std::string_view device_class;
  VIGIL_RETURN_NOT_OK(r->ReadStringView(2, &device_class));
  const bool recycled_mv = dev->has_multivariate && !dev->multivariate.members.empty();
  if (dev->device_class != device_class) {  // detectors depend on the class (rules): none is kept
    dev->device_class.assign(device_class);
    dev->metrics.clear();
    dev->multivariate.members.clear();
  }
  VIGIL_RETURN_NOT_OK(r->ReadUInt(3, &dev->events));
  size_t count = 0;
  while (r->Has(4)) {
    VIGIL_ASSIGN_OR_RAISE(StateReader mr, r->ReadObject(4));
    std::string_view name;
    VIGIL_RETURN_NOT_OK(mr.ReadStringView(1, &name));
    for (size_t s = 0; s < count; ++s) {
      if (dev->metrics[s].name == name) {
        return Status::Corrupt("device state lists metric '" + std::string(name) + "' twice");
      }
    }
    if (static_cast<int32_t>(count) >= options_.max_metrics_per_device) {
      return Status::Invalid("device state has more metrics than max_metrics_per_device");
    }
    if (count == dev->metrics.size()) dev->metrics.emplace_back();
    MetricState& m = dev->metrics[count++];
    VIGIL_RETURN_NOT_OK(mr.ReadDouble(2, &m.last_value));
    VIGIL_RETURN_NOT_OK(mr.ReadBool(3, &m.has_value));
    const bool recycled = m.name == name && !m.univariate.members.empty();
    const DetectorContext ctx{dev->device_class, std::span<const std::string>(&m.name, 1), 0};
    if (!recycled) {
      m.name.assign(name);
      VIGIL_RETURN_NOT_OK(InitKey(uni_, ctx, device_id, m.name, &m.univariate));
    }
    VIGIL_ASSIGN_OR_RAISE(StateReader kr, mr.ReadObject(4));
    VIGIL_RETURN_NOT_OK(ReadKey(uni_, &kr, ctx, device_id, m.name, recycled, &m.univariate));
  }
  dev->metrics.resize(count);
  if (r->Has(5)) {
    VIGIL_ASSIGN_OR_RAISE(StateReader mv, r->ReadObject(5));
    bool same = recycled_mv && !dev->multivariate.members.empty();  // same class, so far
    size_t dims = 0;
    while (mv.Has(1)) {
      std::string_view n;
      VIGIL_RETURN_NOT_OK(mv.ReadStringView(1, &n));
      auto it = std::find_if(dev->metrics.begin(), dev->metrics.end(), [&](const MetricState& m) { return m.name == n; });
      if (it == dev->metrics.end()) {
        return Status::Corrupt("device state: dimension '" + std::string(n) + "' is not a metric");
      }
      const int32_t slot = static_cast<int32_t>(it - dev->metrics.begin());
      if (dims < dev->mv_names.size()) {
        if (dev->mv_names[dims] != n) {
          same = false;
          dev->mv_names[dims].assign(n);
        }
        dev->mv_slots[dims] = slot;
      } else {
        same = false;
        dev->mv_names.emplace_back(n);
        dev->mv_slots.push_back(slot);
      }
      ++dims;
    }
    if (dims != dev->mv_names.size()) same = false;
    dev->mv_names.resize(dims);
    dev->mv_slots.resize(dims);
    VIGIL_RETURN_NOT_OK(mv.ReadDoubles(2, &dev->mv_values));
    if (dev->mv_values.size() != dev->mv_names.size()) {
      return Status::Corrupt("device state: multivariate values and dimensions differ in number");
    }
    const DetectorContext ctx{dev->device_class, dev->mv_names, 0};
    if (!same) VIGIL_RETURN_NOT_OK(InitKey(multi_, ctx, device_id, {}, &dev->multivariate));
    VIGIL_ASSIGN_OR_RAISE(StateReader kr, mv.ReadObject(3));
    VIGIL_RETURN_NOT_OK(ReadKey(multi_, &kr, ctx, device_id, {}, same, &dev->multivariate));
    dev->has_multivariate = true;
  } else {
    dev->has_multivariate = false;
    dev->mv_names.clear();
    dev->mv_slots.clear();
    dev->mv_values.clear();
    dev->multivariate.members.clear();
  }
  dev->smoothed = 0;
  if (r->Has(6)) {  // absent in blobs written before the collective path existed
    VIGIL_RETURN_NOT_OK(r->ReadDouble(6, &dev->smoothed));
    if (!(dev->smoothed >= 0 && dev->smoothed <= 1)) return Status::Corrupt("device state: smoothed score out of [0,1]");
  }
  // Absent: off (blobs written before the hysteresis, or while no collective alarm was on).
  dev->collective = false;
  if (r->Has(7)) VIGIL_RETURN_NOT_OK(r->ReadBool(7, &dev->collective));
  dev->since_fire.clear();
  if (r->Has(8)) {
    VIGIL_RETURN_NOT_OK(r->ReadUInts(8, &dev->since_fire));
    if (dev->since_fire.size() != refractory_.size()) {
      dev->since_fire.clear();  // written with other members: every member starts quiet
    } else {
      for (size_t b = 0; b < refractory_.size(); ++b) dev->since_fire[b] = std::min(dev->since_fire[b], refractory_[b]);
    }
  }
  dev->collective_mask = 0;
  if (r->Has(9) && dev->collective) {  // absent: written before it existed, or no alarm on
    uint64_t mask = 0;
    VIGIL_RETURN_NOT_OK(r->ReadUInt(9, &mask));
    // Bits of members no longer configured are dropped.
    const uint64_t valid = names_.size() >= 32 ? 0xffffffffULL : (1ULL << names_.size()) - 1;
    dev->collective_mask = static_cast<uint32_t>(mask & valid);
  }
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
  auto dev = std::make_unique<DeviceState>();
  Status st = ReadDevice(device_id, &r, dev.get());
  if (!st.ok()) return st.WithContext("device '" + std::string(device_id) + "'");
  devices_.insert_or_assign(std::string(device_id), std::move(dev));
  return Status::OK();
}

std::string EngineImpl::SaveAll() const {
  std::vector<std::pair<std::string_view, const DeviceState*>> ids;
  ids.reserve(devices_.size());
  for (const auto& [id, d] : devices_) ids.emplace_back(id, d.get());
  std::sort(ids.begin(), ids.end(), [](const auto& a, const auto& b) { return a.first < b.first; });  // deterministic
  StateWriter w;
  w.Reserve(save_bytes_ + save_bytes_ / 8);
  w.WriteUInt(1, kDeviceStateVersion);
  for (const auto& [id, dev] : ids) {
    w.BeginObject(2);
    w.WriteString(1, id);
    w.BeginObject(2);
    WriteDevice(*dev, &w);
    w.EndObject();
    w.EndObject();
  }
  save_bytes_ = w.size();
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
  // Decode everything first so that a corrupt blob leaves the engine unchanged
  // (recycled devices taken so far are dropped then).
  struct Loaded {
    DeviceMap::node_type node;  // a recycled device's map node (its id), or empty
    std::string_view id;
    std::unique_ptr<DeviceState> dev;
  };
  std::vector<Loaded> loaded;
  loaded.reserve(recycled_.size());
  while (r.Has(2)) {
    VIGIL_ASSIGN_OR_RAISE(StateReader e, r.ReadObject(2));
    Loaded l;
    VIGIL_RETURN_NOT_OK(e.ReadStringView(1, &l.id));
    VIGIL_ASSIGN_OR_RAISE(StateReader d, e.ReadObject(2));
    auto it = recycled_.find(l.id);
    if (it != recycled_.end()) {
      l.node = recycled_.extract(it);
      l.dev = std::move(l.node.mapped());
    } else {
      l.dev = std::make_unique<DeviceState>();
    }
    Status st = ReadDevice(l.id, &d, l.dev.get());
    if (!st.ok()) return st.WithContext("device '" + std::string(l.id) + "'");
    loaded.push_back(std::move(l));
  }
  devices_.reserve(devices_.size() + loaded.size());
  for (Loaded& l : loaded) {
    if (l.node.empty()) {
      devices_.insert_or_assign(std::string(l.id), std::move(l.dev));
      continue;
    }
    l.node.mapped() = std::move(l.dev);
    auto res = devices_.insert(std::move(l.node));
    if (!res.inserted) res.position->second = std::move(res.node.mapped());  // replaces a device held
  }
  recycled_.clear();  // cleared devices that the blob does not hold
  return Status::OK();
}

}  // namespace vigil::internal
