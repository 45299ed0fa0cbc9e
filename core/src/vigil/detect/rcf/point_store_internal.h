// The forest's shared point store: every shingled point sampled by at least
// one tree lives here once, with a reference count (one per sampler entry).
//
// Points are rows of `stride` floats (the tree dimension padded with zeros to
// a multiple of kLanes so that box arithmetic vectorizes). Freed rows are
// reused; the arrays only grow until the forest reaches its steady state, so
// the update path does not allocate once warm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vigil::internal {

/// \brief Width of the unrolled float loops; strides are a multiple of it.
inline constexpr int kLanes = 8;

/// \brief Round a dimension up to the padded stride.
inline int PaddedStride(int dims) { return (dims + kLanes - 1) / kLanes * kLanes; }

class PointStore {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  PointStore() = default;
  PointStore(int dims, int stride) : dims_(dims), stride_(stride) {}

  /// \brief Store a copy of `x` (stride floats) with `refs` references; return its index.
  uint32_t Add(const float* x, uint32_t refs, uint64_t sequence);

  void AddRef(uint32_t index) { ++refs_[index]; }

  /// \brief Drop one reference; the row is freed when none remain.
  void Release(uint32_t index) {
    if (--refs_[index] == 0) free_.push_back(index);
  }

  const float* Get(uint32_t index) const { return data_.data() + static_cast<size_t>(index) * stride_; }
  uint32_t refs(uint32_t index) const { return refs_[index]; }
  uint64_t sequence(uint32_t index) const { return sequence_[index]; }

  /// \brief Number of rows ever allocated (live or free).
  uint32_t rows() const { return static_cast<uint32_t>(refs_.size()); }
  /// \brief Number of rows holding a live point.
  uint32_t live() const { return rows() - static_cast<uint32_t>(free_.size()); }
  int dims() const { return dims_; }
  int stride() const { return stride_; }
  /// \brief Bytes of heap memory held.
  size_t MemoryBytes() const;

 private:
  int dims_ = 0;
  int stride_ = 0;
  std::vector<float> data_;
  std::vector<uint32_t> refs_;
  std::vector<uint64_t> sequence_;
  std::vector<uint32_t> free_;
};

}  // namespace vigil::internal
