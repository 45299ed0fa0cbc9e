// Generator cost without Kafka: events of the fleet simulator per second and
// bytes of JSON per second, one thread.
//   <build>/bin/vigil_sim_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include "fleet.h"

namespace vigil::sim {
namespace {

void BM_FleetNext(benchmark::State& state) {
  FleetOptions o;
  o.devices = 1000;
  o.metrics = static_cast<int>(state.range(0));
  o.duplicate_rate = state.range(1) ? 0.01 : 0.0;
  o.malformed_rate = state.range(1) ? 0.01 : 0.0;
  o.late_rate = state.range(1) ? 0.01 : 0.0;
  o.oversize_bytes = 4096;
  auto fleet = FleetSimulator::Make(o, nullptr);
  if (!fleet.ok()) {
    state.SkipWithError(fleet.status().ToString().c_str());
    return;
  }
  Record r;
  int64_t bytes = 0;
  for (auto _ : state) {
    (*fleet)->Next(&r);
    bytes += static_cast<int64_t>(r.value.size());
    benchmark::DoNotOptimize(r.value.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_FleetNext)->ArgNames({"metrics", "faults"})->Args({1, 0})->Args({3, 0})->Args({3, 1});

}  // namespace
}  // namespace vigil::sim
