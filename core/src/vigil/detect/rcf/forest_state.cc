// Serialization of a RandomCutForest into StateWriter fields.
//
// Everything needed to continue bit-identically is written: counters, RNG,
// the shingle, the live points, every sampler (heap order kept) and every
// tree's structure in preorder (cut dimension and value, leaf point and
// mass). Bounding boxes and internal masses are recomputed on load; min/max
// are exact, so the rebuilt boxes equal the ones the running forest had.
//
// Live points are written in sequence order, and a point whose sequence index
// is k < shingle_size after the previous one shares (shingle_size - k) inputs
// with it, so only its k newest inputs are written: the points cost about one
// input vector each instead of a whole shingle.
//
// Loading validates every count, index and float and the relations between
// them (each leaf is reached by its own point, leaf masses match the
// sampler's entries, heaps are heaps), and fails with Corrupt naming what is
// wrong; the forest is left unchanged on failure.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "vigil/detect/rcf/forest_internal.h"

namespace vigil::internal {
namespace {

static_assert(std::endian::native == std::endian::little, "rcf state assumes a little-endian host");

// Field ids: stable; a removed field keeps its id reserved.
enum Field : uint32_t {
  kDims = 1,
  kShingleSize = 2,
  kNumTrees = 3,
  kSampleSize = 4,
  kInputs = 5,
  kUpdates = 6,
  kWeightBase = 7,
  kRng = 8,
  kShingle = 9,
  kPointSequence = 10,  // first sequence index, then deltas
  kPointValues = 11,    // raw floats, overlapping inputs left out
  kSamplerSizes = 12,
  kSamplerWeights = 13,  // raw floats
  kSamplerPoints = 14,   // ordinals into the point list
  kTreeNodes = 15,       // preorder: internal 2*cut_dim; leaf 4*ordinal+1, or 4*ordinal+3 then mass
  kTreeCuts = 16,        // raw floats, one per internal node in preorder
};

Status Corrupt(const std::string& what) { return Status::Corrupt("rcf state: " + what); }

std::string_view FloatBytes(const float* data, size_t n) {
  return {reinterpret_cast<const char*>(data), n * sizeof(float)};
}

Status ReadFloats(StateReader* r, uint32_t id, const char* name, std::vector<float>* out) {
  std::string_view bytes;
  VIGIL_RETURN_NOT_OK(r->ReadStringView(id, &bytes));
  if (bytes.size() % sizeof(float) != 0) return Corrupt(std::string(name) + " is not a whole number of floats");
  out->resize(bytes.size() / sizeof(float));
  if (!bytes.empty()) std::memcpy(out->data(), bytes.data(), bytes.size());
  for (float v : *out) {
    if (!std::isfinite(v)) return Corrupt(std::string(name) + " holds a non-finite value");
  }
  return Status::OK();
}

Status ExpectEqual(uint64_t got, uint64_t want, const char* name) {
  if (got == want) return Status::OK();
  return Status::Invalid("rcf state: written with " + std::string(name) + " " + std::to_string(got) +
                         ", this detector has " + std::to_string(want));
}

}  // namespace

Status RandomCutForest::SerializeTo(StateWriter* w) const {
  w->WriteUInt(kDims, static_cast<uint64_t>(dims_));
  w->WriteUInt(kShingleSize, static_cast<uint64_t>(shingle_size_));
  w->WriteUInt(kNumTrees, trees_.size());
  w->WriteUInt(kSampleSize, static_cast<uint64_t>(sample_size_));
  w->WriteUInt(kInputs, inputs_);
  w->WriteUInt(kUpdates, updates_);
  w->WriteUInt(kWeightBase, weight_base_);
  const RcfRandom::State& rng = rng_.state();
  w->WriteUInts(kRng, rng);
  w->WriteString(kShingle, FloatBytes(shingle_.data(), static_cast<size_t>(tree_dims_)));

  // Live points in sequence order; ordinal[row] is a row's position in that order.
  std::vector<std::pair<uint64_t, uint32_t>> rows;  // (sequence, row)
  rows.reserve(store_.live());
  for (uint32_t row = 0; row < store_.rows(); ++row) {
    if (store_.refs(row) > 0) rows.emplace_back(store_.sequence(row), row);
  }
  std::sort(rows.begin(), rows.end());
  std::vector<uint32_t> ordinal(store_.rows(), 0);
  std::vector<uint64_t> seq_deltas;
  std::vector<float> values;
  seq_deltas.reserve(rows.size());
  values.reserve(rows.size() * static_cast<size_t>(dims_) + static_cast<size_t>(tree_dims_));
  uint64_t prev = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto [seq, row] = rows[i];
    ordinal[row] = static_cast<uint32_t>(i);
    const uint64_t delta = seq - prev;
    seq_deltas.push_back(delta);
    const int fresh = (i > 0 && delta < static_cast<uint64_t>(shingle_size_)) ? static_cast<int>(delta) : shingle_size_;
    const float* x = store_.Get(row);
    values.insert(values.end(), x + tree_dims_ - fresh * dims_, x + tree_dims_);
    prev = seq;
  }
  w->WriteUInts(kPointSequence, seq_deltas);
  w->WriteString(kPointValues, FloatBytes(values.data(), values.size()));

