#include "vigil/detect/rcf/forest_internal.h"

#include <algorithm>
#include <cmath>

namespace vigil::internal {
namespace {

// Inputs are kept as floats; larger magnitudes are clamped so that box side
// sums over up to kMaxDims dimensions stay finite.
constexpr double kMaxMagnitude = 1e30;

float ToFloat(double v) { return static_cast<float>(std::clamp(v, -kMaxMagnitude, kMaxMagnitude)); }

// Rebase the sampler weights once lambda * age exceeds this, so that float
// weights keep their precision on endless streams.
constexpr double kMaxDecayedAge = 32.0;

}  // namespace

Result<std::unique_ptr<RandomCutForest>> RandomCutForest::Make(const RcfOptions& options, int dims,
                                                               uint64_t seed) {
  VIGIL_RETURN_NOT_OK(options.Validate());
  if (dims < 1) return Status::Invalid("rcf: a point needs at least one metric, got " + std::to_string(dims));
  const int64_t tree_dims = static_cast<int64_t>(dims) * options.shingle_size;
  if (tree_dims > RandomCutTree::kMaxDims) {
    return Status::Invalid("rcf: shingle_size * metrics = " + std::to_string(tree_dims) + " exceeds " +
                           std::to_string(RandomCutTree::kMaxDims));
  }
  return std::make_unique<RandomCutForest>(options, dims, seed);
}

RandomCutForest::RandomCutForest(const RcfOptions& options, int dims, uint64_t seed)
    : options_(options),
      dims_(dims),
      shingle_size_(options.shingle_size),
      sample_size_(options.sample_size),
      tree_dims_(dims * options.shingle_size),
      stride_(PaddedStride(dims * options.shingle_size)),
      time_decay_(options.resolved_time_decay()),
      output_after_(options.resolved_output_after()),
      initial_accept_fraction_(options.initial_accept_fraction),
      rng_(seed),
      store_(tree_dims_, stride_) {
  samplers_.reserve(static_cast<size_t>(options.num_trees));
  trees_.reserve(static_cast<size_t>(options.num_trees));
  for (int i = 0; i < options.num_trees; ++i) {
    samplers_.emplace_back(sample_size_);
    trees_.emplace_back(tree_dims_, stride_, sample_size_);
  }
  decisions_.resize(static_cast<size_t>(options.num_trees));
  shingle_.assign(static_cast<size_t>(stride_), 0.0f);
}

void RandomCutForest::Candidate(const double* x, float* out) const {
  const int keep = tree_dims_ - dims_;
  std::copy(shingle_.begin() + dims_, shingle_.begin() + dims_ + keep, out);
  for (int m = 0; m < dims_; ++m) out[keep + m] = ToFloat(x[m]);
  std::fill(out + tree_dims_, out + stride_, 0.0f);
}

double RandomCutForest::Score(const double* x) const {
  if (!warm()) return 0.0;
  alignas(32) float point[RandomCutTree::kMaxDims];
  Candidate(x, point);
  // Descend kLockstep trees at a time: a descent is a chain of dependent
  // loads, and interleaving independent chains lets their misses overlap.
  constexpr int kLockstep = 4;
  int32_t path[kLockstep][RandomCutTree::kMaxCapacity];
  int32_t ref[kLockstep];
  int depth[kLockstep];
  const int n = num_trees();
  double total = 0.0;
  for (int first = 0; first < n; first += kLockstep) {
    const int m = std::min(kLockstep, n - first);
    bool descending = false;
    for (int i = 0; i < m; ++i) {
      ref[i] = trees_[first + i].root();
      depth[i] = 0;
      descending |= ref[i] >= 0;
    }
    while (descending) {
      descending = false;
      for (int i = 0; i < m; ++i) {
        if (ref[i] < 0) continue;
        path[i][depth[i]++] = ref[i];
        ref[i] = trees_[first + i].Child(ref[i], point);
        descending |= ref[i] >= 0;
      }
    }
    for (int i = 0; i < m; ++i) {
      if (ref[i] != RandomCutTree::kEmpty) trees_[first + i].Prefetch(path[i], depth[i], ref[i], store_);
    }
    for (int i = 0; i < m; ++i) {
      if (ref[i] == RandomCutTree::kEmpty) continue;
      total += trees_[first + i].ScoreFromPath(point, path[i], depth[i], ref[i], store_);
    }
  }
  return total / static_cast<double>(n);
}

double RandomCutForest::Attribution(const double* x, double* high, double* low) const {
  std::fill(high, high + tree_dims_, 0.0);
  std::fill(low, low + tree_dims_, 0.0);
  if (!warm()) return 0.0;
  alignas(32) float point[RandomCutTree::kMaxDims];
  Candidate(x, point);
  const double scale = 1.0 / static_cast<double>(trees_.size());
  double total = 0.0;
  for (const RandomCutTree& tree : trees_) total += tree.AddAttribution(point, store_, scale, high, low);
  return total / static_cast<double>(trees_.size());
}

Status RandomCutForest::Update(const double* x) {
  std::copy(shingle_.begin() + dims_, shingle_.begin() + tree_dims_, shingle_.begin());
  for (int m = 0; m < dims_; ++m) shingle_[tree_dims_ - dims_ + m] = ToFloat(x[m]);
  ++inputs_;
  if (inputs_ < static_cast<uint64_t>(shingle_size_)) return Status::OK();

  const uint64_t seq = updates_++;
  double age = time_decay_ * static_cast<double>(seq - weight_base_);
  if (age > kMaxDecayedAge) {
    for (ReservoirSampler& s : samplers_) s.Rebase(age);
    weight_base_ = seq;
    age = 0.0;
  }
  uint32_t accepted = 0;
  for (size_t t = 0; t < samplers_.size(); ++t) {
    decisions_[t] = samplers_[t].Offer(age, initial_accept_fraction_, &rng_);
    accepted += decisions_[t].accepted ? 1 : 0;
  }
  if (accepted == 0) return Status::OK();

  const uint32_t index = store_.Add(shingle_.data(), accepted, seq);
  for (size_t t = 0; t < samplers_.size(); ++t) {
    const ReservoirSampler::Decision& d = decisions_[t];
    if (!d.accepted) continue;
    if (d.evicted != ReservoirSampler::kNone) {
      VIGIL_RETURN_NOT_OK(trees_[t].Delete(d.evicted, store_));
      store_.Release(d.evicted);
    }
    const uint32_t kept = trees_[t].Insert(index, store_, &rng_);
    if (kept != index) {
      store_.AddRef(kept);
      store_.Release(index);
    }
    samplers_[t].Add(d.weight, kept);
  }
  return Status::OK();
}

size_t RandomCutForest::MemoryBytes() const {
  size_t bytes = sizeof(*this) + store_.MemoryBytes() + shingle_.capacity() * sizeof(float) +
                 decisions_.capacity() * sizeof(ReservoirSampler::Decision);
  for (const RandomCutTree& t : trees_) bytes += sizeof(t) + t.MemoryBytes();
  for (const ReservoirSampler& s : samplers_) {
    bytes += sizeof(s) + s.weights().capacity() * sizeof(float) + s.points().capacity() * sizeof(uint32_t);
  }
  return bytes;
}

}  // namespace vigil::internal
