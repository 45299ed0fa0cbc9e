// Events per second through Engine::Process with the default config.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <utility>

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

// The Spark job's per-batch state cost: one bucket's blob of warm devices (every
// member past its warm-up, pca with a model). Args: devices, metrics per event.
const std::string& WarmBlob(int32_t devices, int32_t metrics) {
  static std::string blob;
  static std::pair<int32_t, int32_t> made{0, 0};
  if (made != std::pair{devices, metrics}) {
    auto engine = std::move(Engine::Make(EngineOptions::Defaults())).ValueOrDie();
    VerdictBatch v;
    auto st = engine->Process(testing::MakeFleetBatch(devices, 250, metrics, 7), &v);
    if (!st.ok()) std::abort();
    blob = engine->SaveAll();
    made = {devices, metrics};
  }
  return blob;
}

// As the job does every batch: clear the bucket's engine, load the blob it saved.
void BM_EngineLoadAll(benchmark::State& state) {
  const std::string& blob = WarmBlob(static_cast<int32_t>(state.range(0)), static_cast<int32_t>(state.range(1)));
  auto engine = std::move(Engine::Make(EngineOptions::Defaults())).ValueOrDie();
  if (!engine->LoadAll(blob).ok()) std::abort();
  for (auto _ : state) {
    engine->Clear();
    auto st = engine->LoadAll(blob);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));  // devices/s
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * blob.size()));
  state.counters["blob_bytes_per_device"] = static_cast<double>(blob.size()) / static_cast<double>(state.range(0));
}
BENCHMARK(BM_EngineLoadAll)->Args({5000, 3})->Unit(benchmark::kMillisecond);

// Into an engine that never held these devices (a restart, another worker).
void BM_EngineLoadAllFresh(benchmark::State& state) {
  const std::string& blob = WarmBlob(static_cast<int32_t>(state.range(0)), static_cast<int32_t>(state.range(1)));
  auto engine = std::move(Engine::Make(EngineOptions::Defaults())).ValueOrDie();
  for (auto _ : state) {
    state.PauseTiming();
    engine = std::move(Engine::Make(EngineOptions::Defaults())).ValueOrDie();  // frees the last one
    state.ResumeTiming();
    auto st = engine->LoadAll(blob);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * blob.size()));
}
BENCHMARK(BM_EngineLoadAllFresh)->Args({5000, 3})->Unit(benchmark::kMillisecond);

void BM_EngineSaveAll(benchmark::State& state) {
  const std::string& blob = WarmBlob(static_cast<int32_t>(state.range(0)), static_cast<int32_t>(state.range(1)));
  auto engine = std::move(Engine::Make(EngineOptions::Defaults())).ValueOrDie();
  if (!engine->LoadAll(blob).ok()) std::abort();
  for (auto _ : state) {
    std::string out = engine->SaveAll();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * blob.size()));
}
BENCHMARK(BM_EngineSaveAll)->Args({5000, 3})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil
