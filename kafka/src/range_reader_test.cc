// PartitionReader / OffsetClient without a broker: configuration and error paths.
// Reading real ranges is tested against Kafka in tests/e2e/test_kafka_source.py.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "vigil/kafka/range_reader.h"
#include "vigil/testing/gtest_util.h"

namespace vigil::kafka {
namespace {

using std::chrono::milliseconds;

// Nothing listens on port 1: connections are refused at once.
const Settings kNoBroker = {{"bootstrap.servers", "127.0.0.1:1"}, {"log_level", "0"}};

TEST(PartitionReader, RejectsBadSettings) {
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "bootstrap.servers is required", PartitionReader::Make({}, "t", 0));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "no.such.setting",
                             PartitionReader::Make({{"bootstrap.servers", "127.0.0.1:1"}, {"no.such.setting", "1"}},
                                                   "t", 0));
  ASSERT_RAISES(Invalid, PartitionReader::Make(kNoBroker, "", 0));
  ASSERT_RAISES(Invalid, PartitionReader::Make(kNoBroker, "t", -1));
  ASSERT_RAISES(Invalid, OffsetClient::Make({{"fetch.wait.max.ms", "not-a-number"}, {"bootstrap.servers", "x:1"}}));
}

TEST(PartitionReader, RejectsBadRangesAndCalls) {
  ASSERT_OK_AND_ASSIGN(auto r, PartitionReader::Make(kNoBroker, "events", 3));
  EXPECT_EQ(r->topic(), "events");
  EXPECT_EQ(r->partition(), 3);
  ASSERT_RAISES(Invalid, r->Next(10, 1000, milliseconds(10)));  // before Seek
  ASSERT_RAISES(Invalid, r->Seek(-1, 5));
  ASSERT_RAISES(Invalid, r->Seek(6, 5));
  ASSERT_OK(r->Seek(0, 5));
  ASSERT_RAISES(Invalid, r->Next(0, 1000, milliseconds(10)));
  ASSERT_RAISES(Invalid, r->Next(10, int64_t{1} << 40, milliseconds(10)));
}

TEST(PartitionReader, EmptyRangeNeedsNoBroker) {
  ASSERT_OK_AND_ASSIGN(auto r, PartitionReader::Make(kNoBroker, "events", 0));
  ASSERT_OK(r->Seek(7, 7));
  ASSERT_OK_AND_ASSIGN(auto cols, r->Next(10, 1000, milliseconds(10)));
  EXPECT_EQ(cols.size(), 0);
  EXPECT_EQ(cols.value_offsets, (std::vector<int32_t>{0}));
}

TEST(PartitionReader, TimesOutNamingThePartitionAndOffset) {
  ASSERT_OK_AND_ASSIGN(auto r, PartitionReader::Make(kNoBroker, "events", 2));
  ASSERT_OK(r->Seek(40, 50));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_RAISES_WITH_MESSAGE(IOError, "Kafka topic events partition 2: no message at offset 40",
                             r->Next(10, 1000, milliseconds(300)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

// The reader's taker thread blocks in librdkafka while a range is assigned: Seek and
// the destructor must wake it (rd_kafka_queue_yield), not wait out its poll.
TEST(PartitionReader, ReseeksAndClosesWhileItsThreadWaits) {
  auto t0 = std::chrono::steady_clock::now();
  {
    ASSERT_OK_AND_ASSIGN(auto r, PartitionReader::Make(kNoBroker, "events", 1));
    for (int i = 0; i < 20; ++i) {
      ASSERT_OK(r->Seek(i * 10, i * 10 + 5));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_OK(r->Seek(3, 3));  // an empty range after an assigned one
    ASSERT_OK_AND_ASSIGN(auto cols, r->Next(10, 1000, milliseconds(10)));
    EXPECT_EQ(cols.size(), 0);
    ASSERT_OK(r->Seek(40, 50));
    ASSERT_RAISES_WITH_MESSAGE(IOError, "no message at offset 40", r->Next(10, 1000, milliseconds(50)));
  }
  // 21 seeks and a close, each at most a poll (100 ms) if the wake-up were missing.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(800));
}

TEST(OffsetClient, FailsWithoutABroker) {
  ASSERT_OK_AND_ASSIGN(auto c, OffsetClient::Make(kNoBroker));
  ASSERT_RAISES(IOError, c->Partitions("events", milliseconds(300)));
  ASSERT_RAISES(IOError, c->QueryWatermarks("events", {0}, milliseconds(300)));
}

}  // namespace
}  // namespace vigil::kafka
