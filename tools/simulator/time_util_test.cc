#include "time_util.h"

#include <gtest/gtest.h>

#include <string>

#include "vigil/testing/gtest_util.h"

namespace vigil::sim {
namespace {

std::string Format(int64_t ms) {
  char buf[kRfc3339Size];
  FormatRfc3339Ms(ms, buf);
  return std::string(buf, kRfc3339Size);
}

TEST(TimeUtilTest, FormatsKnownInstants) {
  EXPECT_EQ(Format(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Format(1767225600000), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(Format(1709164800123), "2024-02-29T00:00:00.123Z");
  EXPECT_EQ(Format(951868799999), "2000-02-29T23:59:59.999Z");
}

TEST(TimeUtilTest, ParseInvertsFormat) {
  for (int64_t ms = 0; ms < 4102444800000; ms += 86400000LL * 37 + 3600007) {
    ASSERT_OK_AND_ASSIGN(int64_t back, ParseTimestampMs(Format(ms)));
    ASSERT_EQ(back, ms) << Format(ms);
  }
}

TEST(TimeUtilTest, ParsesTheShapesOfRealFiles) {
  ASSERT_OK_AND_ASSIGN(int64_t nab, ParseTimestampMs("2014-04-01 00:05:00"));
  EXPECT_EQ(Format(nab), "2014-04-01T00:05:00.000Z");
  ASSERT_OK_AND_ASSIGN(int64_t skab, ParseTimestampMs("\"2020-03-09 10:14:33\""));
  EXPECT_EQ(Format(skab), "2020-03-09T10:14:33.000Z");
  ASSERT_OK_AND_ASSIGN(int64_t zoned, ParseTimestampMs("2026-11-23T11:00:00.5+01:00"));
  EXPECT_EQ(Format(zoned), "2026-11-23T10:00:00.500Z");
  ASSERT_OK_AND_ASSIGN(int64_t leap, ParseTimestampMs("2024-02-29T00:00:00Z"));
  EXPECT_EQ(Format(leap), "2024-02-29T00:00:00.000Z");
  ASSERT_OK_AND_ASSIGN(int64_t secs, ParseTimestampMs("1767225600"));
  EXPECT_EQ(secs, 1767225600000);
  ASSERT_OK_AND_ASSIGN(int64_t millis, ParseTimestampMs("1767225600250"));
  EXPECT_EQ(millis, 1767225600250);
}

TEST(TimeUtilTest, RejectsBadTimestamps) {
  for (const char* bad : {"", "yesterday", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z",
                          "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z",
                          "2026-01-01T10:00:00Zjunk", "2026/01/01 10:00:00", "12:00"}) {
    SCOPED_TRACE(bad);
    ASSERT_RAISES_WITH_MESSAGE(Invalid, "bad timestamp", ParseTimestampMs(bad));
  }
}

TEST(TimeUtilTest, ParsesDurations) {
  ASSERT_OK_AND_ASSIGN(int64_t a, ParseDurationMs("250ms", 1000));
  EXPECT_EQ(a, 250);
  ASSERT_OK_AND_ASSIGN(int64_t b, ParseDurationMs("30s", 1));
  EXPECT_EQ(b, 30000);
  ASSERT_OK_AND_ASSIGN(int64_t c, ParseDurationMs("1.5m", 1));
  EXPECT_EQ(c, 90000);
  ASSERT_OK_AND_ASSIGN(int64_t d, ParseDurationMs("2", 1000));
  EXPECT_EQ(d, 2000);
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "unit", ParseDurationMs("3weeks", 1));
  ASSERT_RAISES(Invalid, ParseDurationMs("-1s", 1));
  ASSERT_RAISES(Invalid, ParseDurationMs("", 1));
}

}  // namespace
}  // namespace vigil::sim
