// Points per second of each detector's score-then-learn loop, one key.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "vigil/detect/detector.h"
#include "vigil/testing/generators.h"

namespace vigil {
namespace {

void RunDetector(benchmark::State& state, const std::string& name, Params params) {
  auto factory = std::move(DetectorRegistry::Global()->MakeFactory(name, params)).ValueOrDie();
  const std::string names[1] = {"m0"};
  auto det = std::move(factory->Create({"pump", names, 1})).ValueOrDie();
  testing::LabelledSeries s = testing::MakeLabelledSeries({.n = 1 << 16, .seed = 3});
  std::vector<double> scores(s.values.size());
  for (auto _ : state) {
    auto st = det->ScoreAndUpdateBatch(s.values, s.ts_ms, scores);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(scores.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(s.values.size()));
}

void BM_Ewma(benchmark::State& state) { RunDetector(state, "ewma", Params("detectors.ewma")); }
void BM_Robust(benchmark::State& state) { RunDetector(state, "robust", Params("detectors.robust")); }
void BM_RobustUngated(benchmark::State& state) {  // gate 0: the scale learns every point
  Params p("detectors.robust");
  p.Set("gate", "0");
  RunDetector(state, "robust", p);
}
void BM_Cusum(benchmark::State& state) { RunDetector(state, "cusum", Params("detectors.cusum")); }
void BM_PageHinkley(benchmark::State& state) { RunDetector(state, "page_hinkley", Params("detectors.page_hinkley")); }
void BM_Rules(benchmark::State& state) {
  Params p("detectors.rules");
  p.Child("limits").Child("*").Child("*").Set("min", "0").Set("max", "100").Set("max_rate_per_s", "50").Set(
      "flatline_readings", "30");
  RunDetector(state, "rules", p);
}
BENCHMARK(BM_Ewma);
BENCHMARK(BM_Robust);
BENCHMARK(BM_RobustUngated);
BENCHMARK(BM_Cusum);
BENCHMARK(BM_PageHinkley);
BENCHMARK(BM_Rules);

// The per-point virtual path the engine uses (one detector, one point at a time).
void BM_EwmaPerPointVirtual(benchmark::State& state) {
  auto factory = std::move(DetectorRegistry::Global()->MakeFactory("ewma", Params("detectors.ewma"))).ValueOrDie();
  const std::string names[1] = {"m0"};
  auto det = std::move(factory->Create({"pump", names, 1})).ValueOrDie();
  testing::LabelledSeries s = testing::MakeLabelledSeries({.n = 1 << 16, .seed = 3});
  for (auto _ : state) {
    double sum = 0;
    for (size_t i = 0; i < s.values.size(); ++i) sum += det->ScoreAndUpdateTrusted({s.ts_ms[i], {&s.values[i], 1}});
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(s.values.size()));
}
BENCHMARK(BM_EwmaPerPointVirtual);

}  // namespace
}  // namespace vigil
