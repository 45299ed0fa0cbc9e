#include "produce.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace vigil::sim {
namespace {

int Fail(std::ostream& err, int code, const Status& st) {
  err << "vigil-produce: error: " << st.message() << "\n";
  return code;
}

}  // namespace

int RunProduce(const ProduceConfig& config, std::ostream& err) {
  std::ofstream labels_file;
  if (!config.labels_path.empty()) {
    labels_file.open(config.labels_path, std::ios::binary | std::ios::trunc);
    if (!labels_file) {
      return Fail(err, kExitUsage,
                  Status::IOError("cannot open --labels " + config.labels_path + " for writing: " +
                                  std::strerror(errno)));
    }
  }
  Result<std::unique_ptr<Sink>> sink =
      config.dry_run ? MakeFileSink(config.output) : MakeKafkaSink(config.kafka);
  if (!sink.ok()) return Fail(err, kExitUsage, sink.status());
  Sink* out = sink->get();
  Status label_status;
  LabelsCallback labels = [&](const std::string& key, const std::string& line) {
    if (labels_file.is_open()) labels_file << line << '\n';
    if (Status st = out->SendLabel(key, line); !st.ok() && label_status.ok()) label_status = st;
  };
  if (config.labels_path.empty() && config.kafka.labels_topic.empty()) labels = nullptr;

  std::unique_ptr<RecordSource> source;
  FleetSimulator* fleet = nullptr;
  ReplaySource* replay = nullptr;
  if (config.replay) {
    Result<std::unique_ptr<ReplaySource>> r = ReplaySource::Make(config.replay_options, labels);
    if (!r.ok()) return Fail(err, kExitUsage, r.status());
    replay = r->get();
    source = std::move(*r);
  } else {
    Result<std::unique_ptr<FleetSimulator>> f = FleetSimulator::Make(config.fleet, labels);
    if (!f.ok()) return Fail(err, kExitUsage, f.status());
    fleet = f->get();
    source = std::move(*f);
  }

  InstallStopHandlers();
  Result<RunStats> stats = Run(source.get(), out, config.run);
  if (!stats.ok()) {
    (void)out->Close(config.run.flush_timeout_ms);
    return Fail(err, kExitFailed, stats.status());
  }
  RunStats& s = *stats;
  if (fleet != nullptr) {
    for (int i = 0; i < kNumAnomalyKinds; ++i) s.episodes[i] = fleet->episodes().by_kind[i];
    s.episodes_total = fleet->episodes().total;
  }
  if (replay != nullptr) s.episodes_total = replay->episodes();
  PrintStats(s, err);

  int code = kExitOk;
  if (replay != nullptr && !replay->error().ok()) code = Fail(err, kExitUsage, replay->error());
  if (labels_file.is_open()) {
    labels_file.flush();
    if (!labels_file) {
      code = Fail(err, kExitFailed, Status::IOError("cannot write --labels " + config.labels_path));
    }
  }
  if (!label_status.ok()) code = Fail(err, kExitFailed, label_status);
  if (!s.close_status.ok()) code = Fail(err, kExitFailed, s.close_status);
  if (s.sink.failed > 0) {
    code = Fail(err, kExitFailed,
                Status::IOError(std::to_string(s.sink.failed) + " message(s) failed delivery"));
  }
  if (!config.stats_path.empty()) {
    std::ofstream f(config.stats_path, std::ios::binary | std::ios::trunc);
    f << StatsJson(s) << '\n';
    if (!f) {
      code = Fail(err, kExitFailed, Status::IOError("cannot write --stats " + config.stats_path));
    }
  }
  return code;
}

}  // namespace vigil::sim
