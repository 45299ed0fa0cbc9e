// The Random Cut Forest model: internal shingling, one reservoir sampler and
// one tree per tree slot, and the shared point store.
//
// Update() pushes a D-dimensional input into the shingle; once the shingle is
// full every tree's sampler is offered the shingled point (S*D dims), and the
// trees that accept it evict their sampler's oldest-weighted point and insert
// the new one. Score() and Attribution() are const: they evaluate the shingle
// that the input *would* complete, against the trees as they are.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "vigil/detect/rcf.h"
#include "vigil/detect/rcf/point_store_internal.h"
#include "vigil/detect/rcf/random_internal.h"
#include "vigil/detect/rcf/sampler_internal.h"
#include "vigil/detect/rcf/tree_internal.h"
#include "vigil/state/state.h"
#include "vigil/status.h"

namespace vigil::internal {

class RandomCutForest {
 public:
  /// \brief A forest over `dims` input dimensions; validates the options.
  static Result<std::unique_ptr<RandomCutForest>> Make(const RcfOptions& options, int dims, uint64_t seed);

  /// \brief The forest score of the shingle that `x` (dims values) completes; 0 while not warm.
  double Score(const double* x) const;

  /// \brief Like Score(), and fill high/low (tree_dims() each, shingle-major:
  /// index s * dims + m is metric m at shingle position s, oldest first) with
  /// the directional attribution, which sums to the score.
  double Attribution(const double* x, double* high, double* low) const;

  /// \brief Learn `x` (dims values, finite).
  Status Update(const double* x);

  /// \brief True once output_after shingled points were learned.
  bool warm() const { return updates_ >= static_cast<uint64_t>(output_after_) && updates_ > 0; }

  Status SerializeTo(StateWriter* w) const;
  Status DeserializeFrom(StateReader* r);

  int dims() const { return dims_; }
  int tree_dims() const { return tree_dims_; }
  int num_trees() const { return static_cast<int>(trees_.size()); }
  uint64_t updates() const { return updates_; }
  uint64_t inputs() const { return inputs_; }
  const PointStore& store() const { return store_; }
  const RandomCutTree& tree(int i) const { return trees_[i]; }
  const ReservoirSampler& sampler(int i) const { return samplers_[i]; }
  size_t MemoryBytes() const;

  /// \brief Use Make(), which validates the options first.
  RandomCutForest(const RcfOptions& options, int dims, uint64_t seed);

 private:
  /// Write into `out` (stride floats) the shingle that x completes.
  void Candidate(const double* x, float* out) const;
  Status LoadPoints(StateReader* r, std::vector<uint32_t>* refs);
  Status LoadSamplersAndTrees(StateReader* r, std::vector<uint32_t>* refs);

  RcfOptions options_;

  int dims_;
  int shingle_size_;
  int sample_size_;
  int tree_dims_;
  int stride_;
  double time_decay_;
  int64_t output_after_;
  double initial_accept_fraction_;

  RcfRandom rng_;
  uint64_t inputs_ = 0;      // inputs seen (the shingle is full once inputs_ >= shingle_size_)
  uint64_t updates_ = 0;     // shingled points offered to the samplers
  uint64_t weight_base_ = 0; // sequence index the sampler weights are relative to
  std::vector<float> shingle_;  // the last shingle_size_ inputs, oldest first (stride floats)

  PointStore store_;
  std::vector<ReservoirSampler> samplers_;
  std::vector<RandomCutTree> trees_;
  std::vector<ReservoirSampler::Decision> decisions_;  // per-update scratch
};

}  // namespace vigil::internal
