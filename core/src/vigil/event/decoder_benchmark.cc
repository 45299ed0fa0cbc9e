#include <benchmark/benchmark.h>

#include "vigil/event/decoder.h"
#include "vigil/testing/generators.h"

namespace vigil {
namespace {

void BM_Decode(benchmark::State& state) {
  const bool rfc3339 = state.range(0) != 0;
  auto ev = testing::MakeJsonEvents(10000, 1, 100, rfc3339);
  auto decoder = std::move(Decoder::Make(DecoderOptions::Defaults())).ValueOrDie();
  EventBatch batch;
  std::vector<Reject> rejects;
  for (auto _ : state) {
    auto st = decoder->Decode(reinterpret_cast<const uint8_t*>(ev.data.data()), ev.offsets.data(), ev.size(),
                              &batch, &rejects);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(batch.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(ev.data.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * ev.size());
  state.counters["bytes_per_event"] = static_cast<double>(ev.data.size()) / ev.size();
}
BENCHMARK(BM_Decode)->Arg(1)->Arg(0)->ArgName("rfc3339");

}  // namespace
}  // namespace vigil
