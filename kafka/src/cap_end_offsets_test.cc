#include <gtest/gtest.h>

#include <numeric>

#include "vigil/kafka/range_reader.h"
#include "vigil/testing/gtest_util.h"

namespace vigil::kafka {
namespace {

TEST(CapEndOffsets, UnderTheCapEveryPartitionReadsToLatest) {
  ASSERT_OK_AND_ASSIGN(auto end, CapEndOffsets({0, 10}, {100, 50}, 1000));
  EXPECT_EQ(end, (std::vector<int64_t>{100, 50}));
}

TEST(CapEndOffsets, SharesTheCapByBacklog) {
  // Backlogs 300 and 100: a cap of 200 gives 150 and 50.
  ASSERT_OK_AND_ASSIGN(auto end, CapEndOffsets({1000, 0}, {1300, 100}, 200));
  EXPECT_EQ(end, (std::vector<int64_t>{1150, 50}));
}

TEST(CapEndOffsets, NeverExceedsTheCapByMoreThanOneMessagePerPartition) {
  std::vector<int64_t> start = {0, 5, 7, 0, 3};
  std::vector<int64_t> latest = {1000003, 17, 900, 2, 500000};
  for (int64_t cap : {1, 2, 3, 10, 999, 100000}) {
    ASSERT_OK_AND_ASSIGN(auto end, CapEndOffsets(start, latest, cap));
    int64_t total = 0;
    for (size_t i = 0; i < end.size(); ++i) {
      EXPECT_GE(end[i], start[i] + 1) << "partition " << i << " has a backlog and must advance";
      EXPECT_LE(end[i], latest[i]);
      total += end[i] - start[i];
    }
    EXPECT_LE(total, cap + static_cast<int64_t>(end.size())) << "cap " << cap;
  }
}

TEST(CapEndOffsets, PartitionsWithoutBacklogStay) {
  ASSERT_OK_AND_ASSIGN(auto end, CapEndOffsets({5, 9}, {5, 1009}, 10));
  EXPECT_EQ(end, (std::vector<int64_t>{5, 19}));
}

TEST(CapEndOffsets, RejectsBadInput) {
  ASSERT_RAISES(Invalid, CapEndOffsets({0}, {1, 2}, 10));
  ASSERT_RAISES(Invalid, CapEndOffsets({5}, {4}, 10));
  ASSERT_RAISES(Invalid, CapEndOffsets({0}, {4}, 0));
}

}  // namespace
}  // namespace vigil::kafka
