// The CSV side of the backtest: rows -> EventBatch -> Engine -> rows with verdicts.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <ostream>

#include "backtest/backtest.h"
#include "backtest/csv_reader.h"
#include "vigil/event/event_batch.h"

namespace vigil::backtest::internal {
namespace {

using tabular::CsvReader;

// Rows without a time column are 1 s apart from 2000-01-01T00:00:00Z.
constexpr int64_t kSyntheticEpochMs = 946'684'800'000;

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsIn(std::string_view name, const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [name](const std::string& n) { return SameName(n, name); });
}

struct Layout {
  int ts_col = -1;
  std::vector<int> metric_cols;
  std::vector<std::string> metric_names;
};

Result<Layout> ResolveColumns(const BacktestOptions& o, CsvReader* r) {
  Layout l;
  const auto& names = r->column_names();
  for (const char* out : kOutputColumns) {
    if (r->FindColumn({out}) >= 0) {
      return Status::Invalid(r->path() + ": already has a column '" + out +
                             "' (is it the output of a backtest?); rename it or pick the input file");
    }
  }
  if (!o.timestamp_column.empty()) {
    VIGIL_ASSIGN_OR_RAISE(l.ts_col, r->ColumnIndex(o.timestamp_column));
  } else {
    l.ts_col = r->FindColumn({"timestamp", "datetime", "ts", "time", "date"});
  }
  if (!o.columns.empty()) {
    for (const std::string& c : o.columns) {
      VIGIL_ASSIGN_OR_RAISE(int idx, r->ColumnIndex(c));
      if (idx == l.ts_col) return Status::Invalid("--columns: '" + c + "' is the timestamp column");
      if (IsIn(names[static_cast<size_t>(idx)], o.label_columns)) {
        return Status::Invalid("--columns: '" + c + "' is a label column; labels never reach the detectors");
      }
      l.metric_cols.push_back(idx);
    }
  } else {
    for (size_t i = 0; i < names.size(); ++i) {
      if (static_cast<int>(i) == l.ts_col || IsIn(names[i], o.label_columns)) continue;
      l.metric_cols.push_back(static_cast<int>(i));
    }
  }
  if (l.metric_cols.empty()) {
    return Status::Invalid(r->path() + ": no metric columns left (all columns are the timestamp or labels)");
  }
  for (int c : l.metric_cols) l.metric_names.push_back(names[static_cast<size_t>(c)]);
  return l;
}

// One batch of rows: their text, and the events built from them.
struct PendingRows {
  std::vector<std::string> lines;
  std::vector<uint8_t> has_event;
};

Status WriteRows(const PendingRows& rows, const EventBatch& batch, const VerdictBatch& v, char d, std::ostream* out,
                 BacktestStats* stats) {
  if (v.size() != batch.size()) return Status::Internal("the engine returned a verdict count unlike the events'");
  // Verdict k belongs to the row batch.source_index(k) (the batch may have been time-sorted).
  std::vector<int64_t> verdict_of(rows.lines.size(), -1);
  for (int64_t k = 0; k < batch.size(); ++k) verdict_of[batch.source_index(k)] = k;
  std::string line;
  for (size_t i = 0; i < rows.lines.size(); ++i) {
    line.assign(rows.lines[i]);
    line += d;
    if (rows.has_event[i]) {
      if (verdict_of[i] < 0) return Status::Internal("a row without a verdict");
      const auto j = static_cast<size_t>(verdict_of[i]);
      line += FormatScore(v.score[j]);
      line += d;
      line += v.is_anomaly[j] ? '1' : '0';
      line += d;
      line += std::to_string(v.severity[j]);
      line += d;
      line += CsvField(v.explanation_json[j], d);
      stats->anomalies += v.is_anomaly[j];
      ++stats->scored;
    } else {
      // Every metric of the row was empty: nothing to score, the row is kept.
      line += "0.000000";
      line += d;
      line += "0";
      line += d;
      line += "0";
      line += d;
    }
    line += '\n';
    out->write(line.data(), static_cast<std::streamsize>(line.size()));
  }
  return Status::OK();
}

}  // namespace

