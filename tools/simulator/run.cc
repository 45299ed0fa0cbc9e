#include "run.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

namespace vigil::sim {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A paced run sleeps only once it is this far ahead of schedule, then until it is on
// schedule again: ~1,000 wake-ups a second at any rate. Sleeping before every message
// (100 us apart at 10,000/s) cost the producer ~15% of a core in wake-ups alone, on
// the cores the pipeline it feeds runs on. Messages leave at most this early.
constexpr double kPaceSlackS = 0.001;

volatile std::sig_atomic_t g_stop = 0;

extern "C" void OnStopSignal(int sig) {
  g_stop = 1;
  std::signal(sig, SIG_DFL);  // a second signal ends the process
}

void Progress(const RunStats& s, const SinkCounters& c, double elapsed, bool tty) {
  char line[256];
  const double rate = elapsed > 0 ? static_cast<double>(c.delivered) / elapsed : 0.0;
  std::snprintf(line, sizeof(line),
                "vigil-produce: %7.1fs  queued %lld  delivered %lld  failed %lld  in flight %lld  "
                "%.0f ev/s  %.2f MB/s",
                elapsed, static_cast<long long>(s.queued), static_cast<long long>(c.delivered),
                static_cast<long long>(c.failed), static_cast<long long>(c.in_flight), rate,
                elapsed > 0 ? static_cast<double>(c.delivered_bytes) / elapsed / 1e6 : 0.0);
  std::fprintf(stderr, tty ? "\r%s\033[K" : "%s\n", line);
}

}  // namespace

void InstallStopHandlers() {
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
}

Result<RunStats> Run(RecordSource* source, Sink* sink, const RunOptions& o) {
  RunStats s;
  Record r;
  const bool tty = isatty(STDERR_FILENO) != 0;
  const Clock::time_point t0 = Clock::now();
  Clock::time_point next_progress = t0 + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(o.progress_s));
  int64_t first_ts = 0;
  bool finishing = false;
  while (source->Next(&r)) {
    VIGIL_RETURN_NOT_OK(sink->Send(r.key, r.value));
    ++s.queued;
    s.queued_bytes += static_cast<int64_t>(r.value.size());
    ++s.by_kind[static_cast<int>(r.kind)];
    if (r.kind == RecordKind::kMalformed) ++s.by_malformed[static_cast<int>(r.malformed)];
    if (s.queued == 1) first_ts = r.ts_ms;
    // Checking the clock every 64 messages keeps it off the fast path.
    if ((s.queued & 63) != 0 && o.rate <= 0.0 && o.speedup <= 0.0) continue;
    Clock::time_point now = Clock::now();
    double target = -1.0;
    if (o.rate > 0.0) target = static_cast<double>(s.queued) / o.rate;
    if (o.speedup > 0.0) target = static_cast<double>(r.ts_ms - first_ts) / 1000.0 / o.speedup;
    const bool ahead = target > 0.0 && Seconds(now - t0) < target - kPaceSlackS;
    while (ahead && Seconds(now - t0) < target) {
      const double wait = std::min(target - Seconds(now - t0), 0.05);
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      sink->Poll();
      now = Clock::now();
      if ((o.progress_s > 0 && now >= next_progress) || g_stop != 0) break;
    }
    const bool timed_out =
        o.duration_ms > 0 && Seconds(now - t0) * 1000.0 >= static_cast<double>(o.duration_ms);
    if (!finishing && (timed_out || g_stop != 0)) {
      source->Finish();
      finishing = true;
    }
    if (o.progress_s > 0 && now >= next_progress) {
      Progress(s, sink->counters(), Seconds(now - t0), tty);
      next_progress = now + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(o.progress_s));
    }
  }
  s.close_status = sink->Close(o.flush_timeout_ms);
  s.elapsed_s = Seconds(Clock::now() - t0);
  s.sink = sink->counters();
  if (o.progress_s > 0) {
    Progress(s, s.sink, s.elapsed_s, tty);
    if (tty) std::fputc('\n', stderr);
  }
  return s;
}

