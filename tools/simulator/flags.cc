#include "flags.h"

#include <charconv>
#include <cstdio>
#include <cmath>
#include <map>
#include <string_view>

#include "time_util.h"

namespace vigil::sim {
namespace {

Status Bad(std::string_view flag, std::string_view value, std::string_view want) {
  return Status::Invalid("bad value '" + std::string(value) + "' for " + std::string(flag) +
                         " (want " + std::string(want) + ")");
}

Result<int64_t> Int(std::string_view flag, std::string_view v, int64_t lo, int64_t hi) {
  int64_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || x < lo || x > hi) {
    return Bad(flag, v, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return x;
}

Result<double> Real(std::string_view flag, std::string_view v, double lo, double hi) {
  double x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || !std::isfinite(x) || x < lo || x > hi) {
    char range[64];
    std::snprintf(range, sizeof(range), "a number in [%g, %g]", lo, hi);
    return Bad(flag, v, range);
  }
  return x;
}

std::vector<std::string> List(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    const size_t comma = v.find(',');
    if (comma != 0) out.emplace_back(v.substr(0, comma));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

// Flags that take no value.
bool IsSwitch(std::string_view name) {
  return name == "--help" || name == "-h" || name == "--dry-run" || name == "--quiet";
}

Status Apply(ProduceConfig* c, std::string_view f, std::string_view v, bool* events_set) {
  FleetOptions& fl = c->fleet;
  if (f == "--bootstrap") {
    c->kafka.bootstrap = v;
  } else if (f == "--topic") {
    c->kafka.topic = v;
  } else if (f == "--labels-topic") {
    c->kafka.labels_topic = v;
  } else if (f == "--devices") {
    VIGIL_ASSIGN_OR_RAISE(int64_t n, Int(f, v, 1, 10000000));
    fl.devices = static_cast<int>(n);
  } else if (f == "--metrics") {
    VIGIL_ASSIGN_OR_RAISE(int64_t n, Int(f, v, 1, kMaxMetrics));
    fl.metrics = static_cast<int>(n);
  } else if (f == "--device-classes") {
    fl.device_classes = List(v);
    for (const std::string& name : fl.device_classes) {
      VIGIL_RETURN_NOT_OK(FindDeviceClass(name).status().WithContext("--device-classes"));
    }
  } else if (f == "--sites") {
    VIGIL_ASSIGN_OR_RAISE(int64_t n, Int(f, v, 1, 1000000));
    fl.sites = static_cast<int>(n);
  } else if (f == "--rate") {
    VIGIL_ASSIGN_OR_RAISE(c->run.rate, Real(f, v, 0, 1e9));
  } else if (f == "--events") {
    VIGIL_ASSIGN_OR_RAISE(fl.max_messages, Int(f, v, 0, INT64_MAX));
    *events_set = true;
  } else if (f == "--duration") {
    VIGIL_ASSIGN_OR_RAISE(c->run.duration_ms, ParseDurationMs(v, 1000));
  } else if (f == "--seed") {
    VIGIL_ASSIGN_OR_RAISE(int64_t s, Int(f, v, 0, INT64_MAX));
    fl.seed = static_cast<uint64_t>(s);
  } else if (f == "--start") {
    VIGIL_ASSIGN_OR_RAISE(fl.start_ms, ParseTimestampMs(v));
    c->replay_options.start_ms = fl.start_ms;
  } else if (f == "--interval") {
    VIGIL_ASSIGN_OR_RAISE(fl.interval_ms, ParseDurationMs(v, 1));
  } else if (f == "--anomaly-rate") {
    VIGIL_ASSIGN_OR_RAISE(fl.anomaly.rate, Real(f, v, 0, 1));
  } else if (f == "--anomaly-mix") {
    VIGIL_ASSIGN_OR_RAISE(fl.anomaly.mix, ParseAnomalyMix(v));
  } else if (f == "--anomaly-scale") {
    VIGIL_ASSIGN_OR_RAISE(fl.anomaly.scale, Real(f, v, 0.01, 100));
  } else if (f == "--anomaly-warmup") {
    VIGIL_ASSIGN_OR_RAISE(int64_t n, Int(f, v, 0, 1000000000));
    fl.anomaly.warmup_readings = static_cast<int>(n);
  } else if (f == "--anomaly-gap") {
    VIGIL_ASSIGN_OR_RAISE(int64_t n, Int(f, v, 0, 1000000000));
    fl.anomaly.gap_readings = static_cast<int>(n);
  } else if (f == "--duplicate-rate") {
    VIGIL_ASSIGN_OR_RAISE(fl.duplicate_rate, Real(f, v, 0, 0.5));
  } else if (f == "--malformed-rate") {
    VIGIL_ASSIGN_OR_RAISE(fl.malformed_rate, Real(f, v, 0, 0.5));
  } else if (f == "--late-rate") {
    VIGIL_ASSIGN_OR_RAISE(fl.late_rate, Real(f, v, 0, 0.5));
  } else if (f == "--max-lateness") {
    VIGIL_ASSIGN_OR_RAISE(fl.max_lateness_ms, ParseDurationMs(v, 1));
  } else if (f == "--oversize-bytes") {
    VIGIL_ASSIGN_OR_RAISE(fl.oversize_bytes, Int(f, v, 1024, 64 << 20));
  } else if (f == "--labels") {
    c->labels_path = v;
  } else if (f == "--stats") {
    c->stats_path = v;
  } else if (f == "--replay") {
    c->replay = true;
    c->replay_options.path = v;
  } else if (f == "--format") {
    if (v != "auto" && v != "csv" && v != "jsonl") return Bad(f, v, "auto, csv or jsonl");
    c->replay_options.format = v;
  } else if (f == "--device-id") {
    c->replay_options.device_id = v;
  } else if (f == "--columns") {
    c->replay_options.columns = List(v);
  } else if (f == "--speedup") {
    VIGIL_ASSIGN_OR_RAISE(c->run.speedup, Real(f, v, 0, 1e9));
  } else if (f == "--output") {
    c->output = v;
    c->dry_run = true;
  } else if (f == "--compression") {
    if (v != "lz4" && v != "zstd" && v != "snappy" && v != "gzip" && v != "none") {
      return Bad(f, v, "lz4, zstd, snappy, gzip or none");
    }
    c->kafka.compression = v;
  } else if (f == "--linger-ms") {
    VIGIL_ASSIGN_OR_RAISE(int64_t n, Int(f, v, 0, 900000));
    c->kafka.linger_ms = static_cast<int>(n);
  } else if (f == "--batch-size") {
    VIGIL_ASSIGN_OR_RAISE(int64_t n, Int(f, v, 1, 2147483647));
    c->kafka.batch_size = static_cast<int>(n);
  } else if (f == "--queue-messages") {
    VIGIL_ASSIGN_OR_RAISE(int64_t n, Int(f, v, 1, 2147483647));
    c->kafka.queue_max_messages = static_cast<int>(n);
  } else if (f == "--kafka-config") {
    const size_t eq = v.find('=');
    if (eq == std::string_view::npos || eq == 0) return Bad(f, v, "key=value");
    c->kafka.extra.emplace_back(std::string(v.substr(0, eq)), std::string(v.substr(eq + 1)));
  } else if (f == "--progress") {
    VIGIL_ASSIGN_OR_RAISE(c->run.progress_s, Real(f, v, 0, 86400));
  } else if (f == "--flush-timeout") {
    VIGIL_ASSIGN_OR_RAISE(int64_t ms, ParseDurationMs(v, 1000));
    c->run.flush_timeout_ms = static_cast<int>(std::min<int64_t>(ms, 2147483647));
  } else {
    return Status::Invalid("unknown flag " + std::string(f));
  }
  return Status::OK();
}

}  // namespace

Result<ProduceConfig> ParseFlags(int argc, const char* const* argv, const GetEnv& getenv) {
  ProduceConfig c;
  if (const char* b = getenv("KAFKA_BOOTSTRAP")) c.kafka.bootstrap = b;
  if (const char* t = getenv("KAFKA_TOPIC")) c.kafka.topic = t;
  bool events_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') {
      return Status::Invalid("unexpected argument '" + std::string(arg) + "' (flags start with --)");
    }
    std::string_view name = arg;
    std::string_view value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (IsSwitch(name)) {
      if (has_value) return Status::Invalid(std::string(name) + " takes no value");
      if (name == "--help" || name == "-h") c.help = true;
      if (name == "--dry-run") c.dry_run = true;
      if (name == "--quiet") c.run.progress_s = 0;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) return Status::Invalid("flag " + std::string(name) + " needs a value");
      value = argv[++i];
    }
    VIGIL_RETURN_NOT_OK(Apply(&c, name, value, &events_set));
  }
  if (c.help) return c;
  if (!events_set && c.run.duration_ms == 0 && !c.replay) c.fleet.max_messages = 10000;
  if (c.run.speedup > 0 && !c.replay) {
    return Status::Invalid("--speedup paces a --replay file; use --rate for the simulator");
  }
  if (c.run.speedup > 0 && c.run.rate > 0) {
    return Status::Invalid("--speedup and --rate cannot be combined: pick one pacing");
  }
  if (!c.dry_run) {
    if (c.kafka.bootstrap.empty()) {
      return Status::Invalid("no Kafka address: set KAFKA_BOOTSTRAP or pass --bootstrap "
                             "(or use --dry-run --output FILE)");
    }
    if (c.kafka.topic.empty()) {
      return Status::Invalid("no topic: set KAFKA_TOPIC or pass --topic");
    }
  }
  return c;
}

