#include "backtest/timestamp.h"

#include <gtest/gtest.h>

#include "vigil/testing/gtest_util.h"

namespace vigil::tabular {
namespace {

constexpr int64_t k20200309T101433 = 1583748873000;  // 2020-03-09T10:14:33Z

TEST(Timestamp, AcceptsTheCommonForms) {
  for (const char* text : {"2020-03-09 10:14:33", "2020-03-09T10:14:33", "2020-03-09T10:14:33Z",
                           "2020-03-09t10:14:33z", "2020/03/09 10:14:33", " 2020-03-09 10:14:33 ",
                           "\"2020-03-09 10:14:33\"", "2020-03-09T12:14:33+02:00", "2020-03-09T12:14:33+0200",
                           "2020-03-09T05:14:33-05", "1583748873", "1583748873000", "1583748873.0"}) {
    ASSERT_OK_AND_ASSIGN(int64_t ms, ParseTimestampMillis(text));
    EXPECT_EQ(ms, k20200309T101433) << text;
  }
}

TEST(Timestamp, KeepsFractionsAndDefaultsMissingParts) {
  ASSERT_OK_AND_ASSIGN(int64_t a, ParseTimestampMillis("2020-03-09T10:14:33.123456Z"));
  EXPECT_EQ(a, k20200309T101433 + 123);
  ASSERT_OK_AND_ASSIGN(int64_t b, ParseTimestampMillis("2020-03-09 10:14"));
  EXPECT_EQ(b, k20200309T101433 - 33000);
  ASSERT_OK_AND_ASSIGN(int64_t c, ParseTimestampMillis("1970-01-02"));
  EXPECT_EQ(c, 86'400'000);
  ASSERT_OK_AND_ASSIGN(int64_t d, ParseTimestampMillis("1583748873.5"));
  EXPECT_EQ(d, k20200309T101433 + 500);
  ASSERT_OK_AND_ASSIGN(int64_t e, ParseTimestampMillis("1969-12-31T23:59:59Z"));
  EXPECT_EQ(e, -1000);
}

TEST(Timestamp, HandlesLeapYears) {
  ASSERT_OK_AND_ASSIGN(int64_t feb29, ParseTimestampMillis("2024-02-29"));
  ASSERT_OK_AND_ASSIGN(int64_t mar1, ParseTimestampMillis("2024-03-01"));
  EXPECT_EQ(mar1 - feb29, 86'400'000);
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "day out of range", ParseTimestampMillis("2023-02-29"));
  ASSERT_OK(ParseTimestampMillis("2000-02-29"));
  ASSERT_RAISES(Invalid, ParseTimestampMillis("1900-02-29"));
}

TEST(Timestamp, RejectsGarbageWithAClearMessage) {
  for (const char* text : {"", "yesterday", "2020-03-09X10:14:33", "2020-03-09 10:14:33 UTC", "2020-3-9",
                           "2020-03-09T10:14:33+25:00", "12:00:00", "1e400", "nan"}) {
    auto r = ParseTimestampMillis(text);
    EXPECT_FALSE(r.ok()) << text;
  }
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "expected RFC 3339", ParseTimestampMillis("yesterday"));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "month out of range", ParseTimestampMillis("2020-13-01"));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "time out of range", ParseTimestampMillis("2020-01-01 24:00:00"));
}

}  // namespace
}  // namespace vigil::tabular