  std::vector<uint64_t> sizes, points, nodes;
  std::vector<float> weights, cuts;
  std::vector<RandomCutTree::NodeSpec> preorder;
  const size_t entries = trees_.size() * static_cast<size_t>(sample_size_);
  sizes.reserve(trees_.size());
  points.reserve(entries);
  weights.reserve(entries);
  nodes.reserve(2 * entries);
  cuts.reserve(entries);
  preorder.reserve(2 * static_cast<size_t>(sample_size_));
  for (size_t t = 0; t < trees_.size(); ++t) {
    const ReservoirSampler& s = samplers_[t];
    sizes.push_back(static_cast<uint64_t>(s.size()));
    weights.insert(weights.end(), s.weights().begin(), s.weights().end());
    for (uint32_t p : s.points()) points.push_back(ordinal[p]);
    preorder.clear();
    trees_[t].ToPreorder(&preorder);
    for (const RandomCutTree::NodeSpec& n : preorder) {
      if (n.leaf) {
        const uint64_t code = 4 * static_cast<uint64_t>(ordinal[n.point]);
        if (n.mass == 1) {
          nodes.push_back(code + 1);
        } else {
          nodes.push_back(code + 3);
          nodes.push_back(n.mass);
        }
      } else {
        nodes.push_back(2 * static_cast<uint64_t>(n.cut_dim));
        cuts.push_back(n.cut_value);
      }
    }
  }
  w->WriteUInts(kSamplerSizes, sizes);
  w->WriteString(kSamplerWeights, FloatBytes(weights.data(), weights.size()));
  w->WriteUInts(kSamplerPoints, points);
  w->WriteUInts(kTreeNodes, nodes);
  w->WriteString(kTreeCuts, FloatBytes(cuts.data(), cuts.size()));
  return Status::OK();
}

Status RandomCutForest::DeserializeFrom(StateReader* r) {
  RandomCutForest fresh(options_, dims_, 0);
  uint64_t v = 0;
  VIGIL_RETURN_NOT_OK(r->ReadUInt(kDims, &v));
  VIGIL_RETURN_NOT_OK(ExpectEqual(v, static_cast<uint64_t>(dims_), "metric count"));
  VIGIL_RETURN_NOT_OK(r->ReadUInt(kShingleSize, &v));
  VIGIL_RETURN_NOT_OK(ExpectEqual(v, static_cast<uint64_t>(shingle_size_), "shingle_size"));
  VIGIL_RETURN_NOT_OK(r->ReadUInt(kNumTrees, &v));
  VIGIL_RETURN_NOT_OK(ExpectEqual(v, trees_.size(), "num_trees"));
  VIGIL_RETURN_NOT_OK(r->ReadUInt(kSampleSize, &v));
  VIGIL_RETURN_NOT_OK(ExpectEqual(v, static_cast<uint64_t>(sample_size_), "sample_size"));
  VIGIL_RETURN_NOT_OK(r->ReadUInt(kInputs, &fresh.inputs_));
  VIGIL_RETURN_NOT_OK(r->ReadUInt(kUpdates, &fresh.updates_));
  VIGIL_RETURN_NOT_OK(r->ReadUInt(kWeightBase, &fresh.weight_base_));
  const uint64_t s = static_cast<uint64_t>(shingle_size_);
  if (fresh.updates_ != (fresh.inputs_ >= s ? fresh.inputs_ - s + 1 : 0)) {
    return Corrupt("update count " + std::to_string(fresh.updates_) + " does not match input count " +
                   std::to_string(fresh.inputs_));
  }
  if (fresh.weight_base_ > fresh.updates_) return Corrupt("weight base is beyond the update count");
  std::vector<uint64_t> rng;
  VIGIL_RETURN_NOT_OK(r->ReadUInts(kRng, &rng));
  RcfRandom::State state{};
  if (rng.size() != state.size()) return Corrupt("random generator state has " + std::to_string(rng.size()) + " words");
  std::copy(rng.begin(), rng.end(), state.begin());
  if (!RcfRandom::IsValidState(state)) return Corrupt("random generator state is all zero");
  fresh.rng_.set_state(state);
  std::vector<float> shingle;
  VIGIL_RETURN_NOT_OK(ReadFloats(r, kShingle, "shingle", &shingle));
  if (shingle.size() != static_cast<size_t>(tree_dims_)) return Corrupt("shingle has the wrong length");
  std::copy(shingle.begin(), shingle.end(), fresh.shingle_.begin());

  std::vector<uint32_t> refs;
  VIGIL_RETURN_NOT_OK(fresh.LoadPoints(r, &refs));
  VIGIL_RETURN_NOT_OK(fresh.LoadSamplersAndTrees(r, &refs));
  *this = std::move(fresh);
  return Status::OK();
}

