#include "vigil/engine/event_time_order.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vigil/engine/engine.h"
#include "vigil/testing/generators.h"
#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

// Events given as (source position, ts); every input position is Kafka partition 0.
EventBatch Batch(const std::vector<std::pair<uint32_t, int64_t>>& events) {
  EventBatchBuilder b;
  for (const auto& [src, ts] : events) {
    std::string id = "e";
    id += std::to_string(src);  // not "e" + ...: GCC 12's -Wrestrict false positive
    b.BeginEvent(src, id, "d", ts);
    b.AddMetric("m", 1.0);
    EXPECT_OK(b.FinishEvent());
  }
  return b.Finish();
}

TEST(EventTimeOrderTest, SplitsAtTheWatermarkAndOrdersByTimeThenKafkaPosition) {
  // Input positions 0..5; position 2 was a reject (not in the batch).
  EventBatch batch = Batch({{0, 300}, {1, 100}, {3, 300}, {4, 50}, {5, 200}});
  std::vector<int32_t> partition = {1, 0, 0, 0, 0, 0};
  std::vector<int64_t> offset = {7, 10, 11, 12, 13, 14};
  EventTimeOrder order;
  ASSERT_OK(OrderByEventTime(batch, /*watermark_ms=*/100, partition, offset, &order));
  // ts 50 is late; the two events at ts 300 go by partition: position 3 (partition 0) first.
  EXPECT_EQ(order.late, (std::vector<uint32_t>{3}));
  EXPECT_EQ(order.live, (std::vector<uint32_t>{1, 4, 2, 0}));
  EXPECT_EQ(order.max_ts_ms, 300);
  EXPECT_EQ(order.min_live_ts_ms, 100);

  ASSERT_OK(OrderByEventTime(batch, /*watermark_ms=*/0, partition, offset, &order));  // no watermark
  EXPECT_TRUE(order.late.empty());
  EXPECT_EQ(order.live, (std::vector<uint32_t>{3, 1, 4, 2, 0}));
  EXPECT_EQ(order.min_live_ts_ms, 50);
}

TEST(EventTimeOrderTest, KafkaPositionsMustCoverTheInput) {
  EventBatch batch = Batch({{0, 1}, {4, 2}});
  EventTimeOrder order;
  std::vector<int32_t> partition(2, 0);
  std::vector<int64_t> offset(2, 0);
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "input position 4", OrderByEventTime(batch, 0, partition, offset, &order));
  std::vector<int64_t> short_offset(1, 0);
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "2 partitions but 1 offsets",
                             OrderByEventTime(batch, 0, partition, short_offset, &order));
}

TEST(EngineProcessRowsTest, EqualsProcessOnTheRowsGathered) {
  EventBatch batch = testing::MakeFleetBatch(/*devices=*/20, /*n=*/300, /*metrics=*/3, /*seed=*/11);
  std::vector<uint32_t> rows;  // every third event dropped, the rest in reverse order per block
  for (int64_t i = batch.size() - 1; i >= 0; --i) {
    if (i % 3 != 1) rows.push_back(static_cast<uint32_t>(i));
  }
  EventBatchBuilder gathered;
  for (uint32_t i : rows) {
    gathered.BeginEvent(batch.source_index(i), batch.event_id(i), batch.device_id(i), batch.ts_ms(i),
                        batch.schema_version(i), batch.device_class(i));
    for (size_t k = 0; k < batch.metric_ids(i).size(); ++k) {
      gathered.AddMetric(batch.metric_name(batch.metric_ids(i)[k]), batch.metric_values(i)[k]);
    }
    ASSERT_OK(gathered.FinishEvent());
  }
  EventBatch g = gathered.Finish();
  ASSERT_OK_AND_ASSIGN(auto by_rows, Engine::Make(EngineOptions::Defaults()));
  ASSERT_OK_AND_ASSIGN(auto plain, Engine::Make(EngineOptions::Defaults()));
  VerdictBatch a, b;
  ASSERT_OK(by_rows->ProcessRows(batch, rows, &a));
  ASSERT_OK(plain->Process(g, &b));
  ASSERT_EQ(a.size(), static_cast<int64_t>(rows.size()));
  int64_t anomalies = 0;
  for (int64_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a.index[k], b.index[k]) << k;
    ASSERT_EQ(a.score[k], b.score[k]) << k;
    ASSERT_EQ(a.is_anomaly[k], b.is_anomaly[k]) << k;
    ASSERT_EQ(a.explanation_json[k], b.explanation_json[k]) << k;
    anomalies += a.is_anomaly[k];
  }
  EXPECT_GT(anomalies, 0);
  EXPECT_EQ(by_rows->SaveAll(), plain->SaveAll());

  std::vector<uint32_t> outside = {0, static_cast<uint32_t>(batch.size())};
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "rows[1]", by_rows->ProcessRows(batch, outside, &a));
}

}  // namespace
}  // namespace vigil
