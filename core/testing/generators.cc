#include "vigil/testing/generators.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "vigil/event/decoder.h"

namespace vigil::testing {

namespace {

// Mark [begin, end) as anomalous if it is free; returns false when it overlaps.
bool Claim(std::vector<uint8_t>* busy, int64_t begin, int64_t end) {
  if (begin < 0 || begin >= static_cast<int64_t>(busy->size())) return false;
  end = std::min<int64_t>(end, static_cast<int64_t>(busy->size()));
  for (int64_t i = std::max<int64_t>(0, begin - 20); i < std::min<int64_t>(end + 20, busy->size()); ++i) {
    if ((*busy)[i]) return false;
  }
  for (int64_t i = begin; i < end; ++i) (*busy)[i] = 1;
  return true;
}

}  // namespace

LabelledSeries MakeLabelledSeries(const SeriesOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  LabelledSeries s;
  s.values.resize(o.n);
  s.ts_ms.resize(o.n);
  s.labels.assign(o.n, 0);
  const double phase = unif(rng) * 6.283185307179586;
  for (int64_t i = 0; i < o.n; ++i) {
    s.ts_ms[i] = o.start_ms + i * o.step_ms;
    s.values[i] = o.level + o.season_amplitude * std::sin(phase + 6.283185307179586 * i / o.season_period) +
                  o.noise * gauss(rng);
  }
  const int64_t span = o.n - o.warmup - 200;
  if (span <= 0) return s;
  // -1 (rejected by Claim) when the anomaly does not fit.
  auto pick = [&](int64_t len) -> int64_t {
    if (len >= span) return -1;
    return o.warmup + static_cast<int64_t>(unif(rng) * static_cast<double>(span - len));
  };
  auto sign = [&]() { return unif(rng) < 0.5 ? -1.0 : 1.0; };
  for (int32_t k = 0, tries = 0; k < o.num_shifts && tries < 100; ++tries) {
    const int64_t len = 50 + static_cast<int64_t>(unif(rng) * 100);
    const int64_t at = pick(len);
    if (!Claim(&s.labels, at, at + len)) continue;
    const double d = sign() * (6 + 4 * unif(rng)) * o.noise;
    for (int64_t i = at; i < at + len; ++i) s.values[i] += d;
    ++k;
  }
  for (int32_t k = 0, tries = 0; k < o.num_bursts && tries < 100; ++tries) {
    const int64_t len = 50 + static_cast<int64_t>(unif(rng) * 50);
    const int64_t at = pick(len);
    if (!Claim(&s.labels, at, at + len)) continue;
    for (int64_t i = at; i < at + len; ++i) s.values[i] += 4 * o.noise * gauss(rng);
    ++k;
  }
  for (int32_t k = 0, tries = 0; k < o.num_spikes && tries < 1000; ++tries) {
    const int64_t at = pick(1);
    if (!Claim(&s.labels, at, at + 1)) continue;
    s.values[at] += sign() * (6 + 4 * unif(rng)) * o.noise;
    ++k;
  }
  return s;
}

LabelledMatrix MakeLabelledMatrix(const SeriesOptions& o, int32_t dims) {
  LabelledSeries base = MakeLabelledSeries(o);
  std::mt19937_64 rng(o.seed ^ 0x9E3779B97F4A7C15ULL);
  std::normal_distribution<double> gauss(0.0, 1.0);
  LabelledMatrix m;
  m.dims = dims;
  m.ts_ms = base.ts_ms;
  m.labels = base.labels;
  m.values.resize(o.n * dims);
  for (int64_t i = 0; i < o.n; ++i) {
    for (int32_t d = 0; d < dims; ++d) {
      const double loading = 1.0 + 0.5 * d;
      m.values[i * dims + d] = 10.0 * d + loading * base.values[i] + 0.3 * o.noise * gauss(rng);
    }
  }
  return m;
}

double Auc(std::span<const double> scores, std::span<const uint8_t> labels) {
  const size_t n = scores.size();
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0;
  int64_t pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[idx[j]] == scores[idx[i]]) ++j;
    const double avg_rank = (i + 1 + j) / 2.0;  // 1-based ranks i+1..j
    for (size_t k = i; k < j; ++k) {
      if (labels[idx[k]]) {
        rank_sum += avg_rank;
        ++pos;
      }
    }
    i = j;
  }
  const int64_t neg = static_cast<int64_t>(n) - pos;
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2.0) / (static_cast<double>(pos) * neg);
}

EventBatch MakeFleetBatch(int32_t devices, int64_t n_per_device, int32_t metrics, uint64_t seed,
                          std::vector<uint8_t>* labels) {
  std::vector<LabelledSeries> series;
  for (int32_t d = 0; d < devices; ++d) {
    for (int32_t m = 0; m < metrics; ++m) {
      SeriesOptions o;
      o.n = n_per_device;
      o.seed = seed * 1000003 + d * 131 + m;
      o.level = 10 + 5 * m;
      o.warmup = std::min<int64_t>(300, n_per_device / 4);
      series.push_back(MakeLabelledSeries(o));
    }
  }
  EventBatchBuilder b;
  std::vector<std::string> names;
  for (int32_t m = 0; m < metrics; ++m) {
    char name[16];
    std::snprintf(name, sizeof(name), "m%d", m);
    names.emplace_back(name);
  }
  if (labels) labels->clear();
  uint32_t index = 0;
  char dev[32];
  char eid[48];
  for (int64_t i = 0; i < n_per_device; ++i) {
    for (int32_t d = 0; d < devices; ++d) {
      std::snprintf(dev, sizeof(dev), "dev-%05d", d);
      std::snprintf(eid, sizeof(eid), "dev-%05d-%012lld", d, static_cast<long long>(i));
      b.BeginEvent(index++, eid, dev, series[d * metrics].ts_ms[i], 1, "pump");
      uint8_t label = 0;
      for (int32_t m = 0; m < metrics; ++m) {
        const LabelledSeries& s = series[d * metrics + m];
        b.AddMetric(names[m], s.values[i]);
        label |= s.labels[i];
      }
      (void)b.FinishEvent();
      if (labels) labels->push_back(label);
    }
  }
  return b.Finish();
}

JsonEvents MakeJsonEvents(int64_t n, uint64_t seed, int32_t devices, bool rfc3339) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  JsonEvents ev;
  ev.offsets.push_back(0);
  char buf[512];
  const int64_t start = 1795428000000LL;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t d = static_cast<int32_t>(i % devices);
    const int64_t ts = start + (i / devices) * 1000;
    std::string ts_text;
    if (rfc3339) {
      ts_text.push_back('"');
      ts_text.append(FormatRfc3339Ms(ts));
      ts_text.push_back('"');
    } else {
      ts_text = std::to_string(ts);
    }
    const int len = std::snprintf(
        buf, sizeof(buf),
        "{\"schema_version\":1,\"event_id\":\"dev-%05d-%012lld\",\"device_id\":\"dev-%05d\","
        "\"ts\":%s,\"metrics\":{\"temperature\":%.3f,\"vibration\":%.5f,\"pressure\":%.2f},"
        "\"tags\":{\"device_class\":\"pump\",\"site\":\"plant-1\"}}",
        d, static_cast<long long>(i / devices), d, ts_text.c_str(), 21.5 + gauss(rng),
        0.02 + 0.001 * gauss(rng), 101.3 + 0.5 * gauss(rng));
    ev.data.append(buf, len);
    ev.offsets.push_back(static_cast<int32_t>(ev.data.size()));
  }
  return ev;
}

}  // namespace vigil::testing
