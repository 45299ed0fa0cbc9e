// Engine state round trip: an engine restored by LoadAll(SaveAll()) must behave
// exactly like the one that kept running (the Spark job's engine cache skips
// LoadAll when it holds the engine that wrote the blob, so both paths must agree
// to the bit: same verdicts, scores, explanations, anomaly ids, next blob).
#include <gtest/gtest.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "vigil/engine/engine.h"
#include "vigil/testing/generators.h"
#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

// A seeded fleet whose devices differ the way real ones do: device classes with
// and without rules, 1 to 5 metrics (univariate devices get no pca), metrics in
// varying order, metrics missing from some events (carried forward) and one
// appearing late (not a pca dimension), flatlines, event-time gaps, repeated and
// out-of-order timestamps, spikes, level shifts and variance bursts. Events are
// interleaved in time across devices and cut into batches of varying size.
// `variant` shifts which class and how many metrics each device id gets.
std::vector<EventBatch> MakeMixedStream(uint64_t seed, int32_t devices, int64_t n_per_device, int32_t variant = 0) {
  static const char* const kClasses[] = {"pump", "compressor", "hvac", "", "turbine"};
  static const char* const kMetrics[] = {"temperature", "vibration", "pressure", "current", "flow"};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  struct Dev {
    std::string id, cls;
    int32_t metrics;
    std::vector<testing::LabelledSeries> series;
    int64_t ts;
    int64_t step;
  };
  std::vector<Dev> fleet;
  for (int32_t d = 0; d < devices; ++d) {
    Dev dev;
    char id[32];
    std::snprintf(id, sizeof(id), "dev-%05d", d);
    dev.id = id;
    dev.cls = kClasses[(d + variant) % 5];
    dev.metrics = 1 + static_cast<int32_t>((d + 2 * variant) % 5);
    dev.step = 500 + 250 * (d % 4);
    dev.ts = 1795428000000LL + static_cast<int64_t>(unif(rng) * 1000);
    for (int32_t m = 0; m < dev.metrics; ++m) {
      testing::SeriesOptions o;
      o.n = n_per_device;
      o.seed = seed * 7919 + static_cast<uint64_t>(d) * 31 + static_cast<uint64_t>(m);
      o.level = 10 + 7 * m + d;
      o.noise = m == 1 ? 0.01 : 1.0;
      o.warmup = n_per_device / 5;
      o.num_spikes = 6;
      o.num_shifts = 1;
      o.num_bursts = 1;
      dev.series.push_back(testing::MakeLabelledSeries(o));
    }
    // A stuck sensor for a while (flatline rule of the reference classes).
    if (d % 3 == 0) {
      auto& v = dev.series[0].values;
      const int64_t at = n_per_device / 2 + d;
      for (int64_t i = at; i < std::min<int64_t>(at + 20, n_per_device); ++i) v[i] = v[at];
    }
    // A quantized sensor (repeats legitimately).
    if (dev.metrics >= 3) {
      for (double& x : dev.series[2].values) x = std::round(x);
    }
    fleet.push_back(std::move(dev));
  }
  EventBatchBuilder b;
  std::vector<EventBatch> batches;
  uint32_t index = 0;
  int64_t in_batch = 0;
  int64_t batch_len = 37;
  char eid[64];
  for (int64_t i = 0; i < n_per_device; ++i) {
    for (Dev& dev : fleet) {
      // Event time: mostly regular; sometimes a long gap, a repeat or a step back.
      const double r = unif(rng);
      if (r < 0.004) {
        dev.ts += dev.step * 40;
      } else if (r < 0.01) {
        dev.ts -= dev.step / 2;
      } else if (r > 0.995) {
        // same timestamp again
      } else {
        dev.ts += dev.step;
      }
      std::snprintf(eid, sizeof(eid), "%s-%012" PRId64, dev.id.c_str(), i);
      b.BeginEvent(index++, eid, dev.id, dev.ts, 1, dev.cls);
      std::vector<int32_t> order(static_cast<size_t>(dev.metrics));
      for (int32_t m = 0; m < dev.metrics; ++m) order[m] = m;
      if (i > 0) std::shuffle(order.begin(), order.end(), rng);
      int32_t skipped = 0;
      for (int32_t m : order) {
        // After the first event a metric is sometimes missing (carried forward).
        if (i > 0 && unif(rng) < 0.03 && skipped + 1 < dev.metrics) {
          ++skipped;
          continue;
        }
        b.AddMetric(kMetrics[m], dev.series[m].values[i]);
      }
      // A metric that appears late: a univariate key, not a pca dimension.
      if (i > n_per_device / 3 && dev.metrics >= 2) b.AddMetric("late_metric", dev.series[0].values[i] * 0.5);
      EXPECT_OK(b.FinishEvent());
      if (++in_batch >= batch_len) {
        batches.push_back(b.Finish());
        in_batch = 0;
        batch_len = 17 + static_cast<int64_t>(unif(rng) * 400);
      }
    }
  }
  if (in_batch > 0) batches.push_back(b.Finish());
  return batches;
}

// Every column of a verdict, bit-exact (doubles as hex floats; NaN compares equal).
std::string Row(const VerdictBatch& v, int64_t i) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "#%u score=%a sev=%u anom=%u mask=%08x obs=%a lo=%a hi=%a metric=", v.index[i],
                v.score[i], v.severity[i], v.is_anomaly[i], v.detector_mask[i], v.observed[i], v.expected_lo[i],
                v.expected_hi[i]);
  return std::string(buf) + v.top_metric[i] + " explain=" + v.explanation_json[i];
}

std::vector<std::string> Rows(const VerdictBatch& v) {
  std::vector<std::string> rows;
  for (int64_t i = 0; i < v.size(); ++i) rows.push_back(Row(v, i));
  return rows;
}

// Compare row by row, naming the first difference (a whole-vector EXPECT_EQ drowns it).
void ExpectSameVerdicts(const std::vector<std::string>& want, const std::vector<std::string>& got,
                        const std::string& where) {
  ASSERT_EQ(want.size(), got.size()) << where;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want[i], got[i]) << where << ", verdict " << i;
  }
}

int64_t CountAnomalies(const std::vector<std::string>& rows) {
  return std::count_if(rows.begin(), rows.end(), [](const std::string& r) { return r.find(" anom=1 ") != r.npos; });
}

class StateRoundTripTest : public ::testing::TestWithParam<const char*> {
 protected:
  EngineOptions Options() const {
    const std::string name = GetParam();
    if (name == "default") return EngineOptions::FromYamlFile(VIGIL_SOURCE_DIR "/config/detectors.yaml").ValueOrDie();
    // Every other member and calibration: page_hinkley, tail calibration, explain all, rcf.
    std::string yaml = R"(
seed: 7
explain: all
ensemble: {threshold: 0.5, fire_threshold: 0.5, min_fired: 1, smoothing: 0.2, smoothed_threshold: 0.5,
           smoothed_release: 0.3}
detectors:
  ewma: {halflife: 50, warmup: 10, calibration: {kind: tail, center: 3, scale: 0.5, warmup: 20, halflife: 100}}
  robust: {weight: 0.7, refractory: 5, warmup: 16, gate: 6, holdoff: 20}
  cusum: {warmup: 20, refractory: 3}
  page_hinkley: {warmup: 20, delta: 0.2, limit: 5}
  rules: {limits: {pump: {"*": {flatline_readings: 5, max_rate_per_s: 40}}, "*": {temperature: {min: 0, max: 60}}}}
  gap: {factor: 5, warmup: 5}
  pca: {warmup: 30, refresh: 7, smoothing: 0.5, gate: 3, holdoff: 15, gate_after: 20}
)";
    if (name == "all_rcf") yaml += "  rcf: {num_trees: 8, sample_size: 32, shingle_size: 2}\n";
    return EngineOptions::FromYaml(yaml).ValueOrDie();
  }
};