const char* Usage() {
  return R"(usage: vigil-produce [flags]

Simulate an IoT fleet (or replay a file) into Kafka, with injected anomalies,
duplicates, malformed and late events, and write the ground truth.

Kafka (defaults from KAFKA_BOOTSTRAP and KAFKA_TOPIC):
  --bootstrap HOST:PORT     broker list
  --topic NAME              event topic
  --labels-topic NAME       also send each ground-truth episode here (key = device_id)
  --compression C           lz4 (default), zstd, snappy, gzip, none
  --linger-ms N             batching delay (default 20)
  --batch-size BYTES        max batch per partition (default 1000000)
  --queue-messages N        local queue bound (default 1000000)
  --kafka-config K=V        any librdkafka property, repeatable (SASL/TLS for MSK)
  --flush-timeout D         how long the final flush may take (default 60s)

Fleet:
  --devices N               number of devices (default 100)
  --metrics N               metrics per device, 1..6 (default 3)
  --device-classes A,B      pump, compressor, hvac, environment (default: all, round robin)
  --sites N                 sites in tags.site (default 4)
  --seed N                  everything is deterministic for a seed (default 42)
  --start TS                event time of the first reading (default 2026-01-01T00:00:00Z)
  --interval D              event time between readings of one device (default 1000ms)

Amount and pace:
  --events N                messages in total, extras included (default 10000;
                            0 = no limit: stop with --duration, Ctrl-C or SIGTERM)
  --duration D              or: run this long (wall time; 30s, 5m)
  --rate N                  messages per second in total; 0 = as fast as possible (default)

Anomalies and ground truth:
  --anomaly-rate P          chance an idle device starts an episode at a reading (default 0.002)
  --anomaly-mix K=W,...     weights of spike, dip, level_shift, drift, stuck, noise_burst,
                            dropout, correlation_break (default: all 1)
  --anomaly-scale X         multiply every magnitude (default 1)
  --anomaly-warmup N        readings per device before the first episode (default 300)
  --anomaly-gap N           quiet readings between two episodes of a device (default 200)
  --labels FILE             write one JSON line per episode

Faults:
  --duplicate-rate P        fraction of messages that repeat an earlier one (same event_id)
  --malformed-rate P        fraction of broken messages: invalid_json, missing_field,
                            wrong_type, non_finite, oversized, bad_timestamp
  --oversize-bytes N        size of an oversized payload (default 131072)
  --late-rate P             fraction of normal readings held back and sent late
  --max-lateness D          how far back in event time (default 30s; must exceed --interval)

Replay instead of simulating:
  --replay FILE             NAB CSV (timestamp,value), SKAB CSV (;), or JSON lines
  --format F                auto (by extension), csv, jsonl
  --device-id ID            device of the file's rows (default: file name)
  --columns A,B             CSV metric columns (default: all but time and label columns)
  --speedup X               pace at X times real time (default: as fast as possible)

Output:
  --dry-run                 write JSON lines instead of sending to Kafka
  --output FILE|-           where --dry-run writes (default -: standard output)
  --stats FILE              write the final stats as JSON
  --progress S              seconds between progress lines on stderr (default 2; 0 = none)
  --quiet                   no progress lines

Exit status: 0 all delivered, 1 a delivery or I/O failure, 2 bad flags or unreadable input.
)";
}

}  // namespace vigil::sim
