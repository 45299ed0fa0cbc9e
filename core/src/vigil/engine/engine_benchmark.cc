// Events per second through Engine::Process with the default config.
#include <benchmark/benchmark.h>

#include "vigil/engine/engine.h"
#include "vigil/testing/generators.h"

namespace vigil {
namespace {

// Args: devices, metrics per event.
void BM_EngineProcess(benchmark::State& state) {
  const int32_t devices = static_cast<int32_t>(state.range(0));
  const int32_t metrics = static_cast<int32_t>(state.range(1));
  EventBatch batch = testing::MakeFleetBatch(devices, 200000 / devices, metrics, 7);
  auto engine = std::move(Engine::Make(EngineOptions::Defaults())).ValueOrDie();
  VerdictBatch v;
  for (auto _ : state) {
    auto st = engine->Process(batch, &v);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * batch.size());
  state.counters["metrics_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * batch.size() * metrics, benchmark::Counter::kIsRate);
  state.counters["state_bytes_per_device"] = static_cast<double>(engine->memory_bytes()) / engine->num_devices();
  state.counters["blob_bytes_per_device"] = static_cast<double>(engine->SaveAll().size()) / engine->num_devices();
}
BENCHMARK(BM_EngineProcess)->Args({1000, 3})->Args({10000, 3})->Args({1000, 8})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil
