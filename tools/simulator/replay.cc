#include "replay.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "time_util.h"

namespace vigil::sim {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '"' || s.back() == '\r' ||
                        s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

void Split(std::string_view line, char delim, std::vector<std::string_view>* out) {
  out->clear();
  size_t start = 0;
  for (;;) {
    const size_t pos = line.find(delim, start);
    out->push_back(Trim(line.substr(start, pos - start)));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
}

bool IsTimeColumn(const std::string& name) {
  return name == "timestamp" || name == "datetime" || name == "time" || name == "ts" ||
         name == "date";
}

bool IsLabelColumn(const std::string& name) {
  return name == "anomaly" || name == "changepoint" || name == "label" || name == "is_anomaly";
}

}  // namespace

std::optional<std::string> FindJsonField(std::string_view json, std::string_view key) {
  std::string quoted(1, '"');
  quoted.append(key).push_back('"');
  size_t pos = 0;
  while ((pos = json.find(quoted, pos)) != std::string_view::npos) {
    size_t p = pos + quoted.size();
    while (p < json.size() && (json[p] == ' ' || json[p] == '\t')) ++p;
    if (p >= json.size() || json[p] != ':') {
      pos = p;
      continue;
    }
    ++p;
    while (p < json.size() && (json[p] == ' ' || json[p] == '\t')) ++p;
    if (p >= json.size()) return std::nullopt;
    if (json[p] == '"') {
      std::string value;
      for (++p; p < json.size() && json[p] != '"'; ++p) {
        if (json[p] == '\\' && p + 1 < json.size()) ++p;
        value.push_back(json[p]);
      }
      return value;
    }
    const size_t end = json.find_first_of(",} \t", p);
    return std::string(json.substr(p, end - p));
  }
  return std::nullopt;
}

Result<std::unique_ptr<ReplaySource>> ReplaySource::Make(const ReplayOptions& options,
                                                         LabelsCallback labels) {
  auto src = std::make_unique<ReplaySource>(Key{}, options, std::move(labels));
  VIGIL_RETURN_NOT_OK(src->Open());
  return src;
}

ReplaySource::ReplaySource(Key /*key*/, const ReplayOptions& options, LabelsCallback labels)
    : options_(options), labels_(std::move(labels)) {
  if (options_.device_id.empty()) {
    std::string stem = options_.path.substr(options_.path.find_last_of('/') + 1);
    options_.device_id = stem.substr(0, stem.find('.'));
  }
}

Status ReplaySource::Open() {
  const std::string& path = options_.path;
  in_.open(path, std::ios::binary);
  if (!in_) return Status::IOError("cannot read replay file '" + path + "'");
  std::string ext = Lower(path.substr(std::min(path.size(), path.find_last_of('.') + 1)));
  if (options_.format == "jsonl" ||
      (options_.format == "auto" && (ext == "jsonl" || ext == "json" || ext == "ndjson"))) {
    jsonl_ = true;
    return Status::OK();
  }
  if (options_.format != "auto" && options_.format != "csv") {
    return Status::Invalid("--format must be auto, csv or jsonl, got '" + options_.format + "'");
  }
  std::string header;
  if (!std::getline(in_, header)) return Status::Invalid("replay file '" + path + "' is empty");
  ++line_no_;
  if (header.size() >= 3 && header.compare(0, 3, "\xEF\xBB\xBF") == 0) header.erase(0, 3);
  // The delimiter: whichever of ; , \t | the header uses most.
  size_t best = 0;
  for (const char c : {',', ';', '\t', '|'}) {
    const auto n = static_cast<size_t>(std::count(header.begin(), header.end(), c));
    if (n > best) {
      best = n;
      delim_ = c;
    }
  }
  if (best == 0) {
    return Status::Invalid("replay file '" + path +
                           "': the header has one column; want a time column and metrics "
                           "(timestamp,value or datetime;a;b;...)");
  }
  Split(header, delim_, &fields_);
  std::vector<std::string> names;
  for (std::string_view f : fields_) names.emplace_back(f);
  ts_col_ = -1;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string lower = Lower(names[i]);
    if (ts_col_ < 0 && IsTimeColumn(lower)) ts_col_ = static_cast<int>(i);
    if (label_col_ < 0 && (lower == "anomaly" || lower == "label" || lower == "is_anomaly")) {
      label_col_ = static_cast<int>(i);
    }
  }
  if (ts_col_ < 0) ts_col_ = 0;
  if (!options_.columns.empty()) {
    for (const std::string& want : options_.columns) {
      auto it = std::find(names.begin(), names.end(), want);
      if (it == names.end()) {
        return Status::NotFound("--columns: no column '" + want + "' in " + path);
      }
      metric_cols_.push_back(static_cast<int>(it - names.begin()));
    }
  } else {
    for (size_t i = 0; i < names.size(); ++i) {
      if (static_cast<int>(i) == ts_col_ || IsLabelColumn(Lower(names[i]))) continue;
      metric_cols_.push_back(static_cast<int>(i));
    }
  }
  if (metric_cols_.empty()) return Status::Invalid("replay file '" + path + "' has no metric column");
  for (int c : metric_cols_) metric_names_.push_back(names[static_cast<size_t>(c)]);
  values_.resize(metric_cols_.size());
  return Status::OK();
}

