// Scoring and attribution of one tree, after AWS RCF's AnomalyScoreVisitor
// and AnomalyAttributionVisitor: descend to the leaf x would reach, then walk
// back up, mixing in 1/(depth+1) with the probability that a random cut of
// the node's box grown by x separates x. Once x lies inside a box, every
// ancestor's box contains it too, so the walk stops there.
#include <cmath>
#include <vector>

#include "vigil/detect/rcf/box_math_internal.h"
#include "vigil/detect/rcf/tree_internal.h"

namespace vigil::internal {
namespace {

double ScoreUnseen(int depth) { return 1.0 / (depth + 1); }

// log2(1 + m) for every mass a tree can have, computed once per process.
double Log2OnePlus(uint32_t m) {
  static const std::vector<double> table = [] {
    std::vector<double> t(RandomCutTree::kMaxCapacity + 1);
    for (size_t i = 0; i < t.size(); ++i) t[i] = std::log2(1.0 + static_cast<double>(i));
    return t;
  }();
  return table[m];
}

double ScoreSeen(int depth, uint32_t leaf_mass) { return 1.0 / (depth + Log2OnePlus(leaf_mass)); }

double Damp(uint32_t leaf_mass, uint32_t tree_mass) {
  return 1.0 - static_cast<double>(leaf_mass) / (2.0 * tree_mass);
}

double Normalizer(uint32_t tree_mass) { return Log2OnePlus(tree_mass); }

}  // namespace

double RandomCutTree::Score(const float* x, const PointStore& store) const {
  if (root_ == kEmpty) return 0.0;
  int32_t path[kMaxCapacity];
  int depth = 0;
  const int32_t leaf = Descend(x, path, &depth);
  return ScoreFromPath(x, path, depth, leaf, store);
}

void RandomCutTree::Prefetch(const int32_t* path, int depth, int32_t leaf, const PointStore& store) const {
  // The walk up reads the leaf's point and, usually, the boxes of the last few nodes.
  __builtin_prefetch(store.Get(leaf_point_[~leaf]));
  for (int k = depth - 1; k >= 0 && k >= depth - 2; --k) PrefetchBox(path[k]);
}

double RandomCutTree::ScoreFromPath(const float* x, const int32_t* path, int depth, int32_t leaf_ref,
                                    const PointStore& store) const {
  const int32_t leaf = ~leaf_ref;
  const uint32_t tree_mass = mass();
  const float* q = store.Get(leaf_point_[leaf]);
  if (RowsEqual(q, x, stride_)) {
    const uint32_t leaf_mass = leaf_mass_[leaf];
    return Damp(leaf_mass, tree_mass) * ScoreSeen(depth, leaf_mass) * Normalizer(tree_mass);
  }
  double score = ScoreUnseen(depth);
  for (int k = depth - 1; k >= 0; --k) {
    const int32_t node = path[k];
    const double gap = GapSum(Lo(node), Hi(node), x, stride_);
    if (gap <= 0.0) break;
    const double p = gap / (range_[node] + gap);
    score = p * ScoreUnseen(k) + (1.0 - p) * score;
  }
  return score * Normalizer(tree_mass);
}

double RandomCutTree::AddAttribution(const float* x, const PointStore& store, double scale, double* high,
                                     double* low) const {
  if (root_ == kEmpty) return 0.0;
  int32_t path[kMaxCapacity];
  double keep[kMaxCapacity];  // 1 - p at each node the walk up visits
  int depth = 0;
  const int32_t leaf = ~Descend(x, path, &depth);
  const uint32_t tree_mass = mass();
  const double norm = Normalizer(tree_mass) * scale;
  const float* q = store.Get(leaf_point_[leaf]);
  if (RowsEqual(q, x, stride_)) {
    const uint32_t leaf_mass = leaf_mass_[leaf];
    const double score = Damp(leaf_mass, tree_mass) * ScoreSeen(depth, leaf_mass);
    // A point already in the sample has no direction: split its score evenly.
    const double share = score * norm / (2.0 * dims_);
    for (int d = 0; d < dims_; ++d) {
      high[d] += share;
      low[d] += share;
    }
    return score * Normalizer(tree_mass);
  }
  // First pass (bottom-up): the scalar score and where the walk stops.
  double score = ScoreUnseen(depth);
  int top = depth;  // the highest node index whose box excludes x
  for (int k = depth - 1; k >= 0; --k) {
    const int32_t node = path[k];
    const double gap = GapSum(Lo(node), Hi(node), x, stride_);
    if (gap <= 0.0) break;
    const double p = gap / (range_[node] + gap);
    keep[k] = 1.0 - p;
    score = p * ScoreUnseen(k) + (1.0 - p) * score;
    top = k;
  }
  // Second pass (top-down): the score is a sum of per-node contributions,
  // each damped by the (1 - p) of the nodes above it; spread each over the
  // dimensions by how far x lies outside the node's box on each side.
  double weight = norm;
  for (int k = top; k < depth; ++k) {
    const int32_t node = path[k];
    const float* lo = Lo(node);
    const float* hi = Hi(node);
    const double new_range = range_[node] + GapSum(lo, hi, x, stride_);
    const double f = weight * ScoreUnseen(k) / new_range;
    for (int d = 0; d < dims_; ++d) {
      if (x[d] > hi[d]) high[d] += f * (static_cast<double>(x[d]) - hi[d]);
      if (x[d] < lo[d]) low[d] += f * (static_cast<double>(lo[d]) - x[d]);
    }
    weight *= keep[k];
  }
  double distance = 0.0;
  for (int d = 0; d < dims_; ++d) distance += std::fabs(static_cast<double>(x[d]) - q[d]);
  const double f = weight * ScoreUnseen(depth) / distance;
  for (int d = 0; d < dims_; ++d) {
    if (x[d] > q[d]) high[d] += f * (static_cast<double>(x[d]) - q[d]);
    if (x[d] < q[d]) low[d] += f * (static_cast<double>(q[d]) - x[d]);
  }
  return score * Normalizer(tree_mass);
}

}  // namespace vigil::internal
