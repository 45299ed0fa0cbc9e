#include "fleet.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "time_util.h"
#include "vigil/testing/gtest_util.h"

namespace vigil::sim {
namespace {

std::string Str(simdjson::dom::element e) { return std::string(std::string_view(e)); }

struct Output {
  std::vector<Record> records;
  std::vector<std::string> labels;
  EpisodeCounts episodes;
};

FleetOptions Faulty(int64_t messages) {
  FleetOptions o;
  o.devices = 20;
  o.metrics = 3;
  o.seed = 1234;
  o.max_messages = messages;
  o.duplicate_rate = 0.02;
  o.malformed_rate = 0.03;
  o.late_rate = 0.05;
  o.max_lateness_ms = 20000;
  o.oversize_bytes = 2048;
  o.anomaly.rate = 0.01;
  o.anomaly.warmup_readings = 50;
  o.anomaly.gap_readings = 30;
  return o;
}

void RunFleet(const FleetOptions& o, Output* out) {
  ASSERT_OK_AND_ASSIGN(auto fleet, FleetSimulator::Make(o, [&](const std::string& key,
                                                                  const std::string& line) {
    out->labels.push_back(key + "\t" + line);
  }));
  Record r;
  while (fleet->Next(&r)) out->records.push_back(r);
  out->episodes = fleet->episodes();
}

int64_t Count(const Output& out, RecordKind kind) {
  int64_t n = 0;
  for (const Record& r : out.records) n += r.kind == kind;
  return n;
}

TEST(FleetTest, SameSeedSameEventsAndLabelsByteForByte) {
  Output a, b, c;
  RunFleet(Faulty(20000), &a);
  RunFleet(Faulty(20000), &b);
  FleetOptions other = Faulty(20000);
  other.seed = 1235;
  RunFleet(other, &c);
  ASSERT_EQ(a.records.size(), b.records.size());
  for (size_t i = 0; i < a.records.size(); ++i) {
    ASSERT_EQ(a.records[i].key, b.records[i].key) << i;
    ASSERT_EQ(a.records[i].value, b.records[i].value) << i;
    ASSERT_EQ(a.records[i].kind, b.records[i].kind) << i;
  }
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_GT(a.labels.size(), 10u);
  int64_t same = 0;
  for (size_t i = 0; i < std::min(a.records.size(), c.records.size()); ++i) {
    same += a.records[i].value == c.records[i].value;
  }
  EXPECT_LT(same, 100) << "another seed must give other events";
}

TEST(FleetTest, EventsCountExactlyAndRatesAreRespected) {
  const int64_t n = 100000;
  Output out;
  RunFleet(Faulty(n), &out);
  ASSERT_EQ(static_cast<int64_t>(out.records.size()), n);
  const double dup = static_cast<double>(Count(out, RecordKind::kDuplicate)) / n;
  const double bad = static_cast<double>(Count(out, RecordKind::kMalformed)) / n;
  const int64_t readings = Count(out, RecordKind::kNormal) + Count(out, RecordKind::kLate);
  const double late = static_cast<double>(Count(out, RecordKind::kLate)) / readings;
  // Binomial sd is below 0.0007 here: 0.004 is about 6 sd.
  EXPECT_NEAR(dup, 0.02, 0.004);
  EXPECT_NEAR(bad, 0.03, 0.004);
  EXPECT_NEAR(late, 0.05, 0.004);
  int64_t sum = 0;
  for (int k = 0; k < kNumRecordKinds; ++k) sum += Count(out, static_cast<RecordKind>(k));
  EXPECT_EQ(sum, n);
  std::map<int, int64_t> malformed;
  for (const Record& r : out.records) {
    if (r.kind == RecordKind::kMalformed) ++malformed[static_cast<int>(r.malformed)];
  }
  ASSERT_EQ(malformed.size(), static_cast<size_t>(kNumMalformedKinds));
  for (const auto& [kind, count] : malformed) EXPECT_GT(count, 300) << kind;
}

TEST(FleetTest, KindsAreWhatTheyClaim) {
  Output out;
  RunFleet(Faulty(60000), &out);
  simdjson::dom::parser parser;
  std::set<std::string> seen_ids;
  std::map<std::string, int64_t> last_ts;  // per device
  std::set<std::string> labelled;
  for (const std::string& l : out.labels) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(l.substr(l.find('\t') + 1)).get(doc), simdjson::SUCCESS) << l;
    for (simdjson::dom::element id : doc["event_ids"].get_array()) {
      labelled.insert(std::string(std::string_view(id)));
    }
  }
  int64_t anomalous_records = 0;
  for (const Record& r : out.records) {
    simdjson::dom::element doc;
    const bool json = parser.parse(r.value).get(doc) == simdjson::SUCCESS;
    if (r.kind == RecordKind::kMalformed) continue;
    ASSERT_TRUE(json) << r.value;
    const std::string id = Str(doc["event_id"]);
    const std::string device = Str(doc["device_id"]);
    ASSERT_EQ(device, r.key);
    ASSERT_OK_AND_ASSIGN(int64_t ts, ParseTimestampMs(std::string_view(doc["ts"])));
    const bool first_time = seen_ids.insert(id).second;
    if (r.kind == RecordKind::kDuplicate) {
      EXPECT_FALSE(first_time) << "a duplicate repeats an event already sent: " << id;
      continue;
    }
    ASSERT_TRUE(first_time) << "only duplicates repeat an event_id: " << id;
    if (r.kind == RecordKind::kLate) {
      EXPECT_LT(ts, last_ts[device]) << "a late reading arrives after a later one";
      EXPECT_GE(ts, last_ts[device] - 20000) << "at most --max-lateness late";
    } else {
      EXPECT_GT(ts, last_ts[device]) << "in-order readings advance";
      last_ts[device] = ts;
    }
    EXPECT_EQ(r.kind == RecordKind::kAnomalous, labelled.count(id) == 1) << id;
    anomalous_records += r.kind == RecordKind::kAnomalous;
  }
  EXPECT_EQ(anomalous_records, static_cast<int64_t>(labelled.size()))
      << "every labelled event is sent once as anomalous";
}

