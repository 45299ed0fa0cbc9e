// vigil-evaluate: score a backtest's output against ground truth. Only flag parsing lives here.
#include <fstream>
#include <iostream>

#include "backtest/flags.h"
#include "evaluate/evaluate.h"

namespace {

using vigil::Result;
using vigil::Status;
namespace ev = vigil::evaluate;

Result<ev::EvaluateOptions> OptionsFromFlags(const vigil::tabular::FlagParser& f) {
  ev::EvaluateOptions o;
  o.labels_path = f.Get("labels");
  o.load.label_column = f.Get("label-column");
  o.load.changepoint_column = f.Get("changepoint-column");
  o.load.timestamp_column = f.Get("timestamp-column");
  o.load.prediction_column = f.Get("prediction-column", o.load.prediction_column);
  o.load.score_column = f.Get("score-column", o.load.score_column);
  if (f.Has("threshold") || f.Has("smooth")) {
    VIGIL_ASSIGN_OR_RAISE(double t, f.GetNumber("threshold", 0.5));
    o.load.threshold = t;
  }
  if (f.Has("smooth")) {
    VIGIL_ASSIGN_OR_RAISE(double a, f.GetNumber("smooth", 1));
    if (!(a > 0 && a <= 1)) return Status::Invalid("--smooth expects an alpha in (0, 1], got " + f.Get("smooth"));
    o.load.smooth_alpha = a;
  }
  if (f.Has("delimiter")) {
    VIGIL_ASSIGN_OR_RAISE(o.load.delimiter, vigil::tabular::ParseDelimiter(f.Get("delimiter")));
  }
  VIGIL_ASSIGN_OR_RAISE(double skip, f.GetNumber("skip-rows", 0));
  if (skip < 0) return Status::Invalid("--skip-rows must be >= 0");
  o.skip_rows = static_cast<size_t>(skip);
  o.exclude = f.All("exclude");

  const std::string scoring = f.Get("nab-scoring", "nab");
  if (scoring == "nab") {
    o.nab.scoring = ev::NabScoring::kNab;
    o.nab.detections = ev::Detections::kAll;
  } else if (scoring == "skab") {
    o.nab.scoring = ev::NabScoring::kSkab;
    o.nab.detections = ev::Detections::kEdges;
    o.nab.probation = 0;
  } else {
    return Status::Invalid("--nab-scoring must be nab or skab, got '" + scoring + "'");
  }
  if (f.Has("nab-detections")) {
    const std::string d = f.Get("nab-detections");
    if (d == "all") o.nab.detections = ev::Detections::kAll;
    else if (d == "onsets") o.nab.detections = ev::Detections::kOnsets;
    else if (d == "edges") o.nab.detections = ev::Detections::kEdges;
    else return Status::Invalid("--nab-detections must be all, onsets or edges, got '" + d + "'");
  }
  if (f.Has("nab-window")) {
    VIGIL_ASSIGN_OR_RAISE(o.nab.window_ms, ev::ParseDurationMillis(f.Get("nab-window")));
  }
  const std::string pos = f.Get("nab-window-position", "right");
  if (pos == "right") o.nab.position = ev::WindowPosition::kRight;
  else if (pos == "center") o.nab.position = ev::WindowPosition::kCenter;
  else if (pos == "left") o.nab.position = ev::WindowPosition::kLeft;
  else return Status::Invalid("--nab-window-position must be right, center or left, got '" + pos + "'");
  o.nab_sweep = f.GetBool("nab-sweep");
  VIGIL_ASSIGN_OR_RAISE(o.nab.probation, f.GetNumber("nab-probation", o.nab.probation));
  if (o.nab.probation < 0 || o.nab.probation >= 1) return Status::Invalid("--nab-probation must be in [0, 1)");
  return o;
}

int Run(int argc, char** argv) {
  vigil::tabular::FlagParser f(
      "vigil evaluate",
      "Evaluate scored rows (the output of vigil backtest) against labels: point-wise and event-wise\n"
      "precision/recall/F1, false-alarm rate FAR = FP/(FP+TN), missed-alarm rate MAR = FN/(FN+TP),\n"
      "and NAB scores (standard, reward_low_FP, reward_low_FN). Counts are summed over all files.");
  f.Value("scores", "FILE|DIR", "scored CSV/JSONL file, or a directory searched recursively", true, true);
  f.Value("labels", "FILE", "anomaly windows: JSON [[start,end],...] or {file: [[start,end]]}, or CSV start,end");
  f.Value("label-column", "NAME", "ground-truth 0/1 column (default: anomaly, else label)");
  f.Value("changepoint-column", "NAME", "changepoint 0/1 column for NAB windows (default: changepoint; none)");
  f.Value("prediction-column", "NAME", "predicted 0/1 column (default: is_anomaly)");
  f.Value("score-column", "NAME", "score column used with --threshold (default: anomaly_score)");
  f.Value("threshold", "X", "predict anomalous when the score column is >= X instead of reading is_anomaly");
  f.Value("smooth", "ALPHA", "what-if: predict when an EMA (weight ALPHA) of the score is >= --threshold (default 0.5)");
  f.Value("timestamp-column", "NAME", "time column (default: timestamp, datetime, ts, time or date)");
  f.Value("delimiter", "C", "CSV delimiter (default: detected)");
  f.Value("skip-rows", "N", "do not score the first N rows of each file (SKAB's leaderboard: 400)");
  f.Value("exclude", "TEXT", "leave out files whose path contains TEXT when expanding directories", false, true);
  f.Value("nab-scoring", "nab|skab", "NAB's sigmoid rule (default) or SKAB's tsad rule");
  f.Value("nab-detections", "all|onsets|edges", "rows counted as detections (default: all for nab, edges for skab)");
  f.Value("nab-window", "DURATION", "window around each changepoint (default 60s)");
  f.Value("nab-window-position", "right|center|left", "where the window lies from the changepoint (default right)");
  f.Value("nab-probation", "FRACTION", "unscored head of each file for nab scoring (default 0.15, max 750 rows)");
  f.Bool("nab-sweep", "also report NAB with the score threshold optimised per profile, as NAB does");
  f.Value("json", "FILE", "also write the report as JSON to FILE ('-' for stdout instead of the table)");
  f.Bool("per-file", "add one line per file to the table");

  if (int code = f.ParseOrExit(argc, argv); code >= 0) return code;
  Result<ev::EvaluateOptions> options = OptionsFromFlags(f);
  if (!options.ok()) {
    std::cerr << "vigil evaluate: " << options.status().message() << "\n";
    return 2;
  }
  Result<ev::Report> report = ev::Evaluate(f.All("scores"), *options);
  if (!report.ok()) {
    std::cerr << "vigil evaluate: " << report.status().message() << "\n";
    return 1;
  }
  const std::string json_path = f.Get("json");
  if (json_path == "-") {
    std::cout << ev::FormatJson(*report);
    return 0;
  }
  std::cout << ev::FormatTable(*report, f.GetBool("per-file"));
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << ev::FormatJson(*report);
    if (!out) {
      std::cerr << "vigil evaluate: cannot write " << json_path << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
