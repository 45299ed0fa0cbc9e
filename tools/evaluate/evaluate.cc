#include "evaluate/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>

namespace vigil::evaluate {
namespace {

namespace fs = std::filesystem;

bool IsScoresFile(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".csv" || ext == ".jsonl" || ext == ".ndjson" || ext == ".tsv";
}

}  // namespace

Result<int64_t> ParseDurationMillis(const std::string& text) {
  size_t unit = text.find_first_not_of("0123456789.");
  const std::string number = text.substr(0, unit);
  const std::string suffix = unit == std::string::npos ? "s" : text.substr(unit);
  double scale = 0;
  if (suffix == "ms") scale = 1;
  else if (suffix == "s") scale = 1e3;
  else if (suffix == "m" || suffix == "min") scale = 60e3;
  else if (suffix == "h") scale = 3600e3;
  else if (suffix == "d") scale = 86400e3;
  char* end = nullptr;
  const double v = number.empty() ? -1 : std::strtod(number.c_str(), &end);
  if (scale == 0 || v < 0 || end != number.c_str() + number.size()) {
    return Status::Invalid("bad duration '" + text + "': expected e.g. 60s, 1.5m, 500ms, 2h");
  }
  return static_cast<int64_t>(v * scale + 0.5);
}

Result<std::vector<std::string>> ExpandInputs(const std::vector<std::string>& inputs,
                                              const std::vector<std::string>& exclude) {
  std::vector<std::string> out;
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (!it->is_regular_file() || !IsScoresFile(it->path())) continue;
        const std::string p = it->path().string();
        bool skip = std::any_of(exclude.begin(), exclude.end(),
                                [&p](const std::string& e) { return p.find(e) != std::string::npos; });
        if (!skip) found.push_back(p);
      }
      if (ec) return Status::IOError(in + ": cannot list the directory: " + ec.message());
      if (found.empty()) return Status::NotFound(in + ": no .csv, .tsv, .jsonl or .ndjson files in the directory");
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(in, ec)) {
      out.push_back(in);
    } else {
      return Status::IOError(in + ": no such file or directory");
    }
  }
  if (out.empty()) return Status::Invalid("no scores files given (use --scores FILE or DIR)");
  return out;
}

Result<Report> Evaluate(const std::vector<std::string>& inputs, const EvaluateOptions& options) {
  VIGIL_ASSIGN_OR_RAISE(std::vector<std::string> files, ExpandInputs(inputs, options.exclude));
  std::optional<LabelWindows> windows;
  LoadOptions load = options.load;
  if (!options.labels_path.empty()) {
    VIGIL_ASSIGN_OR_RAISE(windows, LoadLabelWindows(options.labels_path));
    load.labels_from_windows = true;
  }
  Report report;
  report.options = options;
  std::vector<Series> kept;  // for the threshold sweep
  for (const std::string& path : files) {
    VIGIL_ASSIGN_OR_RAISE(Series s, LoadSeries(path, load));
    if (windows) {
      std::optional<std::vector<Window>> w = windows->For(path);
      if (!w) {
        std::cerr << "vigil evaluate: warning: " << options.labels_path << " has no windows for " << path
                  << "; scoring it as a file without anomalies\n";
      }
      ApplyWindows(w.value_or(std::vector<Window>{}), &s);
    }
    SkipRows(options.skip_rows, &s);
    if (s.size() == 0) continue;
    FileReport f;
    f.path = path;
    f.rows = static_cast<int64_t>(s.size());
    f.point = PointConfusion(s.label, s.predicted);
    f.events = EventMatch(s.label, s.predicted);
    f.nab = ScoreNab(s, options.nab);
    report.rows += f.rows;
    report.point.Add(f.point);
    report.events.Add(f.events);
    report.nab.Add(f.nab);
    report.files.push_back(std::move(f));
    if (options.nab_sweep) {
      if (s.score.empty()) {
        return Status::NotFound(path + ": no '" + load.score_column + "' column to sweep NAB thresholds over");
      }
      kept.push_back(std::move(s));
    }
  }
  if (options.nab_sweep) report.nab_optimized = SweepNabThreshold(std::move(kept), options.nab);
  if (report.files.empty()) {
    return Status::Invalid("no rows left to evaluate after skipping " + std::to_string(options.skip_rows) +
                           " rows of each file");
  }
  return report;
}

