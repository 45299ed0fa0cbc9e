#include "evaluate/series.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <simdjson.h>

#include "backtest/csv_reader.h"
#include "backtest/timestamp.h"

namespace vigil::evaluate {
namespace {

namespace fs = std::filesystem;
using tabular::CsvReader;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsJsonLines(const std::string& path) {
  return EndsWith(path, ".jsonl") || EndsWith(path, ".ndjson") || EndsWith(path, ".json");
}

// A 0/1 flag column: any non-zero number is 1.
Result<uint8_t> Flag(const CsvReader& r, int column) {
  std::string_view f = r.fields()[static_cast<size_t>(column)];
  if (f == "true" || f == "True" || f == "TRUE") return uint8_t{1};
  if (f == "false" || f == "False" || f == "FALSE") return uint8_t{0};
  VIGIL_ASSIGN_OR_RAISE(double v, r.Number(column));
  return static_cast<uint8_t>(v != 0.0);
}

Result<Series> LoadCsv(const std::string& path, const LoadOptions& o) {
  tabular::CsvOptions csv;
  csv.delimiter = o.delimiter;
  csv.header = tabular::HeaderMode::kPresent;
  VIGIL_ASSIGN_OR_RAISE(auto reader, CsvReader::Open(path, csv));

  int ts_col = -1;
  if (!o.timestamp_column.empty()) {
    VIGIL_ASSIGN_OR_RAISE(ts_col, reader->ColumnIndex(o.timestamp_column));
  } else {
    ts_col = reader->FindColumn({"timestamp", "datetime", "ts", "time", "date"});
  }
  int pred_col = -1, score_col = -1;
  if (o.threshold) {
    VIGIL_ASSIGN_OR_RAISE(score_col, reader->ColumnIndex(o.score_column));
  } else {
    VIGIL_ASSIGN_OR_RAISE(pred_col, reader->ColumnIndex(o.prediction_column));
    score_col = reader->FindColumn({o.score_column});  // optional: for NAB's threshold sweep
  }
  int label_col = -1;
  if (!o.labels_from_windows) {
    if (!o.label_column.empty()) {
      VIGIL_ASSIGN_OR_RAISE(label_col, reader->ColumnIndex(o.label_column));
    } else {
      label_col = reader->FindColumn({"anomaly", "label", "is_anomaly_label"});
      if (label_col < 0) {
        return Status::NotFound(path + ": no label column ('anomaly' or 'label'); name one with "
                                "--label-column or give anomaly windows with --labels");
      }
    }
  }
  int cp_col = -1;
  if (o.changepoint_column == "none") {
    cp_col = -1;
  } else if (!o.changepoint_column.empty()) {
    VIGIL_ASSIGN_OR_RAISE(cp_col, reader->ColumnIndex(o.changepoint_column));
  } else {
    cp_col = reader->FindColumn({"changepoint"});
  }

  Series s;
  s.name = path;
  int64_t row = 0;
  while (true) {
    VIGIL_ASSIGN_OR_RAISE(bool more, reader->Next());
    if (!more) break;
    int64_t ts = row * 1000;
    if (ts_col >= 0) {
      VIGIL_ASSIGN_OR_RAISE(ts, reader->Timestamp(ts_col));
    }
    s.ts.push_back(ts);
    if (score_col >= 0) {
      VIGIL_ASSIGN_OR_RAISE(double score, reader->Number(score_col));
      s.score.push_back(score);
    }
    if (pred_col >= 0) {
      VIGIL_ASSIGN_OR_RAISE(uint8_t p, Flag(*reader, pred_col));
      s.predicted.push_back(p);
    }
    if (label_col >= 0) {
      VIGIL_ASSIGN_OR_RAISE(uint8_t l, Flag(*reader, label_col));
      s.label.push_back(l);
    }
    if (cp_col >= 0) {
      VIGIL_ASSIGN_OR_RAISE(uint8_t c, Flag(*reader, cp_col));
      s.changepoint.push_back(c);
    }
    ++row;
  }
  if (o.threshold) s.predicted = ThresholdScores(s.score, *o.threshold, o.smooth_alpha);
  return s;
}

// Read a JSON value as a 0/1 flag or a number.
Result<double> JsonNumber(simdjson::dom::element e, const std::string& where) {
  bool b;
  if (e.get(b) == simdjson::SUCCESS) return b ? 1.0 : 0.0;
  double d;
  if (e.get(d) == simdjson::SUCCESS) return d;
  return Status::Invalid(where + ": expected a number or a boolean");
}

Result<Series> LoadJsonLines(const std::string& path, const LoadOptions& o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open for reading (does it exist?)");
  const std::string ts_key = o.timestamp_column.empty() ? "ts" : o.timestamp_column;
  const std::string label_key = o.label_column.empty() ? "label" : o.label_column;
  const std::string cp_key = o.changepoint_column.empty() ? "changepoint" : o.changepoint_column;
  simdjson::dom::parser parser;
  Series s;
  s.name = path;
  std::string line;
  int64_t line_no = 0;
  bool any_cp = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    simdjson::dom::element doc;
    if (auto err = parser.parse(line).get(doc); err) {
      return Status::Invalid(where + ": not a JSON object: " + simdjson::error_message(err));
    }
    simdjson::dom::element v;
    int64_t ts = static_cast<int64_t>(s.ts.size()) * 1000;
    if (doc[ts_key].get(v) == simdjson::SUCCESS) {
      std::string_view text;
      if (v.get(text) == simdjson::SUCCESS) {
        Result<int64_t> parsed = tabular::ParseTimestampMillis(text);
        if (!parsed.ok()) return Status::Invalid(where + ": '" + ts_key + "': " + parsed.status().message());
        ts = *parsed;
      } else {
        int64_t ms;
        if (v.get(ms) != simdjson::SUCCESS) return Status::Invalid(where + ": '" + ts_key + "' is not a time");
        ts = ms;  // the event format's numeric ts is epoch milliseconds
      }
    }
    s.ts.push_back(ts);
    const std::string& pkey = o.threshold ? o.score_column : o.prediction_column;
    if (doc[pkey].get(v) != simdjson::SUCCESS) return Status::NotFound(where + ": no '" + pkey + "' field");
    VIGIL_ASSIGN_OR_RAISE(double p, JsonNumber(v, where + ": '" + pkey + "'"));
    if (o.threshold) {
      s.score.push_back(p);
    } else {
      s.predicted.push_back(p != 0.0);
      if (doc[o.score_column].get(v) == simdjson::SUCCESS) {
        VIGIL_ASSIGN_OR_RAISE(double sc, JsonNumber(v, where + ": '" + o.score_column + "'"));
        s.score.push_back(sc);
      }
    }
    if (!o.labels_from_windows) {
      if (doc[label_key].get(v) != simdjson::SUCCESS) {
        return Status::NotFound(where + ": no '" + label_key + "' field; name the label with --label-column "
                                "or give anomaly windows with --labels");
      }
      VIGIL_ASSIGN_OR_RAISE(double l, JsonNumber(v, where + ": '" + label_key + "'"));
      s.label.push_back(l != 0.0);
    }
    if (o.changepoint_column != "none" && doc[cp_key].get(v) == simdjson::SUCCESS) {
      VIGIL_ASSIGN_OR_RAISE(double c, JsonNumber(v, where + ": '" + cp_key + "'"));
      s.changepoint.resize(s.ts.size() - 1, 0);
      s.changepoint.push_back(c != 0.0);
      any_cp = true;
    }
  }
  if (any_cp) s.changepoint.resize(s.ts.size(), 0);
  if (o.threshold) s.predicted = ThresholdScores(s.score, *o.threshold, o.smooth_alpha);
  if (s.score.size() != s.ts.size()) s.score.clear();  // only some lines had a score
  return s;
}

Result<Window> MakeWindow(std::string_view start, std::string_view end, const std::string& where) {
  Result<int64_t> a = tabular::ParseTimestampMillis(start);
  if (!a.ok()) return Status::Invalid(where + ": window start: " + a.status().message());
  Result<int64_t> b = tabular::ParseTimestampMillis(end);
  if (!b.ok()) return Status::Invalid(where + ": window end: " + b.status().message());
  if (*b < *a) return Status::Invalid(where + ": window ends before it starts");
  return Window{*a, *b};
}

Result<std::string> JsonTime(simdjson::dom::element e, const std::string& where) {
  std::string_view text;
  if (e.get(text) == simdjson::SUCCESS) return std::string(text);
  double d;
  if (e.get(d) == simdjson::SUCCESS) {
    std::ostringstream os;
    os.precision(17);
    os << d;
    return os.str();
  }
  return Status::Invalid(where + ": a window bound must be a string or a number");
}

Result<std::vector<Window>> JsonWindows(simdjson::dom::array arr, const std::string& where) {
  std::vector<Window> out;
  size_t i = 0;
  for (simdjson::dom::element w : arr) {
    std::string at = where + "[" + std::to_string(i++) + "]";
    simdjson::dom::array pair;
    simdjson::dom::object obj;
    simdjson::dom::element a, b;
    if (w.get(pair) == simdjson::SUCCESS && pair.size() == 2) {
      a = pair.at(0).value_unsafe();
      b = pair.at(1).value_unsafe();
    } else if (w.get(obj) == simdjson::SUCCESS && obj["start"].get(a) == simdjson::SUCCESS &&
               obj["end"].get(b) == simdjson::SUCCESS) {
    } else {
      return Status::Invalid(at + ": a window is [start, end] or {\"start\": .., \"end\": ..}");
    }
    VIGIL_ASSIGN_OR_RAISE(std::string sa, JsonTime(a, at));
    VIGIL_ASSIGN_OR_RAISE(std::string sb, JsonTime(b, at));
    VIGIL_ASSIGN_OR_RAISE(Window win, MakeWindow(sa, sb, at));
    out.push_back(win);
  }
  return out;
}

Result<LabelWindows> LoadJsonWindows(const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.load(path).get(doc); err) {
    return Status::Invalid(path + ": cannot read labels JSON: " + simdjson::error_message(err));
  }
  LabelWindows lw;
  simdjson::dom::array arr;
  simdjson::dom::object obj;
  if (doc.get(arr) == simdjson::SUCCESS) {
    VIGIL_ASSIGN_OR_RAISE(lw.all, JsonWindows(arr, path));
  } else if (doc.get(obj) == simdjson::SUCCESS) {
    lw.keyed = true;
    for (auto [key, value] : obj) {
      if (value.get(arr) != simdjson::SUCCESS) {
        return Status::Invalid(path + ": '" + std::string(key) + "' must map to a list of windows");
      }
      VIGIL_ASSIGN_OR_RAISE(auto ws, JsonWindows(arr, path + ": '" + std::string(key) + "'"));
      lw.by_file[std::string(key)] = std::move(ws);
    }
  } else {
    return Status::Invalid(path + ": labels JSON must be a list of windows or an object of lists");
  }
  return lw;
}

