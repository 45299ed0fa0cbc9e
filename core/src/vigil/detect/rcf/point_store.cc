#include "vigil/detect/rcf/point_store_internal.h"

#include <algorithm>

namespace vigil::internal {

uint32_t PointStore::Add(const float* x, uint32_t refs, uint64_t sequence) {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = rows();
    refs_.push_back(0);
    sequence_.push_back(0);
    data_.resize(data_.size() + static_cast<size_t>(stride_));
  }
  std::copy(x, x + stride_, data_.begin() + static_cast<ptrdiff_t>(index) * stride_);
  refs_[index] = refs;
  sequence_[index] = sequence;
  return index;
}

size_t PointStore::MemoryBytes() const {
  return data_.capacity() * sizeof(float) + refs_.capacity() * sizeof(uint32_t) +
         sequence_.capacity() * sizeof(uint64_t) + free_.capacity() * sizeof(uint32_t);
}

}  // namespace vigil::internal
