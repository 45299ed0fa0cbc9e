// vigil-backtest: score a file with the streaming job's engine. Only flag parsing lives here.
#include <iostream>

#include "backtest/backtest.h"
#include "backtest/flags.h"

namespace {

using vigil::Result;
using vigil::Status;
namespace bt = vigil::backtest;

Result<bt::BacktestOptions> OptionsFromFlags(const vigil::tabular::FlagParser& f) {
  bt::BacktestOptions o;
  o.input = f.Get("input");
  o.output = f.Get("output");
  o.config_path = f.Get("config");
  o.columns = vigil::tabular::SplitList(f.Get("columns"));
  if (f.Has("label-columns")) o.label_columns = vigil::tabular::SplitList(f.Get("label-columns"));
  o.device_id = f.Get("device-id");
  o.device_class = f.Get("device-class");
  o.timestamp_column = f.Get("timestamp-column");
  o.force_jsonl = f.GetBool("jsonl");
  if (f.Has("delimiter")) {
    VIGIL_ASSIGN_OR_RAISE(o.delimiter, vigil::tabular::ParseDelimiter(f.Get("delimiter")));
  }
  VIGIL_ASSIGN_OR_RAISE(double batch, f.GetNumber("batch-rows", 4096));
  if (batch < 1) return Status::Invalid("--batch-rows must be at least 1");
  o.batch_rows = static_cast<int64_t>(batch);
  if (f.GetBool("quiet")) o.progress_interval_s = 0;
  return o;
}

int Run(int argc, char** argv) {
  vigil::tabular::FlagParser f(
      "vigil backtest",
      "Run the streaming job's detectors over a file, in file order, and write every input row with\n"
      "anomaly_score [0,1], is_anomaly, severity 0-100 and explanation added. Reads NAB-style\n"
      "timestamp,value CSV, wide CSV with any delimiter (SKAB's ';' files) and JSON-lines events.\n"
      "Label columns (anomaly, changepoint, label) are copied through and never reach the detectors.");
  f.Value("input", "FILE", "CSV, or JSON lines (.jsonl/.ndjson) in the event format", true);
  f.Value("output", "FILE", "where to write (same format and delimiter as the input; - for stdout)", true);
  f.Value("config", "FILE", "detector config (config/detectors.yaml format; default: the built-in default)");
  f.Value("columns", "a,b,c", "CSV: the metric columns (default: all but the time and label columns)");
  f.Value("label-columns", "a,b", "CSV: ground-truth columns kept from the detectors (default anomaly,changepoint,label)");
  f.Value("device-id", "ID", "CSV: device of every row (default: the input's file name without extension)");
  f.Value("device-class", "CLASS", "CSV: tags.device_class of every row (per-class rule limits)");
  f.Value("timestamp-column", "NAME", "CSV: time column (default: timestamp/datetime/ts/time/date or a first column of times)");
  f.Value("delimiter", "C", "CSV: field delimiter (default: detected from the first line)");
  f.Value("batch-rows", "N", "rows per engine call (default 4096)");
  f.Bool("jsonl", "read the input as JSON-lines events whatever its extension");
  f.Bool("quiet", "no progress line on stderr");

  if (int code = f.ParseOrExit(argc, argv); code >= 0) return code;
  Result<bt::BacktestOptions> options = OptionsFromFlags(f);
  if (!options.ok()) {
    std::cerr << "vigil backtest: " << options.status().message() << "\n";
    return 2;
  }
  Result<bt::BacktestStats> stats = bt::RunBacktest(*options, &std::cerr);
  if (!stats.ok()) {
    std::cerr << "vigil backtest: " << stats.status().message() << "\n";
    return 1;
  }
  if (!f.GetBool("quiet")) {
    std::cerr << "vigil backtest: " << stats->rows << " rows, " << stats->anomalies << " anomalies, "
              << static_cast<int64_t>(stats->rows / std::max(stats->seconds, 1e-9)) << " rows/s -> "
              << options->output << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