Result<LabelWindows> LoadCsvWindows(const std::string& path) {
  tabular::CsvOptions csv;
  csv.header = tabular::HeaderMode::kDetect;
  VIGIL_ASSIGN_OR_RAISE(auto reader, CsvReader::Open(path, csv));
  int start = 0, end = 1, file = -1;
  if (reader->has_header()) {
    VIGIL_ASSIGN_OR_RAISE(start, reader->ColumnIndex("start"));
    VIGIL_ASSIGN_OR_RAISE(end, reader->ColumnIndex("end"));
    file = reader->FindColumn({"file", "series", "name"});
  } else if (reader->column_names().size() != 2) {
    return Status::Invalid(path + ": a labels CSV without header has two columns: start,end");
  }
  LabelWindows lw;
  lw.keyed = file >= 0;
  while (true) {
    VIGIL_ASSIGN_OR_RAISE(bool more, reader->Next());
    if (!more) break;
    const auto& f = reader->fields();
    std::string where = path + ":" + std::to_string(reader->line_number());
    VIGIL_ASSIGN_OR_RAISE(Window w, MakeWindow(f[static_cast<size_t>(start)], f[static_cast<size_t>(end)], where));
    if (file >= 0) {
      lw.by_file[std::string(f[static_cast<size_t>(file)])].push_back(w);
    } else {
      lw.all.push_back(w);
    }
  }
  return lw;
}

}  // namespace