// Uninterrupted vs restored from the blob at a split point, at several points.
TEST_P(StateRoundTripTest, RestoredEngineMatchesTheUninterruptedOne) {
  const std::vector<EventBatch> batches = MakeMixedStream(11, 25, 700);
  ASSERT_GT(batches.size(), 20u);
  ASSERT_OK_AND_ASSIGN(auto full, Engine::Make(Options()));
  std::vector<std::vector<std::string>> want;
  VerdictBatch v;
  for (const EventBatch& b : batches) {
    ASSERT_OK(full->Process(b, &v));
    want.push_back(Rows(v));
  }
  const std::string want_final = full->SaveAll();
  int64_t anomalies = 0;
  for (const auto& rows : want) anomalies += CountAnomalies(rows);
  ASSERT_GT(anomalies, 100) << "the stream must exercise the alarm paths";

  const size_t n = batches.size();
  for (size_t split : {size_t{1}, size_t{3}, n / 4, n / 3, n / 2, 2 * n / 3, n - 1}) {
    ASSERT_OK_AND_ASSIGN(auto head, Engine::Make(Options()));
    for (size_t k = 0; k < split; ++k) ASSERT_OK(head->Process(batches[k], &v));
    const std::string blob = head->SaveAll();
    ASSERT_OK_AND_ASSIGN(auto restored, Engine::Make(Options()));
    ASSERT_OK(restored->LoadAll(blob));
    ASSERT_EQ(restored->SaveAll(), blob) << "split " << split << ": the blob does not survive a reload";
    for (size_t k = split; k < n; ++k) {
      ASSERT_OK(restored->Process(batches[k], &v));
      ExpectSameVerdicts(want[k], Rows(v), "split " + std::to_string(split) + ", batch " + std::to_string(k));
    }
    ASSERT_EQ(restored->SaveAll(), want_final) << "split " << split;
  }
}

// The Spark job without its engine cache: a fresh engine loads the blob every batch.
TEST_P(StateRoundTripTest, SaveAndLoadEveryBatchMatchesNever) {
  const std::vector<EventBatch> batches = MakeMixedStream(23, 20, 600);
  ASSERT_OK_AND_ASSIGN(auto kept, Engine::Make(Options()));
  ASSERT_OK_AND_ASSIGN(auto reused, Engine::Make(Options()));  // Clear() + LoadAll, as transform.py
  std::string blob;
  std::string blob2;
  VerdictBatch va, vb, vc;
  for (size_t k = 0; k < batches.size(); ++k) {
    ASSERT_OK(kept->Process(batches[k], &va));
    ASSERT_OK_AND_ASSIGN(auto fresh, Engine::Make(Options()));
    if (!blob.empty()) ASSERT_OK(fresh->LoadAll(blob));
    ASSERT_OK(fresh->Process(batches[k], &vb));
    reused->Clear();
    if (!blob2.empty()) ASSERT_OK(reused->LoadAll(blob2));
    ASSERT_OK(reused->Process(batches[k], &vc));
    const auto want = Rows(va);
    ExpectSameVerdicts(want, Rows(vb), "fresh engine, batch " + std::to_string(k));
    ExpectSameVerdicts(want, Rows(vc), "reused engine, batch " + std::to_string(k));
    blob = fresh->SaveAll();
    blob2 = reused->SaveAll();
    ASSERT_EQ(blob, kept->SaveAll()) << "batch " << k;
    ASSERT_EQ(blob2, blob) << "batch " << k;
  }
}

