#include <cmath>

#include "vigil/detect/rcf/box_math_internal.h"
#include "vigil/detect/rcf/tree_internal.h"

namespace vigil::internal {

RandomCutTree::RandomCutTree(int dims, int stride, int capacity)
    : dims_(dims), stride_(stride), capacity_(capacity) {
  const size_t nodes = static_cast<size_t>(capacity > 1 ? capacity - 1 : 1);
  route_.reserve(nodes);
  mass_.reserve(nodes);
  range_.reserve(nodes);
  box_.reserve(nodes * 2 * static_cast<size_t>(stride));
  leaf_point_.reserve(static_cast<size_t>(capacity));
  leaf_mass_.reserve(static_cast<size_t>(capacity));
}

void RandomCutTree::Clear() {
  root_ = kEmpty;
  route_.clear();
  mass_.clear();
  range_.clear();
  box_.clear();
  free_nodes_.clear();
  leaf_point_.clear();
  leaf_mass_.clear();
  free_leaves_.clear();
}

int32_t RandomCutTree::NewNode() {
  if (!free_nodes_.empty()) {
    const int32_t node = free_nodes_.back();
    free_nodes_.pop_back();
    return node;
  }
  const auto node = static_cast<int32_t>(route_.size());
  route_.push_back({kEmpty, kEmpty, 0.0f, 0});
  mass_.push_back(0);
  range_.push_back(0.0);
  box_.resize(box_.size() + 2 * static_cast<size_t>(stride_));
  return node;
}

int32_t RandomCutTree::NewLeaf(uint32_t point, uint32_t mass) {
  int32_t leaf;
  if (!free_leaves_.empty()) {
    leaf = free_leaves_.back();
    free_leaves_.pop_back();
  } else {
    leaf = static_cast<int32_t>(leaf_point_.size());
    leaf_point_.push_back(0);
    leaf_mass_.push_back(0);
  }
  leaf_point_[leaf] = point;
  leaf_mass_[leaf] = mass;
  return leaf;
}

void RandomCutTree::ReplaceChild(int32_t parent, int32_t old_ref, int32_t new_ref) {
  if (route_[parent].left == old_ref) {
    route_[parent].left = new_ref;
  } else {
    route_[parent].right = new_ref;
  }
}

void RandomCutTree::PrefetchBox(int32_t node) const {
  const float* box = Lo(node);
  for (int i = 0; i < 2 * stride_; i += 16) __builtin_prefetch(box + i);
}

bool RandomCutTree::ShrinkBox(int32_t node, const float* x, const PointStore& store) {
  float* lo = Lo(node);
  float* hi = Hi(node);
  if (!OnBoundary(lo, hi, x, dims_)) return false;
  const int32_t l = route_[node].left;
  const int32_t r = route_[node].right;
  bool changed = false;
  for (int d = 0; d < dims_; ++d) {
    if (x[d] == lo[d]) {
      const float v = std::min(LowOf(l, store)[d], LowOf(r, store)[d]);
      changed |= v != lo[d];
      lo[d] = v;
    }
    if (x[d] == hi[d]) {
      const float v = std::max(HighOf(l, store)[d], HighOf(r, store)[d]);
      changed |= v != hi[d];
      hi[d] = v;
    }
  }
  if (changed) range_[node] = RangeSum(lo, hi, stride_);
  return changed;
}

void RandomCutTree::RecomputeBox(int32_t node, const PointStore& store) {
  const int32_t l = route_[node].left;
  const int32_t r = route_[node].right;
  UnionBox(Lo(node), Hi(node), LowOf(l, store), HighOf(l, store), LowOf(r, store), HighOf(r, store),
           stride_);
  range_[node] = RangeSum(Lo(node), Hi(node), stride_);
}

int32_t RandomCutTree::Descend(const float* x, int32_t* path, int* depth) const {
  int d = 0;
  int32_t ref = root_;
  while (!IsLeaf(ref)) {
    path[d++] = ref;
    ref = Child(ref, x);
  }
  *depth = d;
  return ref;
}

uint32_t RandomCutTree::Insert(uint32_t point, const PointStore& store, RcfRandom* rng) {
  const float* x = store.Get(point);
  if (root_ == kEmpty) {
    root_ = LeafRef(NewLeaf(point, 1));
    return point;
  }
  // The insertion walks down the path x routes along until a cut separates
  // it. Find that path first (the routing rows are small and mostly cached)
  // and prefetch its boxes, so that their cache misses overlap.
  int32_t path[kMaxCapacity];
  bool outside[kMaxCapacity];  // whether x lies outside path[k]'s box
  int path_length = 0;
  const int32_t leaf = Descend(x, path, &path_length);
  for (int k = 0; k < path_length; ++k) PrefetchBox(path[k]);
  __builtin_prefetch(store.Get(leaf_point_[~leaf]));

  int depth = 0;
  uint32_t kept = point;
  bool grew = true;  // whether the ancestors' boxes must take x in
  for (;; ++depth) {
    const int32_t ref = depth < path_length ? path[depth] : leaf;
    const float* lo = LowOf(ref, store);
    const float* hi = HighOf(ref, store);
    if (IsLeaf(ref) && RowsEqual(lo, x, stride_)) {
      ++leaf_mass_[~ref];
      kept = leaf_point_[~ref];
      grew = false;
      break;
    }
    const double gap = GapSum(lo, hi, x, stride_);
    // A cut drawn uniformly over the side lengths of the box grown by x
    // separates x iff it falls in a gap between x and the box. Listing the
    // gaps before the box's own sides keeps the cut's distribution and lets a
    // non-separating draw stop here.
    const double range = IsLeaf(ref) ? 0.0 : range_[ref];
    double r = gap > 0.0 ? rng->NextDouble() * (gap + range) : gap;
    if (r < gap) {  // r is uniform over the gaps: find its dimension
      int dim = -1;
      for (int d = 0; d < dims_; ++d) {
        const double width = std::max(static_cast<double>(lo[d]) - x[d], 0.0) +
                             std::max(static_cast<double>(x[d]) - hi[d], 0.0);
        if (width <= 0.0) continue;
        dim = d;
        if (r < width) break;
        r -= width;
      }
      const bool x_left = x[dim] < lo[dim];
      float cut;
      if (x_left) {  // cut in [x, lo)
        cut = std::max(static_cast<float>(x[dim] + r), x[dim]);
        if (cut >= lo[dim]) cut = std::nextafter(lo[dim], x[dim]);
      } else {  // cut in [hi, x)
        cut = std::max(static_cast<float>(hi[dim] + r), hi[dim]);
        if (cut >= x[dim]) cut = std::nextafter(x[dim], hi[dim]);
      }
      const int32_t node = NewNode();
      const int32_t leaf = LeafRef(NewLeaf(point, 1));
      route_[node] = {x_left ? leaf : ref, x_left ? ref : leaf, cut, static_cast<uint32_t>(dim)};
      mass_[node] = MassOf(ref) + 1;
      UnionBox(Lo(node), Hi(node), lo, hi, x, x, stride_);
      range_[node] = RangeSum(Lo(node), Hi(node), stride_);
      if (depth == 0) {
        root_ = node;
      } else {
        ReplaceChild(path[depth - 1], ref, node);
      }
      break;
    }
    // IsLeaf(ref) implies gap > 0 and a separating cut, so ref is internal here.
    outside[depth] = gap > 0.0;
  }
  for (int k = 0; k < depth; ++k) {
    const int32_t node = path[k];
    ++mass_[node];
    if (!grew || !outside[k]) continue;
    ExtendBox(Lo(node), Hi(node), x, stride_);
    range_[node] = RangeSum(Lo(node), Hi(node), stride_);
  }
  return kept;
}

Status RandomCutTree::Delete(uint32_t point, const PointStore& store) {
  if (root_ == kEmpty) return Status::Internal("rcf tree: delete from an empty tree");
  int32_t path[kMaxCapacity];
  int depth = 0;
  const int32_t leaf_ref = Descend(store.Get(point), path, &depth);
  // Shrinking reads each ancestor's box and its other child's box: fetch them together.
  for (int k = depth - 1; k >= 0 && k >= depth - 4; --k) {
    if (k < depth - 1) PrefetchBox(path[k]);
    const Routing& r = route_[path[k]];
    const int32_t on_path = k + 1 < depth ? path[k + 1] : leaf_ref;
    const int32_t other = r.left == on_path ? r.right : r.left;
    if (IsLeaf(other)) {
      __builtin_prefetch(store.Get(leaf_point_[~other]));
    } else {
      PrefetchBox(other);
    }
  }
  const int32_t leaf = ~leaf_ref;
  if (leaf_point_[leaf] != point) {
    return Status::Internal("rcf tree: point " + std::to_string(point) + " is not in the tree");
  }
  if (leaf_mass_[leaf] > 1) {
    --leaf_mass_[leaf];
    for (int k = 0; k < depth; ++k) --mass_[path[k]];
    return Status::OK();
  }
  free_leaves_.push_back(leaf);
  if (depth == 0) {
    root_ = kEmpty;
    return Status::OK();
  }
  const int32_t parent = path[depth - 1];
  const int32_t sibling = route_[parent].left == leaf_ref ? route_[parent].right : route_[parent].left;
  if (depth == 1) {
    root_ = sibling;
  } else {
    ReplaceChild(path[depth - 2], parent, sibling);
  }
  free_nodes_.push_back(parent);
  // A box shrinks only where the removed point was on its boundary; once a
  // box is unchanged, so are all boxes above it.
  const float* x = store.Get(point);
  bool shrinking = true;
  for (int k = depth - 2; k >= 0; --k) {
    const int32_t node = path[k];
    --mass_[node];
    if (shrinking) shrinking = ShrinkBox(node, x, store);
  }
  return Status::OK();
}

size_t RandomCutTree::MemoryBytes() const {
  return route_.capacity() * sizeof(Routing) + mass_.capacity() * 4 + box_.capacity() * sizeof(float) +
         range_.capacity() * 8 +
         free_nodes_.capacity() * 4 + leaf_point_.capacity() * 4 + leaf_mass_.capacity() * 4 +
         free_leaves_.capacity() * 4;
}

}  // namespace vigil::internal
