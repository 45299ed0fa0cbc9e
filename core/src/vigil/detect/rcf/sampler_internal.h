// One tree's time-decayed reservoir sampler (AWS RCF's CompactSampler).
//
// Each arriving point gets the weight  log(-log(u)) - lambda * t  (u uniform,
// t its sequence index): recent points weigh less, and the sampler keeps the
// `capacity` lowest weights in a max-heap. A point is accepted if its weight
// is below the heap's top (which is then evicted) or, while the sampler is
// not full, with the probability set by the initial accept fraction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vigil/detect/rcf/random_internal.h"

namespace vigil::internal {

class ReservoirSampler {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  /// \brief The outcome of offering a point.
  struct Decision {
    bool accepted = false;
    float weight = 0.0f;
    uint32_t evicted = kNone;  ///< point index evicted to make room, if any
  };

  ReservoirSampler() = default;
  explicit ReservoirSampler(int capacity) : capacity_(capacity) {
    weight_.reserve(static_cast<size_t>(capacity));
    point_.reserve(static_cast<size_t>(capacity));
  }

  /// \brief Decide whether the point with decayed age `decayed_age` (lambda * t,
  /// relative to the forest's weight base) enters the sample. On acceptance the
  /// evicted entry (if any) is already removed; call Add() with the point index.
  Decision Offer(double decayed_age, double initial_accept_fraction, RcfRandom* rng);

  /// \brief Insert an accepted point with the weight returned by Offer().
  void Add(float weight, uint32_t point);

  /// \brief Subtract `delta` from every weight (keeps weights near zero on long streams).
  void Rebase(double delta);

  int size() const { return static_cast<int>(weight_.size()); }
  int capacity() const { return capacity_; }
  bool full() const { return size() >= capacity_; }
  const std::vector<float>& weights() const { return weight_; }
  const std::vector<uint32_t>& points() const { return point_; }

  /// \brief Replace the content (state loading); the caller validates it with IsHeap().
  void Assign(std::vector<float> weights, std::vector<uint32_t> points) {
    weight_ = std::move(weights);
    point_ = std::move(points);
  }
  /// \brief Whether the entries form a valid max-heap on weight.
  bool IsHeap() const;

 private:
  void SiftUp(int i);
  void SiftDown(int i);
  void Swap(int a, int b);

  int capacity_ = 0;
  std::vector<float> weight_;   // max-heap on weight
  std::vector<uint32_t> point_;
};

}  // namespace vigil::internal