// Devices saved and loaded one by one (SaveDevice / LoadDevice) continue the same way.
TEST_P(StateRoundTripTest, PerDeviceBlobsMatchTheUninterruptedEngine) {
  const std::vector<EventBatch> batches = MakeMixedStream(5, 12, 500);
  const size_t split = batches.size() / 2;
  ASSERT_OK_AND_ASSIGN(auto full, Engine::Make(Options()));
  VerdictBatch v, w;
  for (size_t k = 0; k < split; ++k) ASSERT_OK(full->Process(batches[k], &v));
  ASSERT_OK_AND_ASSIGN(auto restored, Engine::Make(Options()));
  for (int d = 0; d < 12; ++d) {
    char id[16];
    std::snprintf(id, sizeof(id), "dev-%05d", d);
    ASSERT_OK_AND_ASSIGN(std::string blob, full->SaveDevice(id));
    ASSERT_OK(restored->LoadDevice(id, blob));
  }
  for (size_t k = split; k < batches.size(); ++k) {
    ASSERT_OK(full->Process(batches[k], &v));
    ASSERT_OK(restored->Process(batches[k], &w));
    ExpectSameVerdicts(Rows(v), Rows(w), "batch " + std::to_string(k));
  }
  EXPECT_EQ(restored->SaveAll(), full->SaveAll());
}

// LoadAll after Clear reuses the cleared devices' objects. Whatever they held --
// a later state of the same devices, or devices of the same ids with other
// classes and metrics -- the engine must continue exactly as a fresh one would.
TEST_P(StateRoundTripTest, ClearThenLoadAllForgetsWhatTheEngineHeld) {
  const std::vector<EventBatch> batches = MakeMixedStream(31, 15, 500);
  const std::vector<EventBatch> other = MakeMixedStream(32, 20, 300, /*variant=*/1);
  const size_t split = batches.size() / 2;
  VerdictBatch v;
  ASSERT_OK_AND_ASSIGN(auto source, Engine::Make(Options()));
  for (size_t k = 0; k < split; ++k) ASSERT_OK(source->Process(batches[k], &v));
  const std::string blob = source->SaveAll();
  std::vector<std::string> want;
  ASSERT_OK_AND_ASSIGN(auto fresh, Engine::Make(Options()));
  ASSERT_OK(fresh->LoadAll(blob));
  for (size_t k = split; k < batches.size(); ++k) {
    ASSERT_OK(fresh->Process(batches[k], &v));
    for (const std::string& row : Rows(v)) want.push_back(row);
  }
  const std::string want_final = fresh->SaveAll();

  ASSERT_OK_AND_ASSIGN(auto ahead, Engine::Make(Options()));  // the same devices, further on
  for (const EventBatch& b : batches) ASSERT_OK(ahead->Process(b, &v));
  ASSERT_OK_AND_ASSIGN(auto foreign, Engine::Make(Options()));  // same ids, other classes and metrics
  for (const EventBatch& b : other) ASSERT_OK(foreign->Process(b, &v));
  for (auto* e : {ahead.get(), foreign.get()}) {
    SCOPED_TRACE(e == ahead.get() ? "ahead" : "foreign");
    e->Clear();
    EXPECT_EQ(e->num_devices(), 0);
    ASSERT_OK(e->LoadAll(blob));
    EXPECT_EQ(e->num_devices(), source->num_devices());
    ASSERT_EQ(e->SaveAll(), blob);
    std::vector<std::string> got;
    for (size_t k = split; k < batches.size(); ++k) {
      ASSERT_OK(e->Process(batches[k], &v));
      for (const std::string& row : Rows(v)) got.push_back(row);
    }
    ExpectSameVerdicts(want, got, "after the split");
    EXPECT_EQ(e->SaveAll(), want_final);
  }
}

