// Random Cut Forest throughput and state size.
//
//   BM_RcfScoreAndUpdate/<trees>/<sample>/<shingle>/<metrics>: Score() then
//   Update() per point on a warm forest (items/s = points per second).
//   BM_RcfSave / BM_RcfLoad: state blob round trip; counter state_bytes.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "vigil/detect/rcf/forest_internal.h"

namespace vigil::internal {
namespace {

constexpr int kWarmPoints = 20000;
constexpr int kDataPoints = 1 << 16;

std::vector<double> NoisySines(int n, int dims) {
  std::mt19937_64 gen(7);
  std::normal_distribution<double> eps(0.0, 0.1);
  std::vector<double> xs(static_cast<size_t>(n) * dims);
  for (int t = 0; t < n; ++t) {
    for (int m = 0; m < dims; ++m) xs[t * dims + m] = 10 * std::sin(2 * M_PI * t / (60.0 + 7 * m)) + eps(gen);
  }
  return xs;
}

RcfOptions OptionsFrom(const benchmark::State& state) {
  RcfOptions o;
  o.num_trees = static_cast<int32_t>(state.range(0));
  o.sample_size = static_cast<int32_t>(state.range(1));
  o.shingle_size = static_cast<int32_t>(state.range(2));
  return o;
}

std::unique_ptr<RandomCutForest> WarmForest(const RcfOptions& o, int dims, const std::vector<double>& xs) {
  auto forest = std::move(RandomCutForest::Make(o, dims, 1)).MoveValueUnsafe();
  for (int t = 0; t < kWarmPoints; ++t) (void)forest->Update(&xs[(t % kDataPoints) * dims]);
  return forest;
}

// Score (and with kLearn, then Update) successive points of a warm forest.
template <bool kLearn>
void ScorePoints(benchmark::State& state) {
  const int dims = static_cast<int>(state.range(3));
  const auto xs = NoisySines(kDataPoints, dims);
  auto forest = WarmForest(OptionsFrom(state), dims, xs);
  int t = kWarmPoints;
  double sink = 0;
  for (auto _ : state) {
    const double* x = &xs[(t++ % kDataPoints) * dims];
    sink += forest->Score(x);
    if (kLearn && !forest->Update(x).ok()) state.SkipWithError("update failed");
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}

void BM_RcfScoreAndUpdate(benchmark::State& state) { ScorePoints<true>(state); }
void BM_RcfScore(benchmark::State& state) { ScorePoints<false>(state); }

void BM_RcfSave(benchmark::State& state) {
  const int dims = static_cast<int>(state.range(3));
  const auto xs = NoisySines(kDataPoints, dims);
  auto forest = WarmForest(OptionsFrom(state), dims, xs);
  size_t bytes = 0;
  for (auto _ : state) {
    StateWriter w;
    if (!forest->SerializeTo(&w).ok()) state.SkipWithError("save failed");
    bytes = w.Finish().size();
  }
  state.counters["state_bytes"] = static_cast<double>(bytes);
  state.counters["memory_bytes"] = static_cast<double>(forest->MemoryBytes());
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}

void BM_RcfLoad(benchmark::State& state) {
  const int dims = static_cast<int>(state.range(3));
  const auto xs = NoisySines(kDataPoints, dims);
  const RcfOptions o = OptionsFrom(state);
  auto forest = WarmForest(o, dims, xs);
  StateWriter w;
  (void)forest->SerializeTo(&w);
  const std::string blob = w.Finish();
  auto target = std::move(RandomCutForest::Make(o, dims, 2)).MoveValueUnsafe();
  for (auto _ : state) {
    auto reader = StateReader::Open(blob);
    if (!reader.ok() || !target->DeserializeFrom(&*reader).ok()) state.SkipWithError("load failed");
  }
  state.counters["state_bytes"] = static_cast<double>(blob.size());
  state.SetBytesProcessed(static_cast<int64_t>(blob.size()) * state.iterations());
}

// {trees, sample size, shingle, metrics}: the configuration, the
// compact per-device configuration (RcfOptions::Compact()), a smaller one,
// each for a 1-metric and a 4-metric device.
void Configs(benchmark::internal::Benchmark* b) {
  for (int metrics : {1, 4}) b->Args({50, 256, 8, metrics})->Args({30, 128, 4, metrics})->Args({20, 64, 4, metrics});
}

BENCHMARK(BM_RcfScoreAndUpdate)->Apply(Configs);
BENCHMARK(BM_RcfScore)->Apply(Configs);
BENCHMARK(BM_RcfSave)->Apply(Configs);
BENCHMARK(BM_RcfLoad)->Apply(Configs);

}  // namespace
}  // namespace vigil::internal
