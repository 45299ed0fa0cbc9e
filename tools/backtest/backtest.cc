#include "backtest/backtest.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace vigil::backtest {
namespace internal {

double NowSeconds() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

Progress::Progress(std::ostream* out, double interval_s, int64_t total_bytes)
    : out_(out), interval_s_(interval_s), total_bytes_(total_bytes), start_(NowSeconds()), last_(start_) {}

void Progress::Update(int64_t rows, int64_t bytes) {
  if (out_ == nullptr || interval_s_ <= 0) return;
  const double now = NowSeconds();
  if (now - last_ < interval_s_) return;
  last_ = now;
  char buf[160];
  const double rate = rows / std::max(now - start_, 1e-9);
  if (total_bytes_ > 0) {
    std::snprintf(buf, sizeof(buf), "vigil backtest: %5.1f%%  %lld rows  %.0f rows/s",
                  100.0 * static_cast<double>(bytes) / static_cast<double>(total_bytes_),
                  static_cast<long long>(rows), rate);
  } else {
    std::snprintf(buf, sizeof(buf), "vigil backtest: %lld rows  %.0f rows/s", static_cast<long long>(rows), rate);
  }
  // On a terminal one line is rewritten; in a log every update is its own line.
  *out_ << (isatty(STDERR_FILENO) ? "\r" : "") << buf << (isatty(STDERR_FILENO) ? "" : "\n") << std::flush;
  printed_ = true;
}

void Progress::Finish(int64_t rows) {
  if (out_ != nullptr && printed_ && isatty(STDERR_FILENO)) *out_ << "\n";
}

std::string CsvField(std::string_view text, char delimiter) {
  if (text.find_first_of(std::string{delimiter, '"', '\n', '\r'}) == std::string_view::npos) {
    return std::string(text);
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

EventBatch SortByTime(EventBatch batch) {
  const auto ts = batch.ts_ms_column();
  if (std::is_sorted(ts.begin(), ts.end())) return batch;
  std::vector<int64_t> order(static_cast<size_t>(batch.size()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::stable_sort(order.begin(), order.end(), [&ts](int64_t a, int64_t b) { return ts[a] < ts[b]; });
  EventBatchBuilder b;
  for (int64_t i : order) {
    b.BeginEvent(batch.source_index(i), batch.event_id(i), batch.device_id(i), batch.ts_ms(i),
                 batch.schema_version(i), batch.device_class(i));
    const auto ids = batch.metric_ids(i);
    const auto values = batch.metric_values(i);
    for (size_t m = 0; m < ids.size(); ++m) b.AddMetric(batch.metric_name(ids[m]), values[m]);
    // The events were valid when first built, so they are valid now.
    Status st = b.FinishEvent();
    VIGIL_DCHECK(st.ok(), "re-adding a valid event cannot fail");
    (void)st;
  }
  return b.Finish();
}

std::string FormatScore(double score) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6f", score);
  return buf;
}

}  // namespace internal

Result<EngineOptions> LoadEngineOptions(const std::string& config_path) {
  if (config_path.empty()) return EngineOptions::Defaults();
  std::error_code ec;
  if (!std::filesystem::exists(config_path, ec)) return Status::IOError(config_path + ": no such config file");
  // FromYamlFile's messages already name the file and the key.
  return EngineOptions::FromYamlFile(config_path);
}

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Result<BacktestStats> RunBacktest(const BacktestOptions& options, std::ostream* progress) {
  if (options.input.empty()) return Status::Invalid("no input file (--input FILE)");
  if (options.output.empty()) return Status::Invalid("no output file (--output FILE, or - for stdout)");
  if (options.batch_rows <= 0) return Status::Invalid("batch_rows must be positive");
  std::error_code ec;
  if (std::filesystem::exists(options.output, ec) && std::filesystem::exists(options.input, ec) &&
      std::filesystem::equivalent(options.input, options.output, ec)) {
    return Status::Invalid(options.output + ": the output would overwrite the input");
  }
  VIGIL_ASSIGN_OR_RAISE(EngineOptions engine_options, LoadEngineOptions(options.config_path));
  VIGIL_ASSIGN_OR_RAISE(std::unique_ptr<Engine> engine, Engine::Make(engine_options));

  const bool jsonl = options.force_jsonl || EndsWith(options.input, ".jsonl") ||
                     EndsWith(options.input, ".ndjson");
  std::ofstream file;
  std::ostream* out = &std::cout;
  // Write to a temporary name and rename at the end, so a failed run leaves no half-written output.
  const std::string tmp = options.output + ".tmp";
  if (options.output != "-") {
    file.open(tmp, std::ios::binary | std::ios::trunc);
    if (!file) return Status::IOError(options.output + ": cannot open for writing");
    out = &file;
  }
  const double start = internal::NowSeconds();
  Result<BacktestStats> stats = jsonl ? internal::RunJsonLines(options, engine.get(), out, progress)
                                      : internal::RunCsv(options, engine.get(), out, progress);
  if (options.output != "-") {
    file.close();
    if (stats.ok() && !file) stats = Status::IOError(options.output + ": write failed (disk full?)");
    if (!stats.ok()) {
      std::filesystem::remove(tmp, ec);
      return stats;
    }
    std::filesystem::rename(tmp, options.output, ec);
    if (ec) return Status::IOError(options.output + ": cannot move the result into place: " + ec.message());
  } else if (stats.ok()) {
    out->flush();
  }
  if (stats.ok()) stats->seconds = internal::NowSeconds() - start;
  return stats;
}

}  // namespace vigil::backtest
