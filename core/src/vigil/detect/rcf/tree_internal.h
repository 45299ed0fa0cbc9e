// One random cut tree over the forest's point store, in flat arrays.
//
// Internal nodes are rows of parallel arrays, indices not pointers: the
// routing fields a descent reads (children and cut) packed in 16 bytes so one
// cache line serves four nodes, then the cached bounding box (lo and hi rows
// of `stride` floats, adjacent), the side-length sum and the mass. Leaves are
// rows of their own (point index, mass). A child reference >= 0 is an internal node and
// < 0 is the leaf ~ref. Insertion follows Guha et al. top-down: at each node
// a cut is drawn over the box grown by the new point, proportionally to the
// side lengths; if it separates the point from the box a new node is made
// there. Scoring follows AWS RCF's scalar score and attribution visitors.
#pragma once

#include <cstdint>
#include <vector>

#include "vigil/detect/rcf/point_store_internal.h"
#include "vigil/detect/rcf/random_internal.h"
#include "vigil/status.h"

namespace vigil::internal {

class RandomCutTree {
 public:
  static constexpr int32_t kEmpty = INT32_MIN;
  /// Largest supported capacity (sample size); bounds the depth of any path.
  static constexpr int kMaxCapacity = 4096;
  /// Largest supported tree dimension (shingle size x input dimension).
  static constexpr int kMaxDims = 4096;

  RandomCutTree() = default;
  /// \brief An empty tree over `dims` dimensions (rows padded to `stride`) for up to `capacity` points.
  RandomCutTree(int dims, int stride, int capacity);

  /// \brief Insert the stored point `point`; return the point index the tree keeps
  /// for it (an equal point already in the tree is reused and its mass grows).
  uint32_t Insert(uint32_t point, const PointStore& store, RcfRandom* rng);

  /// \brief Remove one occurrence of the stored point `point`.
  Status Delete(uint32_t point, const PointStore& store);

  /// \brief Return the tree's normalized anomaly score of `x` (stride floats).
  double Score(const float* x, const PointStore& store) const;

  // Scoring in two steps, so that a forest can descend several trees in
  // lockstep (their cache misses then overlap): from the root, follow
  // Child() while the reference is an internal node (>= 0) recording the
  // path; then Prefetch() and ScoreFromPath(). The tree must not be empty.
  int32_t Child(int32_t node, const float* x) const {
    const Routing& r = route_[node];
    return x[r.dim] <= r.cut ? r.left : r.right;
  }
  void Prefetch(const int32_t* path, int depth, int32_t leaf, const PointStore& store) const;
  double ScoreFromPath(const float* x, const int32_t* path, int depth, int32_t leaf,
                       const PointStore& store) const;

  /// \brief Add the tree's normalized directional attribution of `x` to
  /// high/low (dims doubles each) scaled by `scale`; return the tree's score.
  double AddAttribution(const float* x, const PointStore& store, double scale, double* high,
                        double* low) const;

  uint32_t mass() const { return root_ == kEmpty ? 0 : MassOf(root_); }
  int32_t root() const { return root_; }
  int dims() const { return dims_; }
  int capacity() const { return capacity_; }

  // Structure access for serialization.
  uint32_t leaf_point(int32_t leaf) const { return leaf_point_[leaf]; }
  uint32_t leaf_mass(int32_t leaf) const { return leaf_mass_[leaf]; }

  /// \brief A node in preorder, as serialized.
  struct NodeSpec {
    bool leaf = false;
    uint16_t cut_dim = 0;
    float cut_value = 0.0f;
    uint32_t point = 0;  ///< leaf only: index in the point store
    uint32_t mass = 0;   ///< leaf only
  };
  /// \brief Append the tree in preorder to `out`.
  void ToPreorder(std::vector<NodeSpec>* out) const;
  /// \brief Replace the tree by the one described in preorder (state loading).
  /// Indices, cut dimensions and sizes are validated, boxes and masses are
  /// recomputed, and every leaf must be reached by descending with its point.
  Status FromPreorder(const NodeSpec* nodes, size_t count, const PointStore& store);

  size_t MemoryBytes() const;

 private:
  static bool IsLeaf(int32_t ref) { return ref < 0; }
  static int32_t LeafRef(int32_t leaf) { return ~leaf; }

  uint32_t MassOf(int32_t ref) const { return IsLeaf(ref) ? leaf_mass_[~ref] : mass_[ref]; }
  int32_t NewNode();
  int32_t NewLeaf(uint32_t point, uint32_t mass);
  float* Lo(int32_t node) { return box_.data() + static_cast<size_t>(node) * 2 * stride_; }
  float* Hi(int32_t node) { return Lo(node) + stride_; }
  const float* Lo(int32_t node) const { return box_.data() + static_cast<size_t>(node) * 2 * stride_; }
  const float* Hi(int32_t node) const { return Lo(node) + stride_; }
  void PrefetchBox(int32_t node) const;
  /// After x left the subtree of `node`, shrink its box where x was on the
  /// boundary (to the union of the children's boxes); return whether it changed.
  bool ShrinkBox(int32_t node, const float* x, const PointStore& store);
  /// Set the box of `node` to the union of its children's boxes.
  void RecomputeBox(int32_t node, const PointStore& store);
  void ReplaceChild(int32_t parent, int32_t old_ref, int32_t new_ref);
  /// Descend from the root along `x`; fill path (internal nodes) and return the leaf reference.
  int32_t Descend(const float* x, int32_t* path, int* depth) const;
  /// Return the point row of a leaf, or the low corner of a node's box.
  const float* LowOf(int32_t ref, const PointStore& store) const {
    return IsLeaf(ref) ? store.Get(leaf_point_[~ref]) : Lo(ref);
  }
  const float* HighOf(int32_t ref, const PointStore& store) const {
    return IsLeaf(ref) ? store.Get(leaf_point_[~ref]) : Hi(ref);
  }
  void Clear();

  int dims_ = 0;
  int stride_ = 0;
  int capacity_ = 0;
  int32_t root_ = kEmpty;

  struct Routing {
    int32_t left;
    int32_t right;
    float cut;     // x goes left iff x[dim] <= cut
    uint32_t dim;
  };
  static_assert(sizeof(Routing) == 16);

  std::vector<Routing> route_;
  std::vector<uint32_t> mass_;
  std::vector<float> box_;  // per node: lo[stride], hi[stride]
  std::vector<double> range_;  // sum of the box's side lengths
  std::vector<int32_t> free_nodes_;

  std::vector<uint32_t> leaf_point_, leaf_mass_;
  std::vector<int32_t> free_leaves_;
};

}  // namespace vigil::internal