bool ReplaySource::Next(Record* out) {
  while (!done_ && std::getline(in_, line_)) {
    ++line_no_;
    if (Trim(line_).empty()) continue;
    Status st = jsonl_ ? ParseJsonLine(line_, out) : ParseRow(line_, out);
    if (!st.ok()) {
      error_ = st.WithContext(options_.path + ":" + std::to_string(line_no_));
      done_ = true;
      break;
    }
    return true;
  }
  if (in_.bad() && error_.ok()) error_ = Status::IOError("error reading " + options_.path);
  CloseEpisode();
  return false;
}

Status ReplaySource::ParseJsonLine(const std::string& line, Record* out) {
  out->value.assign(line);
  if (!out->value.empty() && out->value.back() == '\r') out->value.pop_back();
  std::optional<std::string> device = FindJsonField(line, "device_id");
  out->key = device ? *device : options_.device_id;
  out->ts_ms = 0;
  if (std::optional<std::string> ts = FindJsonField(line, "ts")) {
    Result<int64_t> ms = ParseTimestampMs(*ts);
    if (ms.ok()) out->ts_ms = *ms;
  }
  out->kind = RecordKind::kNormal;
  ++row_;
  return Status::OK();
}

Status ReplaySource::ParseRow(const std::string& line, Record* out) {
  Split(line, delim_, &fields_);
  const int needed = std::max(ts_col_, *std::max_element(metric_cols_.begin(), metric_cols_.end()));
  if (static_cast<int>(fields_.size()) <= needed) {
    return Status::Invalid("row has " + std::to_string(fields_.size()) + " fields, want at least " +
                           std::to_string(needed + 1));
  }
  VIGIL_ASSIGN_OR_RAISE(int64_t ts, ParseTimestampMs(fields_[static_cast<size_t>(ts_col_)]));
  if (!shift_ms_) shift_ms_ = options_.start_ms ? *options_.start_ms - ts : 0;
  ts += *shift_ms_;
  for (size_t i = 0; i < metric_cols_.size(); ++i) {
    std::string_view f = fields_[static_cast<size_t>(metric_cols_[i])];
    double v = 0.0;
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (ec != std::errc() || p != f.data() + f.size()) {
      return Status::Invalid("bad number '" + std::string(f) + "' in column '" + metric_names_[i] +
                             "'");
    }
    values_[i] = v;
  }
  char seq[16];
  std::snprintf(seq, sizeof(seq), "-%012lld", static_cast<long long>(row_++));
  event_id_.assign(options_.device_id).append(seq);
  EventView e;
  e.event_id = event_id_;
  e.device_id = options_.device_id;
  e.ts_ms = ts;
  e.metric_names = &metric_names_;
  e.values = &values_;
  out->value.clear();
  AppendEventJson(e, &out->value);
  out->key = options_.device_id;
  out->ts_ms = ts;
  out->kind = RecordKind::kNormal;
  if (label_col_ >= 0) {
    std::string_view lab = fields_[static_cast<size_t>(label_col_)];
    const bool anomalous = !lab.empty() && lab != "0" && lab != "0.0" && lab != "false";
    if (anomalous) {
      out->kind = RecordKind::kAnomalous;
      if (!episode_) {
        episode_.emplace();
        episode_->id = ++episodes_;
        episode_->start_ts_ms = ts;
      }
      episode_->end_ts_ms = ts;
      episode_->event_ids.push_back(event_id_);
    } else {
      CloseEpisode();
    }
  }
  return Status::OK();
}

void ReplaySource::CloseEpisode() {
  if (!episode_) return;
  if (labels_) {
    std::string line;
    char id[32];
    std::snprintf(id, sizeof(id), "ep-%06lld", static_cast<long long>(episode_->id));
    line.append("{\"episode_id\":\"").append(id).append("\",\"kind\":\"labelled\",\"device_id\":");
    AppendJsonString(options_.device_id, &line);
    line.append(",\"metrics\":[");
    for (size_t i = 0; i < metric_names_.size(); ++i) {
      if (i > 0) line.push_back(',');
      AppendJsonString(metric_names_[i], &line);
    }
    line.append("],\"start_ts_ms\":").append(std::to_string(episode_->start_ts_ms));
    line.append(",\"end_ts_ms\":").append(std::to_string(episode_->end_ts_ms));
    char ts[kRfc3339Size];
    FormatRfc3339Ms(episode_->start_ts_ms, ts);
    line.append(",\"start_ts\":\"").append(ts, kRfc3339Size);
    FormatRfc3339Ms(episode_->end_ts_ms, ts);
    line.append("\",\"end_ts\":\"").append(ts, kRfc3339Size).append("\",\"event_ids\":[");
    for (size_t i = 0; i < episode_->event_ids.size(); ++i) {
      if (i > 0) line.push_back(',');
      AppendJsonString(episode_->event_ids[i], &line);
    }
    line.append("]}");
    labels_(options_.device_id, line);
  }
  episode_.reset();
}

}  // namespace vigil::sim
