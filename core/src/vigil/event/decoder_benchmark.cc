#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "vigil/event/decoder.h"
#include "vigil/event/decoder_internal.h"
#include "vigil/event/fast_parse_internal.h"
#include "vigil/testing/generators.h"

namespace vigil {
namespace {

// Python's json.dumps spelling of the same events: ", " and ": " separators.
testing::JsonEvents Spaced(const testing::JsonEvents& ev) {
  testing::JsonEvents out;
  out.offsets.push_back(0);
  for (int64_t i = 0; i < ev.size(); ++i) {
    bool in_string = false;
    for (int32_t k = ev.offsets[i]; k < ev.offsets[i + 1]; ++k) {
      const char c = ev.data[static_cast<size_t>(k)];
      out.data.push_back(c);
      if (c == '"') in_string = !in_string;
      if (!in_string && (c == ',' || c == ':')) out.data.push_back(' ');
    }
    out.offsets.push_back(static_cast<int32_t>(out.data.size()));
  }
  return out;
}

void Run(benchmark::State& state, Decoder& decoder, const testing::JsonEvents& ev) {
  EventBatch batch;
  std::vector<Reject> rejects;
  for (auto _ : state) {
    auto st = decoder.Decode(reinterpret_cast<const uint8_t*>(ev.data.data()), ev.offsets.data(), ev.size(), &batch,
                             &rejects);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(batch.size());
  }
  if (batch.size() != ev.size()) state.SkipWithError("not every event decoded");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(ev.data.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * ev.size());
  state.counters["bytes_per_event"] = static_cast<double>(ev.data.size()) / static_cast<double>(ev.size());
}

// 10,000 typical events (231 bytes with an RFC 3339 ts, 218 with epoch ms;
// 3 metrics, tags) in one Arrow binary batch, as the decoder ships.
void BM_Decode(benchmark::State& state) {
  auto ev = testing::MakeJsonEvents(10000, 1, 100, state.range(0) != 0);
  auto decoder = std::move(Decoder::Make(DecoderOptions::Defaults())).ValueOrDie();
  Run(state, *decoder, ev);
}
BENCHMARK(BM_Decode)->Arg(1)->Arg(0)->ArgName("rfc3339");

// The same events with json.dumps' spaces (still the fast path).
void BM_DecodeSpaced(benchmark::State& state) {
  auto ev = Spaced(testing::MakeJsonEvents(10000, 1, 100, true));
  auto decoder = std::move(Decoder::Make(DecoderOptions::Defaults())).ValueOrDie();
  Run(state, *decoder, ev);
}
BENCHMARK(BM_DecodeSpaced);

// Every event through simdjson On-Demand: what events outside the fast subset
// (escapes, UTF-8, tabs or newlines, nested values in tags) cost.
void BM_DecodeSimdjsonOnly(benchmark::State& state) {
  auto ev = testing::MakeJsonEvents(10000, 1, 100, state.range(0) != 0);
  auto decoder = std::move(internal::MakeDecoder(DecoderOptions::Defaults(), false)).ValueOrDie();
  Run(state, *decoder, ev);
}
BENCHMARK(BM_DecodeSimdjsonOnly)->Arg(1)->Arg(0)->ArgName("rfc3339");

// The fast parser alone, without building the batch.
void BM_FastParseOnly(benchmark::State& state) {
  auto ev = testing::MakeJsonEvents(10000, 1, 100, true);
  auto parser = std::make_unique<internal::FastParser>();
  for (auto _ : state) {
    int64_t ok = 0;
    for (int64_t i = 0; i < ev.size(); ++i) {
      const auto b = static_cast<size_t>(ev.offsets[i]), e = static_cast<size_t>(ev.offsets[i + 1]);
      ok += parser->Parse(ev.data.data() + b, e - b, ev.data.size() - b);
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(ev.data.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * ev.size());
}
BENCHMARK(BM_FastParseOnly);

}  // namespace
}  // namespace vigil
