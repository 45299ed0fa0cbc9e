// replay.h: replay a recorded file as events.
//
// Formats: NAB-style CSV ("timestamp,value[,label]"), wide multivariate CSV
// with any delimiter (SKAB's "datetime;Accelerometer1RMS;...;anomaly;changepoint"),
// and JSON lines (sent as they are). CSV rows become events of one device
// (--device-id); label columns (anomaly, changepoint, label, is_anomaly) are
// not metrics: runs of a non-zero `anomaly`/`label` become ground-truth episodes.
//
//   ReplayOptions ro; ro.path = "skab/valve1/0.csv"; ro.device_id = "valve1-0";
//   VIGIL_ASSIGN_OR_RAISE(auto src, ReplaySource::Make(ro, labels_callback));
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fleet.h"
#include "record.h"
#include "vigil/status.h"

namespace vigil::sim {

struct ReplayOptions {
  std::string path;
  std::string device_id;             ///< empty: the file name without extension
  std::string format = "auto";       ///< auto, csv, jsonl
  std::vector<std::string> columns;  ///< CSV metric columns; empty: all but time and labels
  std::optional<int64_t> start_ms;   ///< shift event times so the first row is here
};

class ReplaySource : public RecordSource {
  struct Key {
    explicit Key() = default;
  };

 public:
  /// \brief Open and check the file (header, columns).
  static Result<std::unique_ptr<ReplaySource>> Make(const ReplayOptions& options,
                                                    LabelsCallback labels);
  ReplaySource(Key key, const ReplayOptions& options, LabelsCallback labels);

  bool Next(Record* out) override;
  void Finish() override { done_ = true; }

  /// \brief The first data error (bad number, bad timestamp), if reading stopped on one.
  const Status& error() const { return error_; }
  int64_t episodes() const { return episodes_; }

 private:
  Status Open();
  Status ParseRow(const std::string& line, Record* out);
  Status ParseJsonLine(const std::string& line, Record* out);
  void CloseEpisode();

  ReplayOptions options_;
  LabelsCallback labels_;
  std::ifstream in_;
  bool jsonl_ = false;
  char delim_ = ',';
  int ts_col_ = 0;
  int label_col_ = -1;
  std::vector<int> metric_cols_;
  std::vector<std::string> metric_names_;
  std::vector<double> values_;
  std::vector<std::string_view> fields_;
  int64_t line_no_ = 0;
  int64_t row_ = 0;
  std::optional<int64_t> shift_ms_;
  bool done_ = false;
  Status error_;
  std::string line_;
  std::string event_id_;
  // The open ground-truth episode of the label column.
  std::optional<Episode> episode_;
  int64_t episodes_ = 0;
};

/// \brief Return the string value of top-level-looking key `key` in a JSON line, if any.
std::optional<std::string> FindJsonField(std::string_view json, std::string_view key);

}  // namespace vigil::sim
