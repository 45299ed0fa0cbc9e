// The Engine implementation class (engine.cc, process.cc, device_state.cc).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vigil/engine/engine.h"
#include "vigil/engine/engine_internal.h"

namespace vigil::internal {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class EngineImpl final : public Engine {
 public:
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options);

  Status Process(const EventBatch& batch, VerdictBatch* out) override;
  Status ProcessRows(const EventBatch& batch, std::span<const uint32_t> rows, VerdictBatch* out) override;
  Result<std::string> SaveDevice(std::string_view device_id) const override;
  Status LoadDevice(std::string_view device_id, std::string_view blob) override;
  std::string SaveAll() const override;
  Status LoadAll(std::string_view blob) override;
  bool EraseDevice(std::string_view device_id) override {
    auto it = devices_.find(device_id);
    if (it == devices_.end()) return false;
    devices_.erase(it);
    return true;
  }
  /// Cleared devices are kept (recycled_) until the next LoadAll, Process or Clear:
  /// LoadAll reuses the objects of the devices it loads (the Spark job clears its
  /// engine and loads the blob it saved, so every device is there again).
  void Clear() override {
    recycled_.clear();
    recycled_.swap(devices_);
  }
  int64_t num_devices() const override { return static_cast<int64_t>(devices_.size()); }
  int64_t memory_bytes() const override {
    int64_t b = 0;
    for (const DeviceMap* m : {&devices_, &recycled_}) {
      for (const auto& [id, d] : *m) b += static_cast<int64_t>(id.capacity() + 32) + d->memory_bytes();
    }
    return b;
  }
  const std::vector<std::string>& detector_names() const override { return names_; }
  const std::string& detector_version() const override { return version_; }

 private:
  explicit EngineImpl(const EngineOptions& o) : Engine(o) {}

  static std::string ParamsFingerprint(const Params& p);
  DeviceState* GetDevice(std::string_view device_id, std::string_view device_class);
  uint64_t KeyPrefix(std::string_view device_id, std::string_view key) const;
  Status InitMember(const Member& m, DetectorContext ctx, uint64_t prefix, KeyMember* out) const;
  Status InitKey(const std::vector<Member>& members, const DetectorContext& base, std::string_view device_id,
                 std::string_view key, KeyDetectors* out) const;
  Result<int32_t> Slot(DeviceState* dev, std::string_view device_id, std::string_view metric, size_t position);
  Status InitMultivariate(DeviceState* dev, std::string_view device_id);
  // Rows rows[0..n) of batch (rows == nullptr: rows 0..n), device by device.
  Status ProcessEvents(const EventBatch& batch, const uint32_t* rows, int64_t n, VerdictBatch* out);
  // Event `i` of batch; its verdict goes to position `at` of out.
  Status ProcessEvent(const EventBatch& batch, int64_t i, int64_t at, DeviceState* dev, VerdictBatch* out);

  // Device blobs (device_state.cc).
  void WriteDevice(const DeviceState& dev, StateWriter* w) const;
  // Into `dev`, fresh or recycled: what is kept of a recycled device is overwritten.
  Status ReadDevice(std::string_view device_id, StateReader* r, DeviceState* dev) const;
  void WriteKey(const std::vector<Member>& members, const KeyDetectors& k, StateWriter* w) const;
  // `k` holds a detector per member (from InitKey, or recycled for the same key and
  // class when `recycled`: members the blob lacks are then made fresh again).
  Status ReadKey(const std::vector<Member>& members, StateReader* r, const DetectorContext& ctx,
                 std::string_view device_id, std::string_view key, bool recycled, KeyDetectors* k) const;

  std::vector<Member> uni_;
  std::vector<Member> multi_;
  std::vector<std::string> names_;
  uint32_t onset_only_ = 0;           ///< bits of the members with a refractory period
  std::vector<uint64_t> refractory_;  ///< per member bit
  std::string version_;
  using DeviceMap = std::unordered_map<std::string, std::unique_ptr<DeviceState>, StringHash, std::equal_to<>>;
  DeviceMap devices_;
  DeviceMap recycled_;                ///< cleared devices, for LoadAll to reuse
  mutable size_t save_bytes_ = 0;     ///< size of the last SaveAll, to size the next one

  // Scratch reused across events.
  std::vector<int32_t> slots_;
  std::vector<double> raw_;       // [metric k][uni member j]
  std::vector<double> metric_p_;  // per metric of the event
  std::vector<double> weighted_;
  std::vector<double> mv_raw_;
  // Process's grouping of a batch by device (process.cc).
  uint64_t batch_generation_ = 0;
  std::vector<DeviceState*> event_dev_;
  std::vector<uint32_t> event_group_;
  std::vector<uint32_t> group_start_;
  std::vector<uint32_t> event_order_;
};

}  // namespace vigil::internal