Status RandomCutForest::LoadPoints(StateReader* r, std::vector<uint32_t>* refs) {
  std::vector<uint64_t> deltas;
  VIGIL_RETURN_NOT_OK(r->ReadUInts(kPointSequence, &deltas));
  std::vector<float> values;
  VIGIL_RETURN_NOT_OK(ReadFloats(r, kPointValues, "point values", &values));
  if (deltas.size() > static_cast<size_t>(sample_size_) * trees_.size()) {
    return Corrupt(std::to_string(deltas.size()) + " points exceed what the samplers can hold");
  }
  alignas(32) float x[RandomCutTree::kMaxDims] = {};
  size_t pos = 0;
  uint64_t seq = 0;
  for (size_t i = 0; i < deltas.size(); ++i) {
    if (i > 0 && deltas[i] == 0) return Corrupt("point " + std::to_string(i) + " repeats a sequence index");
    if (deltas[i] >= updates_ || seq + deltas[i] >= updates_) {
      return Corrupt("point " + std::to_string(i) + " has a sequence index beyond the update count");
    }
    seq += deltas[i];
    const int fresh = (i > 0 && deltas[i] < static_cast<uint64_t>(shingle_size_)) ? static_cast<int>(deltas[i])
                                                                                   : shingle_size_;
    const size_t n = static_cast<size_t>(fresh) * dims_;
    if (values.size() - pos < n) return Corrupt("point values end at point " + std::to_string(i));
    std::copy(x + n, x + tree_dims_, x);  // keep the overlapping inputs of the previous point
    std::copy(values.begin() + static_cast<ptrdiff_t>(pos), values.begin() + static_cast<ptrdiff_t>(pos + n),
              x + tree_dims_ - n);
    pos += n;
    store_.Add(x, 0, seq);
  }
  if (pos != values.size()) return Corrupt("point values hold " + std::to_string(values.size() - pos) + " extra floats");
  refs->assign(deltas.size(), 0);
  return Status::OK();
}

