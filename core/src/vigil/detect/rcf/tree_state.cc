// A tree's structure in preorder, for the state blob.
#include <string>
#include <utility>

#include "vigil/detect/rcf/tree_internal.h"

namespace vigil::internal {

void RandomCutTree::ToPreorder(std::vector<NodeSpec>* out) const {
  if (root_ == kEmpty) return;
  std::vector<int32_t> stack;
  stack.reserve(static_cast<size_t>(capacity_));
  stack.push_back(root_);
  while (!stack.empty()) {
    const int32_t ref = stack.back();
    stack.pop_back();
    NodeSpec spec;
    if (IsLeaf(ref)) {
      spec.leaf = true;
      spec.point = leaf_point_[~ref];
      spec.mass = leaf_mass_[~ref];
    } else {
      spec.cut_dim = route_[ref].dim;
      spec.cut_value = route_[ref].cut;
      stack.push_back(route_[ref].right);
      stack.push_back(route_[ref].left);
    }
    out->push_back(spec);
  }
}

Status RandomCutTree::FromPreorder(const NodeSpec* nodes, size_t count, const PointStore& store) {
  Clear();
  // Nodes whose right child is still to come, and whether the left one is set.
  std::vector<std::pair<int32_t, bool>> open;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0 && open.empty()) return Status::Corrupt("nodes after the tree is complete");
    const NodeSpec& spec = nodes[i];
    int32_t ref;
    if (spec.leaf) {
      if (leaf_point_.size() >= static_cast<size_t>(capacity_)) return Status::Corrupt("more leaves than sample_size");
      if (spec.point >= store.rows() || spec.mass == 0) return Status::Corrupt("bad leaf");
      ref = LeafRef(NewLeaf(spec.point, spec.mass));
    } else {
      if (route_.size() + 1 >= static_cast<size_t>(capacity_)) return Status::Corrupt("more nodes than sample_size allows");
      if (spec.cut_dim >= dims_) return Status::Corrupt("cut dimension out of range");
      ref = NewNode();
      route_[ref].dim = spec.cut_dim;
      route_[ref].cut = spec.cut_value;
    }
    if (i == 0) {
      root_ = ref;
    } else if (!open.back().second) {
      route_[open.back().first].left = ref;
      open.back().second = true;
    } else {
      route_[open.back().first].right = ref;
      open.pop_back();
    }
    if (!spec.leaf) open.emplace_back(ref, false);
  }
  if (!open.empty()) return Status::Corrupt("tree ends before every node has two children");
  // Nodes were made in preorder, so every child has a larger index than its
  // parent: one backward pass computes masses and boxes bottom-up. Each cut
  // must keep its left subtree at or below it and its right one above it;
  // then every leaf is reached by its own point (and no two leaves hold
  // equal points), which Insert and Delete rely on.
  for (auto node = static_cast<int32_t>(route_.size()) - 1; node >= 0; --node) {
    const Routing& r = route_[node];
    if (!(HighOf(r.left, store)[r.dim] <= r.cut && LowOf(r.right, store)[r.dim] > r.cut)) {
      return Status::Corrupt("node " + std::to_string(node) + " does not separate its children at its cut");
    }
    mass_[node] = MassOf(r.left) + MassOf(r.right);
    RecomputeBox(node, store);
  }
  return Status::OK();
}

}  // namespace vigil::internal