Result<BacktestStats> RunCsv(const BacktestOptions& o, Engine* engine, std::ostream* out, std::ostream* progress) {
  tabular::CsvOptions csv;
  csv.delimiter = o.delimiter;
  VIGIL_ASSIGN_OR_RAISE(auto reader, CsvReader::Open(o.input, csv));
  VIGIL_ASSIGN_OR_RAISE(Layout layout, ResolveColumns(o, reader.get()));
  const char d = reader->delimiter();
  const std::string device =
      o.device_id.empty() ? std::filesystem::path(o.input).stem().string() : o.device_id;

  // The header: the input's own, or the generated names when it had none.
  std::string header = reader->header_line();
  if (!reader->has_header()) {
    header.clear();
    for (const auto& n : reader->column_names()) header += (header.empty() ? "" : std::string(1, d)) + n;
  }
  for (const char* c : kOutputColumns) header += d + std::string(c);
  *out << header << '\n';

  EventBatchBuilder builder;
  std::vector<uint32_t> metric_ids;
  for (const auto& n : layout.metric_names) metric_ids.push_back(builder.InternMetric(n));
  // A first column that parses as a time is the time column even without a known name.
  int ts_col = layout.ts_col;
  bool ts_checked = ts_col >= 0;

  BacktestStats stats;
  Progress prog(progress, o.progress_interval_s, reader->file_size());
  PendingRows rows;
  VerdictBatch verdicts;
  std::string event_id;
  while (true) {
    VIGIL_ASSIGN_OR_RAISE(bool more, reader->Next());
    if (more) {
      if (!ts_checked) {
        // No time column by name: a first column holding times (not numbers) is the time column.
        ts_checked = true;
        if (layout.metric_cols.front() == 0 && reader->Timestamp(0).ok() && !reader->Number(0).ok()) {
          ts_col = 0;
          layout.metric_cols.erase(layout.metric_cols.begin());
          layout.metric_names.erase(layout.metric_names.begin());
          metric_ids.erase(metric_ids.begin());
          if (layout.metric_cols.empty()) return Status::Invalid(o.input + ": no metric columns besides the time");
        }
      }
      int64_t ts = kSyntheticEpochMs + stats.rows * 1000;
      if (ts_col >= 0) {
        VIGIL_ASSIGN_OR_RAISE(ts, reader->Timestamp(ts_col));
      }
      event_id = device + "-" + std::to_string(reader->line_number());
      builder.BeginEvent(static_cast<uint32_t>(rows.lines.size()), event_id, device, ts, 1, o.device_class);
      bool any = false;
      for (size_t m = 0; m < layout.metric_cols.size(); ++m) {
        const int col = layout.metric_cols[m];
        std::string_view f = reader->fields()[static_cast<size_t>(col)];
        if (f.find_first_not_of(" \t") == std::string_view::npos) continue;  // a missing reading
        VIGIL_ASSIGN_OR_RAISE(double v, reader->Number(col));
        builder.AddMetric(metric_ids[m], v);
        any = true;
      }
      if (any) {
        Status st = builder.FinishEvent();
        if (!st.ok()) return Status::Invalid(o.input + ":" + std::to_string(reader->line_number()) + ": " + st.message());
      } else {
        builder.AbortEvent();
      }
      rows.lines.emplace_back(reader->line());
      rows.has_event.push_back(any);
      ++stats.rows;
    }
    if (!rows.lines.empty() && (!more || static_cast<int64_t>(rows.lines.size()) >= o.batch_rows)) {
      EventBatch batch = SortByTime(builder.Finish());
      VIGIL_RETURN_NOT_OK(engine->Process(batch, &verdicts));
      VIGIL_RETURN_NOT_OK(WriteRows(rows, batch, verdicts, d, out, &stats));
      rows.lines.clear();
      rows.has_event.clear();
      // Finish() empties the dictionary too: intern the metrics again, in the same order.
      metric_ids.clear();
      for (const auto& n : layout.metric_names) metric_ids.push_back(builder.InternMetric(n));
      prog.Update(stats.rows, reader->bytes_read());
    }
    if (!more) break;
  }
  prog.Finish(stats.rows);
  if (stats.rows == 0) return Status::Invalid(o.input + ": no data rows");
  return stats;
}

}  // namespace vigil::backtest::internal
