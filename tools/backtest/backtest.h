// backtest/backtest.h: run the streaming job's Engine over a file, offline.
//
// Reads NAB-style `timestamp,value` CSV, wide multivariate CSV with any
// delimiter (SKAB's `;` files) or JSON-lines events (our event format, decoded
// by the core Decoder), scores every row in event order (batches of rows sorted
// by time) with the same Engine the Spark job uses, and writes every input row
// back, in file order, with `anomaly_score` ([0,1]), `is_anomaly`, `severity`
// (0-100) and `explanation` added: CSV in, CSV out with
// the same delimiter; JSON lines in, JSON lines out. Label columns (`anomaly`,
// `changepoint`, `label`) are carried through but never reach the detectors.
//
//   BacktestOptions opts;
//   opts.input = "valve1/0.csv";
//   opts.output = "out/valve1-0.csv";
//   VIGIL_ASSIGN_OR_RAISE(BacktestStats stats, RunBacktest(opts, &std::cerr));
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "vigil/engine/engine.h"
#include "vigil/event/event_batch.h"
#include "vigil/status.h"

namespace vigil::backtest {

/// \brief The names of the columns the backtest appends.
inline constexpr const char* kOutputColumns[] = {"anomaly_score", "is_anomaly", "severity", "explanation"};

/// \brief Column names (case-insensitive) that hold ground truth, never detector input.
inline const std::vector<std::string>& DefaultLabelColumns() {
  static const std::vector<std::string> kLabels = {"anomaly", "changepoint", "label"};
  return kLabels;
}

struct BacktestOptions {
  std::string input;
  /// "-" writes to standard output.
  std::string output;
  /// Engine YAML (config/detectors.yaml format); empty: EngineOptions::Defaults().
  std::string config_path;
  /// CSV: the metric columns; empty: every column but the timestamp and the labels.
  std::vector<std::string> columns;
  std::vector<std::string> label_columns = DefaultLabelColumns();
  /// CSV: the device of every row; empty: the input file's name without extension.
  std::string device_id;
  /// CSV: tags.device_class of every row (picks per-class rule limits).
  std::string device_class;
  /// CSV: '\0' detects it.
  char delimiter = '\0';
  /// CSV: empty detects "timestamp", "datetime", "ts", "time", "date", else a first
  /// column that parses as a time; without one, rows are 1 s apart from 2000-01-01.
  std::string timestamp_column;
  /// JSON lines: treat the input as events even without a .jsonl/.ndjson extension.
  bool force_jsonl = false;
  /// Rows per engine call.
  int64_t batch_rows = 4096;
  /// Seconds between progress lines on stderr (0: none).
  double progress_interval_s = 2.0;
};

struct BacktestStats {
  int64_t rows = 0;
  int64_t scored = 0;
  int64_t anomalies = 0;
  double seconds = 0;
};

/// \brief Load the engine options: the YAML file when given, else the defaults.
Result<EngineOptions> LoadEngineOptions(const std::string& config_path);

/// \brief Run the backtest; progress lines go to `progress` (may be null).
Result<BacktestStats> RunBacktest(const BacktestOptions& options, std::ostream* progress);

namespace internal {

/// \brief Prints a progress line at most every `interval_s` seconds.
class Progress {
 public:
  Progress(std::ostream* out, double interval_s, int64_t total_bytes);
  void Update(int64_t rows, int64_t bytes);
  void Finish(int64_t rows);

 private:
  std::ostream* out_;
  double interval_s_;
  int64_t total_bytes_;
  double start_ = 0, last_ = 0;
  bool printed_ = false;
};

/// \brief Double-quote `text` for CSV when it holds the delimiter, a quote or a line break.
std::string CsvField(std::string_view text, char delimiter);

/// \brief Format a score with 6 decimals, the same in CSV and JSON.
std::string FormatScore(double score);

/// \brief Return `batch` stably sorted by event time, or `batch` itself when already sorted.
///
/// The engine wants each device's events in time order (the streaming job sorts
/// each micro-batch); source_index keeps pointing at the input row.
EventBatch SortByTime(EventBatch batch);

/// \brief Wall-clock seconds from an arbitrary origin.
double NowSeconds();

Result<BacktestStats> RunCsv(const BacktestOptions& options, Engine* engine, std::ostream* out,
                             std::ostream* progress);
Result<BacktestStats> RunJsonLines(const BacktestOptions& options, Engine* engine, std::ostream* out,
                                   std::ostream* progress);

}  // namespace internal
}  // namespace vigil::backtest
