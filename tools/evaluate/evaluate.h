// evaluate/evaluate.h: evaluate scored series against ground truth, over one or many files.
//
// Counts are summed over the files before the rates are taken, so the metrics of
// many files are those of their concatenation (SKAB's leaderboard rule).
//
//   EvaluateOptions opts;
//   opts.skip_rows = 400;
//   VIGIL_ASSIGN_OR_RAISE(Report r, Evaluate({"out/"}, opts));
//   std::cout << FormatTable(r);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "evaluate/metrics.h"
#include "evaluate/nab.h"
#include "evaluate/series.h"

namespace vigil::evaluate {

struct EvaluateOptions {
  LoadOptions load;
  /// A file of anomaly windows; empty: labels come from a column of each scores file.
  std::string labels_path;
  NabOptions nab;
  /// Rows at the head of each file that are not scored (warm-up or training part).
  size_t skip_rows = 0;
  /// Files whose path contains any of these are left out (directory expansion only).
  std::vector<std::string> exclude;
  /// Also find, per NAB profile, the score threshold that maximises the NAB score over
  /// all files (NAB's own protocol optimises it per detector); needs a score column.
  bool nab_sweep = false;
};

/// \brief The best threshold of one NAB profile and the score it reaches.
struct NabOptimum {
  double threshold = 0;
  double score = 0;
};

struct FileReport {
  std::string path;
  int64_t rows = 0;
  Confusion point;
  EventCounts events;
  NabTotals nab;
};

struct Report {
  std::vector<FileReport> files;
  int64_t rows = 0;
  Confusion point;
  EventCounts events;
  NabTotals nab;
  /// Set with EvaluateOptions::nab_sweep; one entry per kNabProfiles entry.
  std::vector<NabOptimum> nab_optimized;
  EvaluateOptions options;
};

/// \brief For each NAB profile, the threshold on `score` that maximises the normalised
/// NAB score summed over `series` (candidates: up to `max_candidates` score quantiles).
std::vector<NabOptimum> SweepNabThreshold(std::vector<Series> series, const NabOptions& options,
                                          size_t max_candidates = 200);

/// \brief Expand `inputs` (files, or directories searched recursively for .csv,
/// .jsonl and .ndjson files, sorted) into the list of files to evaluate.
Result<std::vector<std::string>> ExpandInputs(const std::vector<std::string>& inputs,
                                              const std::vector<std::string>& exclude);

/// \brief Load, score and add up every input.
Result<Report> Evaluate(const std::vector<std::string>& inputs, const EvaluateOptions& options);

/// \brief Parse a duration such as "60s", "1.5m", "500ms", "2h" or "60" (seconds) into milliseconds.
Result<int64_t> ParseDurationMillis(const std::string& text);

/// \brief Render the report as an aligned text table (with one line per file if `per_file`).
std::string FormatTable(const Report& report, bool per_file);

/// \brief Render the report as a JSON document.
std::string FormatJson(const Report& report);

}  // namespace vigil::evaluate