// One device's readings in order: event id, event time, metric name -> value.
struct Reading {
  std::string id;
  int64_t ts;
  std::map<std::string, double> values;
};

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double Sd(const std::vector<double>& v) {
  const double m = Mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

TEST(FleetTest, EveryKindIsInjectedAndIsWhatItsLabelSays) {
  FleetOptions o;
  o.devices = 8;
  o.metrics = 3;
  o.seed = 99;
  o.max_messages = 200000;
  o.anomaly.rate = 0.005;
  Output out;
  RunFleet(o, &out);
  for (int k = 0; k < kNumAnomalyKinds; ++k) {
    EXPECT_GT(out.episodes.by_kind[k], 5) << AnomalyKindName(static_cast<AnomalyKind>(k));
  }
  simdjson::dom::parser parser;
  std::map<std::string, std::vector<Reading>> series;
  std::map<std::string, std::string> device_class;
  for (const Record& r : out.records) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(r.value).get(doc), simdjson::SUCCESS);
    Reading reading{Str(doc["event_id"]), 0, {}};
    ASSERT_OK_AND_ASSIGN(reading.ts, ParseTimestampMs(std::string_view(doc["ts"])));
    for (auto [name, value] : doc["metrics"].get_object()) {
      reading.values[std::string(name)] = double(value);
    }
    series[r.key].push_back(std::move(reading));
    device_class[r.key] = Str(doc["tags"]["device_class"]);
  }
  std::map<std::string, int> checked;
  for (const std::string& l : out.labels) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(l.substr(l.find('\t') + 1)).get(doc), simdjson::SUCCESS);
    const std::string kind = Str(doc["kind"]);
    const std::string device = Str(doc["device_id"]);
    SCOPED_TRACE(l);
    const std::vector<Reading>& s = series[device];
    std::vector<std::string> ids;
    for (simdjson::dom::element id : doc["event_ids"].get_array()) ids.push_back(Str(id));
    ASSERT_FALSE(ids.empty());
    size_t at = 0;
    while (at < s.size() && s[at].id != ids[0]) ++at;
    ASSERT_LT(at, s.size());
    ASSERT_GE(at, 50u) << "episodes start after the warm-up";
    if (at + ids.size() > s.size()) continue;  // cut short by the end of the run
    std::vector<std::string> metrics;
    for (simdjson::dom::element m : doc["metrics"].get_array()) metrics.push_back(Str(m));
    // Baseline: the 50 readings before the episode.
    auto before = [&](const std::string& m) {
      std::vector<double> v;
      for (size_t i = at - 50; i < at; ++i) v.push_back(s[i].values.at(m));
      return v;
    };
    auto during = [&](const std::string& m, size_t n) {
      std::vector<double> v;
      for (size_t i = at; i < at + n; ++i) v.push_back(s[i].values.at(m));
      return v;
    };
    auto z = [&](const std::string& m, double x) {
      const std::vector<double> b = before(m);
      return (x - Mean(b)) / Sd(b);
    };
    const size_t n = ids.size();
    if (kind == "spike" || kind == "dip") {
      const double zz = z(metrics[0], s[at].values.at(metrics[0]));
      EXPECT_GT(kind == "spike" ? zz : -zz, 4.0) << zz;
    } else if (kind == "level_shift") {
      // Every shifted reading (all but the step back) stands out.
      const double zz = z(metrics[0], Mean(during(metrics[0], n - 1)));
      EXPECT_GT(std::fabs(zz), 4.0) << zz;
    } else if (kind == "drift") {
      const double first = z(metrics[0], s[at].values.at(metrics[0]));
      const double last = z(metrics[0], s[at + n - 2].values.at(metrics[0]));
      EXPECT_LT(std::fabs(first), 4.0) << "a drift starts small";
      EXPECT_GT(std::fabs(last), 8.0) << "and ends far away";
    } else if (kind == "stuck") {
      const std::vector<double> v = during(metrics[0], n);
      EXPECT_GE(v.size(), 30u);
      for (double x : v) EXPECT_EQ(x, v[0]) << "a stuck value repeats exactly";
      EXPECT_GT(Sd(before(metrics[0])), 0.0);
    } else if (kind == "noise_burst") {
      EXPECT_GT(Sd(during(metrics[0], n)), 3.0 * Sd(before(metrics[0])));
    } else if (kind == "dropout") {
      ASSERT_EQ(n, 1u);
      EXPECT_GE(s[at].ts - s[at - 1].ts, 21 * o.interval_ms) << "a gap of 20+ readings";
      EXPECT_EQ(int64_t(doc["end_ts_ms"]), s[at].ts);
    } else if (kind == "correlation_break") {
      ASSERT_OK_AND_ASSIGN(const DeviceClass* cls, FindDeviceClass(device_class[device]));
      auto gain = [&](const std::string& m) {
        for (const MetricSpec& spec : cls->metrics) {
          if (m == spec.name) return spec.load_gain;
        }
        return 0.0;
      };
      // In load terms, the broken metric moves against its partners.
      auto load_shift = [&](const std::string& m) {
        return z(m, Mean(during(m, n - 1))) * (gain(m) >= 0 ? 1 : -1);
      };
      const double broken = load_shift(metrics[0]);
      for (size_t i = 1; i < metrics.size(); ++i) {
        const double partner = load_shift(metrics[i]);
        EXPECT_LT(broken * partner, 0.0) << metrics[0] << " vs " << metrics[i];
        EXPECT_GT(std::fabs(partner), 3.0);
      }
      EXPECT_GT(std::fabs(broken), 3.0);
    } else {
      ADD_FAILURE() << "unknown kind " << kind;
    }
    ++checked[kind];
  }
  EXPECT_EQ(checked.size(), static_cast<size_t>(kNumAnomalyKinds));
}

TEST(FleetTest, RejectsBadOptionsWithTheFlagName) {
  FleetOptions o;
  o.metrics = 7;
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "--metrics", FleetSimulator::Make(o, nullptr));
  o = FleetOptions();
  o.late_rate = 0.1;
  o.max_lateness_ms = 500;
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "--max-lateness", FleetSimulator::Make(o, nullptr));
  o = FleetOptions();
  o.device_classes = {"toaster"};
  ASSERT_RAISES_WITH_MESSAGE(NotFound, "toaster", FleetSimulator::Make(o, nullptr));
  o = FleetOptions();
  o.duplicate_rate = 1.5;
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "--duplicate-rate", FleetSimulator::Make(o, nullptr));
}

}  // namespace
}  // namespace vigil::sim