std::vector<NabOptimum> SweepNabThreshold(std::vector<Series> series, const NabOptions& options,
                                          size_t max_candidates) {
  std::vector<double> all;
  for (const Series& s : series) all.insert(all.end(), s.score.begin(), s.score.end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::vector<double> candidates;
  if (all.size() <= max_candidates) {
    candidates = all;
  } else {
    for (size_t k = 0; k < max_candidates; ++k) candidates.push_back(all[k * (all.size() - 1) / (max_candidates - 1)]);
  }
  candidates.push_back(std::numeric_limits<double>::infinity());  // the null detector
  std::vector<NabOptimum> best(kNabProfiles.size(), NabOptimum{0, -std::numeric_limits<double>::infinity()});
  for (double t : candidates) {
    NabTotals total;
    for (Series& s : series) {
      for (size_t i = 0; i < s.size(); ++i) s.predicted[i] = s.score[i] >= t;
      total.Add(ScoreNab(s, options));
    }
    for (size_t p = 0; p < kNabProfiles.size(); ++p) {
      if (total.Normalized(p) > best[p].score) best[p] = {t, total.Normalized(p)};
    }
  }
  return best;
}

namespace {

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string_view ScoringName(NabScoring s) { return s == NabScoring::kNab ? "nab" : "skab"; }
std::string_view DetectionsName(Detections d) {
  switch (d) {
    case Detections::kAll: return "all";
    case Detections::kOnsets: return "onsets";
    case Detections::kEdges: return "edges";
  }
  return "?";
}
std::string_view PositionName(WindowPosition p) {
  switch (p) {
    case WindowPosition::kRight: return "right";
    case WindowPosition::kCenter: return "center";
    case WindowPosition::kLeft: return "left";
  }
  return "?";
}

std::string ConfusionJson(const Confusion& c) {
  return "{\"tp\": " + std::to_string(c.tp) + ", \"fp\": " + std::to_string(c.fp) + ", \"tn\": " +
         std::to_string(c.tn) + ", \"fn\": " + std::to_string(c.fn) + ", \"precision\": " +
         Fmt("%.6f", c.Precision()) + ", \"recall\": " + Fmt("%.6f", c.Recall()) + ", \"f1\": " +
         Fmt("%.6f", c.F1()) + ", \"far\": " + Fmt("%.6f", c.FalseAlarmRate()) + ", \"mar\": " +
         Fmt("%.6f", c.MissedAlarmRate()) + "}";
}

std::string EventsJson(const EventCounts& e) {
  return "{\"true_events\": " + std::to_string(e.true_events) + ", \"detected_true_events\": " +
         std::to_string(e.detected_true_events) + ", \"predicted_events\": " + std::to_string(e.predicted_events) +
         ", \"correct_predicted_events\": " + std::to_string(e.correct_predicted_events) + ", \"precision\": " +
         Fmt("%.6f", e.Precision()) + ", \"recall\": " + Fmt("%.6f", e.Recall()) + ", \"f1\": " +
         Fmt("%.6f", e.F1()) + "}";
}

std::string NabJson(const NabTotals& n) {
  std::string out = "{\"windows\": " + std::to_string(n.windows) + ", \"detected_windows\": " +
                    std::to_string(n.detected_windows) + ", \"false_detections\": " +
                    std::to_string(n.false_detections);
  for (size_t p = 0; p < kNabProfiles.size(); ++p) {
    out += ", \"" + std::string(kNabProfiles[p].name) + "\": " + Fmt("%.4f", n.Normalized(p));
  }
  return out + "}";
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string FormatTable(const Report& r, bool per_file) {
  const auto& o = r.options;
  std::string out;
  out += "files: " + std::to_string(r.files.size()) + "   rows scored: " + std::to_string(r.rows);
  if (o.skip_rows > 0) out += " (first " + std::to_string(o.skip_rows) + " of each file skipped)";
  out += "\n\n";
  out += "              precision  recall     F1   FAR %   MAR %\n";
  const Confusion& c = r.point;
  out += "point-wise       " + Fmt("%6.3f", c.Precision()) + "  " + Fmt("%6.3f", c.Recall()) + "  " +
         Fmt("%5.3f", c.F1()) + "  " + Fmt("%6.2f", 100 * c.FalseAlarmRate()) + "  " +
         Fmt("%6.2f", 100 * c.MissedAlarmRate()) + "\n";
  const EventCounts& e = r.events;
  out += "event-wise       " + Fmt("%6.3f", e.Precision()) + "  " + Fmt("%6.3f", e.Recall()) + "  " +
         Fmt("%5.3f", e.F1()) + "\n\n";
  out += "confusion: TP " + std::to_string(c.tp) + "  FP " + std::to_string(c.fp) + "  TN " + std::to_string(c.tn) +
         "  FN " + std::to_string(c.fn) + "\n";
  out += "events: " + std::to_string(e.detected_true_events) + " of " + std::to_string(e.true_events) +
         " true events detected; " + std::to_string(e.correct_predicted_events) + " of " +
         std::to_string(e.predicted_events) + " predicted events overlap one\n\n";
  out += "NAB (" + std::string(ScoringName(o.nab.scoring)) + " scoring, detections: " +
         std::string(DetectionsName(o.nab.detections));
  if (o.labels_path.empty()) {
    out += ", changepoint windows " + Fmt("%g", o.nab.window_ms / 1000.0) + " s " +
           std::string(PositionName(o.nab.position));
  }
  out += "): " + std::to_string(r.nab.detected_windows) + " of " + std::to_string(r.nab.windows) +
         " windows detected, " + std::to_string(r.nab.false_detections) + " false detections\n";
  for (size_t p = 0; p < kNabProfiles.size(); ++p) {
    out += "  " + std::string(kNabProfiles[p].name) + std::string(15 - kNabProfiles[p].name.size(), ' ') +
           Fmt("%7.2f", r.nab.Normalized(p)) + "\n";
  }
  if (!r.nab_optimized.empty()) {
    out += "NAB with the threshold on the score optimised per profile (NAB's protocol):\n";
    for (size_t p = 0; p < r.nab_optimized.size(); ++p) {
      out += "  " + std::string(kNabProfiles[p].name) + std::string(15 - kNabProfiles[p].name.size(), ' ') +
             Fmt("%7.2f", r.nab_optimized[p].score) + "  at score >= " + Fmt("%.6g", r.nab_optimized[p].threshold) +
             "\n";
    }
  }
  if (per_file) {
    out += "\nfile                                         rows     F1   FAR %   MAR %  NAB std\n";
    for (const FileReport& f : r.files) {
      std::string name = f.path.size() > 40 ? "..." + f.path.substr(f.path.size() - 37) : f.path;
      name.resize(40, ' ');
      out += name + Fmt("%9.0f", static_cast<double>(f.rows)) + "  " + Fmt("%5.3f", f.point.F1()) + "  " +
             Fmt("%6.2f", 100 * f.point.FalseAlarmRate()) + "  " + Fmt("%6.2f", 100 * f.point.MissedAlarmRate()) +
             "  " + Fmt("%7.2f", f.nab.Normalized(0)) + "\n";
    }
  }
  return out;
}

std::string FormatJson(const Report& r) {
  const auto& o = r.options;
  std::string out = "{\n";
  out += "  \"files\": " + std::to_string(r.files.size()) + ",\n";
  out += "  \"rows\": " + std::to_string(r.rows) + ",\n";
  out += "  \"skip_rows\": " + std::to_string(o.skip_rows) + ",\n";
  out += "  \"point\": " + ConfusionJson(r.point) + ",\n";
  out += "  \"event\": " + EventsJson(r.events) + ",\n";
  out += "  \"nab_settings\": {\"scoring\": \"" + std::string(ScoringName(o.nab.scoring)) + "\", \"detections\": \"" +
         std::string(DetectionsName(o.nab.detections)) + "\", \"window_s\": " + Fmt("%g", o.nab.window_ms / 1000.0) +
         ", \"position\": \"" + std::string(PositionName(o.nab.position)) + "\", \"probation\": " +
         Fmt("%g", o.nab.probation) + "},\n";
  out += "  \"nab\": " + NabJson(r.nab) + ",\n";
  if (!r.nab_optimized.empty()) {
    out += "  \"nab_optimized\": {";
    for (size_t p = 0; p < r.nab_optimized.size(); ++p) {
      const double t = r.nab_optimized[p].threshold;
      out += std::string(p ? ", " : "") + "\"" + std::string(kNabProfiles[p].name) + "\": {\"score\": " +
             Fmt("%.4f", r.nab_optimized[p].score) + ", \"threshold\": " +
             (std::isinf(t) ? std::string("null") : Fmt("%.6g", t)) + "}";
    }
    out += "},\n";
  }
  out += "  \"per_file\": [";
  for (size_t i = 0; i < r.files.size(); ++i) {
    const FileReport& f = r.files[i];
    out += std::string(i ? ",\n" : "\n") + "    {\"path\": " + JsonString(f.path) + ", \"rows\": " +
           std::to_string(f.rows) + ", \"point\": " + ConfusionJson(f.point) + ", \"event\": " +
           EventsJson(f.events) + ", \"nab\": " + NabJson(f.nab) + "}";
  }
  out += "\n  ]\n}\n";
  return out;
}

}  // namespace vigil::evaluate