// A member the blob lacks (configured since it was saved) starts fresh, also in a
// recycled device whose detector of that member had learned.
TEST(StateRoundTripMembersTest, MembersMissingFromTheBlobStartFresh) {
  ASSERT_OK_AND_ASSIGN(auto without, EngineOptions::FromYaml(
      "detectors: {ewma: {}, robust: {}, rules: {limits: {pump: {\"*\": {flatline_readings: 12}}}}, gap: {}}\n"));
  const EngineOptions with = EngineOptions::FromYamlFile(VIGIL_SOURCE_DIR "/config/detectors.yaml").ValueOrDie();
  const std::vector<EventBatch> batches = MakeMixedStream(41, 10, 400);
  const size_t split = batches.size() / 2;
  VerdictBatch v, w;
  ASSERT_OK_AND_ASSIGN(auto old, Engine::Make(without));
  for (size_t k = 0; k < split; ++k) ASSERT_OK(old->Process(batches[k], &v));
  const std::string blob = old->SaveAll();
  ASSERT_OK_AND_ASSIGN(auto fresh, Engine::Make(with));
  ASSERT_OK(fresh->LoadAll(blob));
  ASSERT_OK_AND_ASSIGN(auto recycled, Engine::Make(with));
  for (const EventBatch& b : batches) ASSERT_OK(recycled->Process(b, &v));  // cusum and pca warm
  recycled->Clear();
  ASSERT_OK(recycled->LoadAll(blob));
  EXPECT_EQ(recycled->SaveAll(), fresh->SaveAll());
  for (size_t k = split; k < batches.size(); ++k) {
    ASSERT_OK(fresh->Process(batches[k], &v));
    ASSERT_OK(recycled->Process(batches[k], &w));
    ExpectSameVerdicts(Rows(v), Rows(w), "batch " + std::to_string(k));
  }
}

// Values a broken sensor or producer can send (finite, so the decoder accepts them):
// whatever state they drive the detectors into must still save and load.
TEST_P(StateRoundTripTest, ExtremeValuesKeepTheStateLoadable) {
  std::vector<EventBatch> batches = MakeMixedStream(3, 10, 400);
  constexpr double kExtremes[] = {1e300, -1e300, std::numeric_limits<double>::max(),
                                  -std::numeric_limits<double>::max(), 1e155, -1e155, 4.9e-324, -0.0};
  // Rewrite some values of some devices (in place, before any engine sees them).
  std::vector<EventBatch> rewritten;
  int64_t seen = 0;
  for (const EventBatch& b : batches) {
    EventBatchBuilder out;
    for (int64_t i = 0; i < b.size(); ++i) {
      out.BeginEvent(b.source_index(i), b.event_id(i), b.device_id(i), b.ts_ms(i), 1, b.device_class(i));
      const auto ids = b.metric_ids(i);
      for (size_t k = 0; k < ids.size(); ++k) {
        double x = b.metric_values(i)[k];
        ++seen;
        // Early (warm-up), then a few later on, then a run of them.
        if (seen % 997 == 5 || (seen > 20000 && seen < 20060)) x = kExtremes[(seen / 7) % 8];
        out.AddMetric(b.metric_name(ids[k]), x);
      }
      EXPECT_OK(out.FinishEvent());
    }
    rewritten.push_back(out.Finish());
  }
  ASSERT_OK_AND_ASSIGN(auto kept, Engine::Make(Options()));
  std::string blob;
  VerdictBatch va, vb;
  for (size_t k = 0; k < rewritten.size(); ++k) {
    ASSERT_OK(kept->Process(rewritten[k], &va));
    ASSERT_OK_AND_ASSIGN(auto fresh, Engine::Make(Options()));
    SCOPED_TRACE("batch " + std::to_string(k));
    if (!blob.empty()) ASSERT_OK(fresh->LoadAll(blob));
    ASSERT_OK(fresh->Process(rewritten[k], &vb));
    ExpectSameVerdicts(Rows(va), Rows(vb), "batch " + std::to_string(k));
    blob = fresh->SaveAll();
    ASSERT_EQ(blob, kept->SaveAll()) << "batch " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, StateRoundTripTest, ::testing::Values("default", "all", "all_rcf"),
                         [](const ::testing::TestParamInfo<const char*>& i) { return std::string(i.param); });

}  // namespace
}  // namespace vigil
