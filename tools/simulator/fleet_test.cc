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

TEST(FleetTest, EveryKindIsInjectedAndClearlyAbnormal) {
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
  // Per device and metric: the readings in order, to compare an episode with what came before.
  simdjson::dom::parser parser;
  std::map<std::string, std::vector<std::pair<std::string, std::vector<double>>>> series;
  for (const Record& r : out.records) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(r.value).get(doc), simdjson::SUCCESS);
    std::vector<double> v;
    for (auto [name, value] : doc["metrics"].get_object()) v.push_back(double(value));
    series[r.key].emplace_back(std::string(std::string_view(doc["event_id"])), v);
  }
  int checked = 0;
  for (const std::string& l : out.labels) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(l.substr(l.find('\t') + 1)).get(doc), simdjson::SUCCESS);
    const std::string kind = Str(doc["kind"]);
    if (kind != "spike" && kind != "dip" && kind != "level_shift") continue;
    const auto& s = series[l.substr(0, l.find('\t'))];
    const std::string first = Str(doc["event_ids"].at(0));
    size_t at = 0;
    while (at < s.size() && s[at].first != first) ++at;
    ASSERT_LT(at, s.size());
    ASSERT_GE(at, 50u);
    // Which metric: the one named first, by position among the device's metrics.
    const std::string metric = Str(doc["metrics"].at(0));
    simdjson::dom::element ev;
    size_t m = 0;
    for (const Record& r : out.records) {
      if (r.key != l.substr(0, l.find('\t'))) continue;
      ASSERT_EQ(parser.parse(r.value).get(ev), simdjson::SUCCESS);
      for (auto [name, value] : ev["metrics"].get_object()) {
        if (name == metric) break;
        ++m;
      }
      break;
    }
    // Mean and sd of the 50 readings before the episode.
    double sum = 0, sq = 0;
    for (size_t i = at - 50; i < at; ++i) sum += s[i].second[m];
    const double mean = sum / 50;
    for (size_t i = at - 50; i < at; ++i) sq += (s[i].second[m] - mean) * (s[i].second[m] - mean);
    const double sd = std::sqrt(sq / 49);
    const double z = (s[at].second[m] - mean) / sd;
    EXPECT_GT(std::fabs(z), 4.0) << kind << " " << first << " z=" << z;
    if (kind == "spike") {
      EXPECT_GT(z, 0);
    }
    if (kind == "dip") {
      EXPECT_LT(z, 0);
    }
    ++checked;
  }
  EXPECT_GT(checked, 15);
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
