// Points per second of the pca detector's score-then-learn loop, one device,
// by number of metrics (the eigen refresh every `refresh` points included).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "vigil/detect/pca.h"
#include "vigil/testing/generators.h"

namespace vigil {
namespace {

void BM_PcaScoreAndUpdate(benchmark::State& state) {
  const int32_t dims = static_cast<int32_t>(state.range(0));
  PcaOptions o;
  o.refresh = static_cast<int32_t>(state.range(1));
  auto factory = std::move(MakePcaFactory(o)).ValueOrDie();
  std::vector<std::string> names;
  for (int32_t d = 0; d < dims; ++d) names.push_back(std::string("m").append(std::to_string(d)));
  auto det = std::move(factory->Create({"pump", names, 1})).ValueOrDie();
  testing::LabelledMatrix m = testing::MakeLabelledMatrix({.n = 1 << 14, .seed = 3}, dims);
  const int64_t n = static_cast<int64_t>(m.ts_ms.size());
  for (int64_t i = 0; i < 2000; ++i) det->ScoreAndUpdateTrusted({m.ts_ms[i % n], m.row(i % n)});  // warm
  for (auto _ : state) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += det->ScoreAndUpdateTrusted({m.ts_ms[i], m.row(i)});
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}
// {metrics, refresh}: SKAB's 8 metrics, the simulator's 3, a wide device of 32.
BENCHMARK(BM_PcaScoreAndUpdate)->Args({3, 50})->Args({8, 50})->Args({8, 10})->Args({32, 50});

}  // namespace
}  // namespace vigil
