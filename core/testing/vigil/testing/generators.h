// vigil/testing/generators.h: seeded synthetic series with anomaly labels.
//
// Every generator is deterministic for a seed. A LabelledSeries has one value
// per point and label 1 on injected anomalies (spikes, level shifts, flatlines,
// variance bursts), 0 elsewhere.
//
//   auto s = vigil::testing::MakeLabelledSeries({.n = 5000, .seed = 7});
//   double auc = vigil::testing::Auc(scores, s.labels);
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vigil/event/event_batch.h"

namespace vigil::testing {

struct SeriesOptions {
  int64_t n = 4000;
  uint64_t seed = 1;
  double level = 20;          ///< base level
  double noise = 1;           ///< std of the Gaussian noise
  double season_amplitude = 2;
  int64_t season_period = 200;
  int64_t warmup = 300;       ///< no anomaly before this point
  int32_t num_spikes = 12;    ///< single-point spikes of 6..10 noise std
  int32_t num_shifts = 2;     ///< level shifts of 6..10 std lasting 50..150 points
  int32_t num_bursts = 1;     ///< variance bursts (x5) lasting 50..100 points
  int64_t step_ms = 1000;     ///< event-time step
  int64_t start_ms = 1795428000000LL;
};

struct LabelledSeries {
  std::vector<double> values;
  std::vector<int64_t> ts_ms;
  std::vector<uint8_t> labels;
};

LabelledSeries MakeLabelledSeries(const SeriesOptions& opts);

/// \brief `dims` correlated series (a shared latent factor + noise) with labels per point.
struct LabelledMatrix {
  int32_t dims = 0;
  std::vector<double> values;  ///< row-major, n * dims
  std::vector<int64_t> ts_ms;
  std::vector<uint8_t> labels;
  std::span<const double> row(int64_t i) const { return {values.data() + i * dims, size_t(dims)}; }
};

LabelledMatrix MakeLabelledMatrix(const SeriesOptions& opts, int32_t dims);

/// \brief Area under the ROC curve of scores against 0/1 labels (ties count half).
double Auc(std::span<const double> scores, std::span<const uint8_t> labels);

/// \brief Build an EventBatch of `devices` devices x n events each, interleaved in time,
/// metrics "m0".."m{k-1}", device ids "dev-00000".., class "pump". Labels per event in *labels.
EventBatch MakeFleetBatch(int32_t devices, int64_t n_per_device, int32_t metrics, uint64_t seed,
                          std::vector<uint8_t>* labels = nullptr);

/// \brief Typical JSON events (about 200 bytes each), in Arrow binary layout.
struct JsonEvents {
  std::string data;
  std::vector<int32_t> offsets;  ///< n + 1
  int64_t size() const { return static_cast<int64_t>(offsets.size()) - 1; }
};
JsonEvents MakeJsonEvents(int64_t n, uint64_t seed, int32_t devices = 100, bool rfc3339 = true);

}  // namespace vigil::testing
