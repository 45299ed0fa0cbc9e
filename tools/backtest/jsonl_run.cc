// The JSON-lines side of the backtest: events -> core Decoder -> Engine -> events with verdicts.
#include <filesystem>
#include <fstream>
#include <ostream>

#include "backtest/backtest.h"
#include "vigil/event/decoder.h"

namespace vigil::backtest::internal {
namespace {

struct PendingLines {
  std::vector<std::string> text;
  std::vector<int64_t> line_number;
  std::string joined;
};

Status WriteLines(const PendingLines& p, const EventBatch& batch, const VerdictBatch& v, std::ostream* out,
                  BacktestStats* stats) {
  // Every line decoded (rejects stop the run); verdict k belongs to line batch.source_index(k).
  std::vector<int64_t> verdict_of(p.text.size(), -1);
  for (int64_t k = 0; k < batch.size(); ++k) verdict_of[batch.source_index(k)] = k;
  std::string line;
  for (size_t i = 0; i < p.text.size(); ++i) {
    const int64_t k = verdict_of[i];
    if (k < 0) return Status::Internal("line without a verdict");
    const auto j = static_cast<size_t>(k);
    const std::string& src = p.text[i];
    const size_t close = src.rfind('}');
    line.assign(src, 0, close);
    // An event always has fields, so a comma is due before ours.
    line += ", \"anomaly_score\": " + FormatScore(v.score[j]);
    line += v.is_anomaly[j] ? ", \"is_anomaly\": true" : ", \"is_anomaly\": false";
    line += ", \"severity\": " + std::to_string(v.severity[j]);
    line += ", \"explanation\": ";
    line += v.explanation_json[j].empty() ? std::string("null") : v.explanation_json[j];
    line += "}\n";
    out->write(line.data(), static_cast<std::streamsize>(line.size()));
    stats->anomalies += v.is_anomaly[j];
    ++stats->scored;
  }
  return Status::OK();
}

}  // namespace

Result<BacktestStats> RunJsonLines(const BacktestOptions& o, Engine* engine, std::ostream* out,
                                   std::ostream* progress) {
  std::ifstream in(o.input, std::ios::binary);
  if (!in) return Status::IOError(o.input + ": cannot open for reading (does it exist?)");
  std::error_code ec;
  const auto size = std::filesystem::file_size(o.input, ec);
  VIGIL_ASSIGN_OR_RAISE(std::unique_ptr<Decoder> decoder, Decoder::Make(DecoderOptions::Defaults()));

  BacktestStats stats;
  Progress prog(progress, o.progress_interval_s, ec ? 0 : static_cast<int64_t>(size));
  PendingLines p;
  EventBatch batch;
  std::vector<Reject> rejects;
  VerdictBatch verdicts;
  std::string line;
  int64_t line_no = 0, bytes = 0;
  while (true) {
    const bool more = static_cast<bool>(std::getline(in, line));
    if (more) {
      ++line_no;
      bytes += static_cast<int64_t>(line.size()) + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      p.joined += line;
      p.joined += '\n';
      p.text.push_back(line);
      p.line_number.push_back(line_no);
      ++stats.rows;
    } else if (in.bad()) {
      return Status::IOError(o.input + ": read error after line " + std::to_string(line_no));
    }
    if (!p.text.empty() && (!more || static_cast<int64_t>(p.text.size()) >= o.batch_rows)) {
      VIGIL_RETURN_NOT_OK(decoder->DecodeLines(p.joined, &batch, &rejects));
      if (!rejects.empty()) {
        const Reject& r = rejects.front();
        const int64_t at = r.index < p.line_number.size() ? p.line_number[r.index] : -1;
        return Status::Invalid(o.input + ":" + std::to_string(at) + ": rejected event (" +
                               std::string(RejectReasonName(r.reason)) + "): " + r.detail +
                               (rejects.size() > 1 ? " (and " + std::to_string(rejects.size() - 1) +
                                                         " more in the same batch)"
                                                   : ""));
      }
      batch = SortByTime(std::move(batch));
      VIGIL_RETURN_NOT_OK(engine->Process(batch, &verdicts));
      VIGIL_RETURN_NOT_OK(WriteLines(p, batch, verdicts, out, &stats));
      p.text.clear();
      p.line_number.clear();
      p.joined.clear();
      prog.Update(stats.rows, bytes);
    }
    if (!more) break;
  }
  prog.Finish(stats.rows);
  if (stats.rows == 0) return Status::Invalid(o.input + ": no events (the file is empty)");
  return stats;
}

}  // namespace vigil::backtest::internal