std::vector<uint8_t> ThresholdScores(const std::vector<double>& scores, double threshold,
                                     std::optional<double> smooth_alpha) {
  std::vector<uint8_t> out(scores.size());
  double ema = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    double v = scores[i];
    if (smooth_alpha) v = ema = *smooth_alpha * v + (1 - *smooth_alpha) * ema;
    out[i] = v >= threshold;
  }
  return out;
}

Result<Series> LoadSeries(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::IOError(path + ": no such file");
  Result<Series> s = IsJsonLines(path) ? LoadJsonLines(path, options) : LoadCsv(path, options);
  if (s.ok() && s->size() == 0) return Status::Invalid(path + ": no rows to evaluate");
  return s;
}

std::optional<std::vector<Window>> LabelWindows::For(const std::string& scores_path) const {
  if (!keyed) return all;
  if (auto it = by_file.find(scores_path); it != by_file.end()) return it->second;
  for (const auto& [key, windows] : by_file) {
    if (EndsWith(scores_path, "/" + key)) return windows;
  }
  const std::string base = fs::path(scores_path).filename().string();
  for (const auto& [key, windows] : by_file) {
    if (fs::path(key).filename().string() == base) return windows;
  }
  return std::nullopt;
}

Result<LabelWindows> LoadLabelWindows(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::IOError(path + ": no such labels file");
  return EndsWith(path, ".json") ? LoadJsonWindows(path) : LoadCsvWindows(path);
}

void ApplyWindows(std::vector<Window> windows, Series* s) {
  std::sort(windows.begin(), windows.end(),
            [](const Window& a, const Window& b) { return a.start_ms < b.start_ms; });
  s->label.assign(s->size(), 0);
  // Rows need not be sorted by time, so test each row against every window.
  for (size_t i = 0; i < s->size(); ++i) {
    for (const Window& w : windows) {
      if (s->ts[i] >= w.start_ms && s->ts[i] <= w.end_ms) {
        s->label[i] = 1;
        break;
      }
    }
  }
  s->windows = std::move(windows);
}

void SkipRows(size_t rows, Series* s) {
  size_t n = std::min(rows, s->size());
  auto drop = [n](auto& v) {
    if (!v.empty()) v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
  };
  drop(s->ts);
  drop(s->predicted);
  drop(s->score);
  drop(s->label);
  drop(s->changepoint);
}

}  // namespace vigil::evaluate
