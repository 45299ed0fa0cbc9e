// run.h: the produce loop: pacing, progress line, final stats.
//
//   RunOptions ro; ro.rate = 1000;
//   Result<RunStats> stats = Run(fleet.get(), sink.get(), ro);
//   PrintStats(*stats, std::cerr);
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "anomaly.h"
#include "event_json.h"
#include "record.h"
#include "sink.h"
#include "vigil/status.h"

namespace vigil::sim {

struct RunOptions {
  double rate = 0.0;            ///< messages per second in total; 0: as fast as possible
  double speedup = 0.0;         ///< > 0: pace by event time, this many times real time
  int64_t duration_ms = 0;      ///< > 0: stop making new readings after this wall time
  double progress_s = 2.0;      ///< seconds between progress lines; 0: none
  int flush_timeout_ms = 60000;
};

/// \brief What was produced.
struct RunStats {
  int64_t queued = 0;  ///< messages handed to the sink
  int64_t queued_bytes = 0;
  int64_t by_kind[kNumRecordKinds] = {};
  int64_t by_malformed[kNumMalformedKinds] = {};
  int64_t episodes[kNumAnomalyKinds] = {};
  int64_t episodes_total = 0;
  SinkCounters sink;
  double elapsed_s = 0.0;
  Status close_status;  ///< the flush at the end
};

/// \brief Make SIGINT and SIGTERM end the run cleanly: no new readings, held ones
/// drained, everything flushed, stats printed. A second signal kills as usual.
void InstallStopHandlers();

/// \brief Send every record of `source` to `sink`, paced; flush at the end.
/// Returns an error only for a failure that stopped the run (a produce error);
/// delivery failures are counted in the stats.
Result<RunStats> Run(RecordSource* source, Sink* sink, const RunOptions& options);

/// \brief Write the stats as a human-readable block.
void PrintStats(const RunStats& stats, std::ostream& out);

/// \brief Write the stats as one JSON object.
std::string StatsJson(const RunStats& stats);

}  // namespace vigil::sim
