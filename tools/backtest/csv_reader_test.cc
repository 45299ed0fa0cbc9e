#include "backtest/csv_reader.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "vigil/testing/gtest_util.h"

namespace vigil::tabular {
namespace {

class CsvReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    auto dir = std::filesystem::temp_directory_path() / ("vigil_csv_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
};

TEST(SplitLine, HandlesQuotesAndEmptyFields) {
  std::vector<std::string_view> f;
  std::vector<size_t> starts;
  std::deque<std::string> scratch;
  ASSERT_OK(SplitLine(R"(a,"b,c",,"say ""hi""")", ',', &f, &starts, &scratch));
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], "a");
  EXPECT_EQ(f[1], "b,c");
  EXPECT_EQ(f[2], "");
  EXPECT_EQ(f[3], "say \"hi\"");
  EXPECT_EQ(starts[1], 2u);
  ASSERT_RAISES(Invalid, SplitLine(R"(a,"b)", ',', &f, &starts, &scratch));
}

TEST(DetectDelimiter, PicksTheMostFrequent) {
  EXPECT_EQ(DetectDelimiter("datetime;a;b;c"), ';');
  EXPECT_EQ(DetectDelimiter("timestamp,value"), ',');
  EXPECT_EQ(DetectDelimiter("a\tb\tc"), '\t');
  EXPECT_EQ(DetectDelimiter("\"x;y\",z"), ',');
  EXPECT_EQ(DetectDelimiter("value"), ',');
}

TEST_F(CsvReaderTest, ReadsSkabStyleSemicolonFilesWithCrlf) {
  std::string path = Write("skab.csv",
                           "datetime;Accelerometer1RMS;Volume Flow RateRMS;anomaly;changepoint\r\n"
                           "2020-03-09 10:14:33;0.0265878;32.0;0.0;0.0\r\n"
                           "\r\n"
                           "2020-03-09 10:14:34;0.0261697;32.5;1.0;1.0\r\n");
  ASSERT_OK_AND_ASSIGN(auto r, CsvReader::Open(path, {}));
  EXPECT_TRUE(r->has_header());
  EXPECT_EQ(r->delimiter(), ';');
  ASSERT_EQ(r->column_names().size(), 5u);
  EXPECT_EQ(r->column_names()[2], "Volume Flow RateRMS");
  ASSERT_OK_AND_ASSIGN(int flow, r->ColumnIndex("volume flow raterms"));
  EXPECT_EQ(flow, 2);
  ASSERT_OK_AND_ASSIGN(bool more, r->Next());
  ASSERT_TRUE(more);
  ASSERT_OK_AND_ASSIGN(double v, r->Number(flow));
  EXPECT_EQ(v, 32.0);
  ASSERT_OK_AND_ASSIGN(int64_t ts, r->Timestamp(0));
  EXPECT_EQ(ts, 1583748873000);
  ASSERT_OK_AND_ASSIGN(more, r->Next());
  ASSERT_TRUE(more);
  EXPECT_EQ(r->line_number(), 4);
  EXPECT_EQ(r->line(), "2020-03-09 10:14:34;0.0261697;32.5;1.0;1.0");
  ASSERT_OK_AND_ASSIGN(more, r->Next());
  EXPECT_FALSE(more);
}

TEST_F(CsvReaderTest, NamesColumnsWhenThereIsNoHeader) {
  std::string path = Write("nohdr.csv", "2014-04-01 00:00:00,20.5\n2014-04-01 00:05:00,21\n");
  ASSERT_OK_AND_ASSIGN(auto r, CsvReader::Open(path, {}));
  EXPECT_FALSE(r->has_header());
  EXPECT_EQ(r->column_names(), (std::vector<std::string>{"timestamp", "value"}));
  ASSERT_OK_AND_ASSIGN(bool more, r->Next());
  ASSERT_TRUE(more);
  EXPECT_EQ(r->line_number(), 1);
  ASSERT_OK_AND_ASSIGN(double v, r->Number(1));
  EXPECT_EQ(v, 20.5);
}

TEST_F(CsvReaderTest, ErrorsNameFileLineAndColumn) {
  std::string path = Write("bad.csv", "timestamp,value\n2014-04-01 00:00:00,abc\n2014-04-01 00:05:00\n");
  ASSERT_OK_AND_ASSIGN(auto r, CsvReader::Open(path, {}));
  ASSERT_OK_AND_ASSIGN(bool more, r->Next());
  ASSERT_TRUE(more);
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "bad.csv:2:21: column 'value': 'abc' is not a finite number", r->Number(1));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "bad.csv:3: expected 2 fields", r->Next());
  ASSERT_RAISES_WITH_MESSAGE(NotFound, "no column named 'temp' (columns: 'timestamp', 'value')",
                             r->ColumnIndex("temp"));
}

TEST_F(CsvReaderTest, RejectsMissingAndEmptyFiles) {
  ASSERT_RAISES_WITH_MESSAGE(IOError, "cannot open", CsvReader::Open("/nonexistent/x.csv", {}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "empty", CsvReader::Open(Write("empty.csv", "\n\n"), {}));
  ASSERT_RAISES_WITH_MESSAGE(IOError, "directory",
                             CsvReader::Open(std::filesystem::temp_directory_path().string(), {}));
}

TEST_F(CsvReaderTest, HonoursAForcedDelimiterAndHeader) {
  std::string path = Write("forced.csv", "1|2\n3|4\n");
  CsvOptions o;
  o.delimiter = '|';
  o.header = HeaderMode::kPresent;
  ASSERT_OK_AND_ASSIGN(auto r, CsvReader::Open(path, o));
  EXPECT_EQ(r->column_names(), (std::vector<std::string>{"1", "2"}));
  ASSERT_OK_AND_ASSIGN(bool more, r->Next());
  ASSERT_TRUE(more);
  EXPECT_EQ(r->fields()[1], "4");
}

}  // namespace
}  // namespace vigil::tabular