std::string StatsJson(const RunStats& s) {
  const double secs = s.elapsed_s > 0 ? s.elapsed_s : 1e-9;
  std::string j = "{";
  auto num = [&](const char* k, int64_t v, bool comma = true) {
    j.append("\"").append(k).append("\":").append(std::to_string(v));
    if (comma) j.push_back(',');
  };
  num("queued", s.queued);
  num("delivered", s.sink.delivered);
  num("failed", s.sink.failed);
  num("unsent", s.sink.in_flight);
  num("labels_delivered", s.sink.labels_delivered);
  num("queued_bytes", s.queued_bytes);
  num("delivered_bytes", s.sink.delivered_bytes);
  char buf[128];
  std::snprintf(buf, sizeof(buf), "\"elapsed_s\":%.3f,\"events_per_s\":%.1f,\"mb_per_s\":%.3f,",
                s.elapsed_s, static_cast<double>(s.sink.delivered) / secs,
                static_cast<double>(s.sink.delivered_bytes) / secs / 1e6);
  j.append(buf);
  j.append("\"kinds\":{");
  for (int i = 0; i < kNumRecordKinds; ++i) {
    j.append("\"").append(RecordKindName(static_cast<RecordKind>(i))).append("\":");
    j.append(std::to_string(s.by_kind[i])).append(i + 1 < kNumRecordKinds ? "," : "},");
  }
  j.append("\"malformed\":{");
  for (int i = 0; i < kNumMalformedKinds; ++i) {
    j.append("\"").append(MalformedKindName(static_cast<MalformedKind>(i))).append("\":");
    j.append(std::to_string(s.by_malformed[i])).append(i + 1 < kNumMalformedKinds ? "," : "},");
  }
  j.append("\"episodes\":{");
  for (int i = 0; i < kNumAnomalyKinds; ++i) {
    j.append("\"").append(AnomalyKindName(static_cast<AnomalyKind>(i))).append("\":");
    j.append(std::to_string(s.episodes[i])).append(",");
  }
  j.append("\"total\":").append(std::to_string(s.episodes_total)).append("},");
  j.append("\"errors\":[");
  for (size_t i = 0; i < s.sink.errors.size(); ++i) {
    if (i > 0) j.push_back(',');
    AppendJsonString(s.sink.errors[i], &j);
  }
  j.append("]}");
  return j;
}

void PrintStats(const RunStats& s, std::ostream& out) {
  const double secs = s.elapsed_s > 0 ? s.elapsed_s : 1e-9;
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "sent %lld  failed %lld  unsent %lld  in %.2f s  %.0f events/s  %.2f MB/s\n",
                static_cast<long long>(s.sink.delivered), static_cast<long long>(s.sink.failed),
                static_cast<long long>(s.sink.in_flight), s.elapsed_s,
                static_cast<double>(s.sink.delivered) / secs,
                static_cast<double>(s.sink.delivered_bytes) / secs / 1e6);
  out << buf << "  by kind:";
  for (int i = 0; i < kNumRecordKinds; ++i) {
    out << " " << RecordKindName(static_cast<RecordKind>(i)) << "=" << s.by_kind[i];
  }
  out << "\n  malformed:";
  for (int i = 0; i < kNumMalformedKinds; ++i) {
    out << " " << MalformedKindName(static_cast<MalformedKind>(i)) << "=" << s.by_malformed[i];
  }
  out << "\n  episodes:";
  for (int i = 0; i < kNumAnomalyKinds; ++i) {
    out << " " << AnomalyKindName(static_cast<AnomalyKind>(i)) << "=" << s.episodes[i];
  }
  out << " total=" << s.episodes_total << "\n";
  for (const std::string& e : s.sink.errors) out << "  error: " << e << "\n";
}

}  // namespace vigil::sim