Status RandomCutForest::LoadSamplersAndTrees(StateReader* r, std::vector<uint32_t>* refs) {
  std::vector<uint64_t> sizes, points, nodes;
  std::vector<float> weights, cuts;
  VIGIL_RETURN_NOT_OK(r->ReadUInts(kSamplerSizes, &sizes));
  VIGIL_RETURN_NOT_OK(ReadFloats(r, kSamplerWeights, "sampler weights", &weights));
  VIGIL_RETURN_NOT_OK(r->ReadUInts(kSamplerPoints, &points));
  VIGIL_RETURN_NOT_OK(r->ReadUInts(kTreeNodes, &nodes));
  VIGIL_RETURN_NOT_OK(ReadFloats(r, kTreeCuts, "tree cuts", &cuts));
  if (sizes.size() != trees_.size()) return Corrupt("sampler count differs from num_trees");
  const uint32_t num_points = static_cast<uint32_t>(refs->size());
  size_t entry = 0, node_pos = 0, cut_pos = 0;
  std::vector<RandomCutTree::NodeSpec> preorder;
  std::vector<int64_t> balance(num_points, 0);
  for (size_t t = 0; t < trees_.size(); ++t) {
    const std::string where = "tree " + std::to_string(t) + ": ";
    if (sizes[t] > static_cast<uint64_t>(sample_size_)) return Corrupt(where + "sampler larger than sample_size");
    const size_t n = sizes[t];
    if (weights.size() - entry < n || points.size() - entry < n) return Corrupt(where + "sampler entries end early");
    std::vector<float> w(weights.begin() + static_cast<ptrdiff_t>(entry), weights.begin() + static_cast<ptrdiff_t>(entry + n));
    std::vector<uint32_t> p(n);
    for (size_t i = 0; i < n; ++i) {
      if (points[entry + i] >= num_points) return Corrupt(where + "sampler refers to a missing point");
      p[i] = static_cast<uint32_t>(points[entry + i]);
      ++(*refs)[p[i]];
    }
    entry += n;
    samplers_[t].Assign(std::move(w), std::move(p));
    if (!samplers_[t].IsHeap()) return Corrupt(where + "sampler weights are not a heap");

    // Preorder nodes until the tree is complete (none for an empty sampler).
    preorder.clear();
    for (size_t open = n > 0 ? 1 : 0; open > 0; --open) {
      if (node_pos >= nodes.size()) return Corrupt(where + "tree nodes end early");
      if (preorder.size() >= 2 * static_cast<size_t>(sample_size_)) return Corrupt(where + "too many tree nodes");
      RandomCutTree::NodeSpec spec;
      const uint64_t code = nodes[node_pos++];
      if (code & 1) {
        if ((code >> 2) >= num_points) return Corrupt(where + "leaf refers to a missing point");
        uint64_t mass = 1;
        if (code & 2) {
          if (node_pos >= nodes.size()) return Corrupt(where + "tree nodes end early");
          mass = nodes[node_pos++];
          if (mass < 2 || mass > n) return Corrupt(where + "leaf mass out of range");
        }
        spec.leaf = true;
        spec.point = static_cast<uint32_t>(code >> 2);
        spec.mass = static_cast<uint32_t>(mass);
      } else {
        if ((code >> 1) >= static_cast<uint64_t>(tree_dims_)) return Corrupt(where + "cut dimension out of range");
        if (cut_pos >= cuts.size()) return Corrupt(where + "tree cuts end early");
        spec.cut_dim = static_cast<uint16_t>(code >> 1);
        spec.cut_value = cuts[cut_pos++];
        open += 2;
      }
      preorder.push_back(spec);
    }
    Status st = trees_[t].FromPreorder(preorder.data(), preorder.size(), store_);
    if (!st.ok()) return Corrupt(where + st.message());
    // The leaves must hold exactly the sampler's entries: count up by
    // entry, down by leaf mass, and expect zeros.
    for (uint32_t q : samplers_[t].points()) ++balance[q];
    for (const RandomCutTree::NodeSpec& spec : preorder) {
      if (spec.leaf) balance[spec.point] -= static_cast<int64_t>(spec.mass);
    }
    bool match = true;
    for (const RandomCutTree::NodeSpec& spec : preorder) {
      if (spec.leaf) {
        match &= balance[spec.point] == 0;
        balance[spec.point] = 0;
      }
    }
    for (uint32_t q : samplers_[t].points()) {
      match &= balance[q] == 0;
      balance[q] = 0;
    }
    if (!match) return Corrupt(where + "leaves differ from the sample");
  }
  if (entry != weights.size() || entry != points.size()) return Corrupt("extra sampler entries");
  if (node_pos != nodes.size() || cut_pos != cuts.size()) return Corrupt("extra tree nodes");
  for (uint32_t i = 0; i < num_points; ++i) {
    if ((*refs)[i] == 0) return Corrupt("point " + std::to_string(i) + " is in no sampler");
    for (uint32_t k = 0; k < (*refs)[i]; ++k) store_.AddRef(i);
  }
  return Status::OK();
}

}  // namespace vigil::internal
