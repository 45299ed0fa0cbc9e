#include "vigil/detect/rcf/sampler_internal.h"

#include <cmath>
#include <utility>

namespace vigil::internal {

ReservoirSampler::Decision ReservoirSampler::Offer(double decayed_age, double initial_accept_fraction,
                                                   RcfRandom* rng) {
  Decision decision;
  const double u = rng->NextOpenDouble();
  decision.weight = static_cast<float>(std::log(-std::log(u)) - decayed_age);
  if (!full()) {
    // While filling, admit the first initial_accept_fraction * capacity points
    // and then a decreasing fraction, so that trees diverge early (AWS
    // AbstractStreamSampler.compute_fraction).
    const double fill = static_cast<double>(size()) / capacity_;
    double admit = 1.0;
    if (fill >= initial_accept_fraction) {
      admit = initial_accept_fraction >= 1.0
                  ? 0.0
                  : 1.0 - (fill - initial_accept_fraction) / (1.0 - initial_accept_fraction);
    }
    if (rng->NextDouble() < admit) {
      decision.accepted = true;
      return decision;
    }
  }
  if (size() > 0 && decision.weight < weight_[0]) {
    decision.accepted = true;
    decision.evicted = point_[0];
    const int last = size() - 1;
    Swap(0, last);
    weight_.pop_back();
    point_.pop_back();
    if (size() > 0) SiftDown(0);
  }
  return decision;
}

void ReservoirSampler::Add(float weight, uint32_t point) {
  weight_.push_back(weight);
  point_.push_back(point);
  SiftUp(size() - 1);
}

void ReservoirSampler::Rebase(double delta) {
  // Subtracting one constant keeps the heap order (up to float rounding, which
  // is monotone, so ties can only form, never invert).
  for (float& w : weight_) w = static_cast<float>(static_cast<double>(w) - delta);
}

bool ReservoirSampler::IsHeap() const {
  for (int i = 1; i < size(); ++i) {
    if (!(weight_[(i - 1) / 2] >= weight_[i])) return false;
  }
  return true;
}

void ReservoirSampler::Swap(int a, int b) {
  std::swap(weight_[a], weight_[b]);
  std::swap(point_[a], point_[b]);
}

void ReservoirSampler::SiftUp(int i) {
  while (i > 0) {
    const int parent = (i - 1) / 2;
    if (!(weight_[parent] < weight_[i])) break;
    Swap(parent, i);
    i = parent;
  }
}

void ReservoirSampler::SiftDown(int i) {
  const int n = size();
  for (;;) {
    int largest = i;
    const int l = 2 * i + 1;
    const int r = l + 1;
    if (l < n && weight_[l] > weight_[largest]) largest = l;
    if (r < n && weight_[r] > weight_[largest]) largest = r;
    if (largest == i) return;
    Swap(i, largest);
    i = largest;
  }
}

}  // namespace vigil::internal
