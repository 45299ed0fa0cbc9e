#include "vigil/state/state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vigil/testing/gtest_util.h"

namespace vigil {
namespace {

std::string SampleBlob() {
  StateWriter w;
  w.WriteUInt(1, 300);
  w.WriteInt(2, -5);
  w.WriteDouble(3, 0.1);
  w.WriteString(4, "temperature");
  const double xs[] = {1.5, -2.5};
  w.WriteDoubles(5, xs);
  w.BeginObject(6);
  w.WriteBool(1, true);
  w.EndObject();
  const uint64_t us[] = {0, 1, 1u << 20};
  w.WriteUInts(7, us);
  return w.Finish();
}

TEST(StateTest, RoundTrip) {
  std::string blob = SampleBlob();
  ASSERT_OK_AND_ASSIGN(StateReader r, StateReader::Open(blob));
  uint64_t u = 0;
  int64_t i = 0;
  double d = 0;
  std::string s;
  std::vector<double> xs;
  std::vector<uint64_t> us;
  ASSERT_OK(r.ReadUInt(1, &u));
  ASSERT_OK(r.ReadInt(2, &i));
  ASSERT_OK(r.ReadDouble(3, &d));
  ASSERT_OK(r.ReadString(4, &s));
  ASSERT_OK(r.ReadDoubles(5, &xs));
  ASSERT_OK_AND_ASSIGN(StateReader sub, r.ReadObject(6));
  bool b = false;
  ASSERT_OK(sub.ReadBool(1, &b));
  ASSERT_OK(r.ReadUInts(7, &us));
  EXPECT_EQ(u, 300u);
  EXPECT_EQ(i, -5);
  EXPECT_EQ(d, 0.1);
  EXPECT_EQ(s, "temperature");
  EXPECT_EQ(xs, (std::vector<double>{1.5, -2.5}));
  EXPECT_TRUE(b);
  EXPECT_EQ(us, (std::vector<uint64_t>{0, 1, 1u << 20}));
  EXPECT_TRUE(r.AtEnd());
}

TEST(StateTest, SkipsFieldsNobodyReadsAndReportsMissingOnes) {
  std::string blob = SampleBlob();
  ASSERT_OK_AND_ASSIGN(StateReader r, StateReader::Open(blob));
  std::string s;
  ASSERT_OK(r.ReadString(4, &s));  // ids 1-3 skipped, as a reader that removed them would
  EXPECT_FALSE(r.Has(5 - 1));
  EXPECT_TRUE(r.Has(5));
  double d = 0;
  ASSERT_RAISES_WITH_MESSAGE(Corrupt, "field 3", r.ReadDouble(3, &d));
  ASSERT_OK_AND_ASSIGN(StateReader r2, StateReader::Open(blob));
  ASSERT_RAISES_WITH_MESSAGE(Corrupt, "wire type", r2.ReadDouble(1, &d));
}

TEST(StateTest, EveryTruncationAndBitFlipIsAnErrorNotACrash) {
  std::string blob = SampleBlob();
  for (size_t n = 0; n < blob.size(); ++n) {
    ASSERT_RAISES(Corrupt, StateReader::Open(blob.substr(0, n)));
  }
  for (size_t at = 0; at < blob.size(); ++at) {
    std::string bad = blob;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    auto r = StateReader::Open(bad);
    ASSERT_FALSE(r.ok()) << "flip at " << at;
  }
}

TEST(StateTest, UnknownVersionIsUnsupported) {
  std::string blob = SampleBlob();
  blob[4] = 9;  // format version 9, then fix the checksum
  const uint32_t crc = Crc32(std::string_view(blob).substr(0, blob.size() - 4));
  for (int k = 0; k < 4; ++k) blob[blob.size() - 4 + k] = static_cast<char>((crc >> (8 * k)) & 0xFF);
  ASSERT_RAISES_WITH_MESSAGE(Unsupported, "version 9", StateReader::Open(blob));
}

TEST(StateTest, Crc32MatchesZlib) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

// The table-driven CRC (eight bytes a step) against the bit-by-bit definition, at
// every length and alignment around a step, and continued across calls.
TEST(StateTest, Crc32MatchesTheBitwiseDefinition) {
  auto bitwise = [](std::string_view s, uint32_t crc) {
    crc = ~crc;
    for (unsigned char ch : s) {
      crc ^= ch;
      for (int k = 0; k < 8; ++k) crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
  };
  std::string data;
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 300; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    data.push_back(static_cast<char>(x & 0xFF));
  }
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len = 0; start + len <= data.size(); len += (len < 40 ? 1 : 37)) {
      const std::string_view s = std::string_view(data).substr(start, len);
      ASSERT_EQ(Crc32(s), bitwise(s, 0)) << start << "+" << len;
      ASSERT_EQ(Crc32(s.substr(len / 3), Crc32(s.substr(0, len / 3))), bitwise(s, 0)) << start << "+" << len;
    }
  }
}

TEST(StateTest, PayloadEmbedding) {
  StateWriter inner;
  inner.WriteUInt(1, 7);
  std::string payload = inner.TakePayload();
  StateWriter outer;
  outer.WriteObjectPayload(3, payload);
  std::string blob = outer.Finish();
  ASSERT_OK_AND_ASSIGN(StateReader r, StateReader::Open(blob));
  std::string_view got;
  ASSERT_OK(r.ReadObjectPayload(3, &got));
  StateReader in = StateReader::FromPayload(got);
  uint64_t v = 0;
  ASSERT_OK(in.ReadUInt(1, &v));
  EXPECT_EQ(v, 7u);
}

}  // namespace
}  // namespace vigil
