// evaluate/series.h: load scored series and label windows for evaluation.
//
// A scores file is what `vigil backtest` writes (CSV with any delimiter, or JSON
// lines): one row per input row with a prediction (`is_anomaly`), and either
// the ground truth in a label column (SKAB `anomaly`/`changepoint`, NAB-style
// `label`) or anomaly windows from a separate labels file.
//
//   LoadOptions opts;
//   VIGIL_ASSIGN_OR_RAISE(Series s, LoadSeries("out/valve1-0.csv", opts));
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil::evaluate {

/// \brief A closed time interval [start_ms, end_ms] of epoch milliseconds.
struct Window {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

/// \brief One scored stream: per row its time, prediction and ground truth.
struct Series {
  std::string name;
  /// Epoch milliseconds; row index x 1000 when the file has no timestamp column.
  std::vector<int64_t> ts;
  std::vector<uint8_t> predicted;
  /// The score column (anomaly_score) when the file has one, else empty.
  std::vector<double> score;
  std::vector<uint8_t> label;
  /// Changepoint markup (SKAB); empty when the file has no such column.
  std::vector<uint8_t> changepoint;
  /// Windows from a labels file; when set, they define `label` and the NAB windows.
  std::optional<std::vector<Window>> windows;

  size_t size() const { return ts.size(); }
};

struct LoadOptions {
  /// The 0/1 (or true/false) prediction column.
  std::string prediction_column = "is_anomaly";
  /// With a threshold, a row is predicted anomalous when this column is >= it.
  std::string score_column = "anomaly_score";
  std::optional<double> threshold;
  /// With a threshold: compare an exponential moving average of the score
  /// (ema = alpha * score + (1 - alpha) * ema, from 0 at each file's start) instead
  /// of the score itself; a what-if for debounced alarm policies.
  std::optional<double> smooth_alpha;
  /// Empty: "anomaly", else "label", else "is_anomaly_label". Ignored with a labels file.
  std::string label_column;
  /// Empty: "changepoint" when present. "none": ignore changepoints.
  std::string changepoint_column;
  /// Empty: "timestamp", "datetime", "ts", "time", "date", else the row index.
  std::string timestamp_column;
  /// '\0' detects it.
  char delimiter = '\0';
  /// The labels come from a windows file, so no label column is needed.
  bool labels_from_windows = false;
};

/// \brief Return score >= threshold per row, on the score's EMA when `smooth_alpha` is set.
std::vector<uint8_t> ThresholdScores(const std::vector<double>& scores, double threshold,
                                     std::optional<double> smooth_alpha);

/// \brief Read a scores file (CSV or JSON lines, chosen by extension).
Result<Series> LoadSeries(const std::string& path, const LoadOptions& options);

/// \brief Anomaly windows read from a labels file.
struct LabelWindows {
  /// Windows that apply to every scores file (a plain list).
  std::vector<Window> all;
  /// Windows per data file (NAB's combined_windows.json shape, or a CSV with a file column).
  std::map<std::string, std::vector<Window>> by_file;
  bool keyed = false;

  /// \brief Return the windows for a scores file: by exact key, path suffix or base name.
  std::optional<std::vector<Window>> For(const std::string& scores_path) const;
};

/// \brief Read windows from JSON ([[start,end],...], [{"start":..,"end":..}], or
/// {"file.csv": [[start,end],...]}) or CSV (columns start,end and optionally file).
Result<LabelWindows> LoadLabelWindows(const std::string& path);

/// \brief Set `series.windows` and derive `series.label` from them.
void ApplyWindows(std::vector<Window> windows, Series* series);

/// \brief Drop the first `rows` rows (a warm-up or training part that is not scored).
void SkipRows(size_t rows, Series* series);

}  // namespace vigil::evaluate
