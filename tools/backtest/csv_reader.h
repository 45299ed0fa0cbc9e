// backtest/csv_reader.h: a streaming reader for delimited text with header detection.
//
// Reads one row at a time, so files of any size stream in constant memory. The
// delimiter is detected from the first line (',' ';' tab '|') unless given; a
// header is detected when the first line holds a field that is neither a number
// nor a timestamp. Fields may be double-quoted ("a ""b"""). Every error names
// the file, the line and the column: "in.csv:12:17: column 'Pressure': ...".
//
//   VIGIL_ASSIGN_OR_RAISE(auto reader, CsvReader::Open("valve1/0.csv", {}));
//   VIGIL_ASSIGN_OR_RAISE(int col, reader->ColumnIndex("Pressure"));
//   while (true) {
//     VIGIL_ASSIGN_OR_RAISE(bool more, reader->Next());
//     if (!more) break;
//     VIGIL_ASSIGN_OR_RAISE(double v, reader->Number(col));
//   }
#pragma once

#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::tabular {

/// \brief Whether the first line is a header.
enum class HeaderMode { kDetect, kPresent, kAbsent };

struct CsvOptions {
  /// '\0' detects the delimiter from the first line.
  char delimiter = '\0';
  HeaderMode header = HeaderMode::kDetect;

  static CsvOptions Defaults() { return {}; }
};

/// \brief Return the delimiter that splits `line` into the most fields (',' if none does).
char DetectDelimiter(std::string_view line);

/// \brief Split one line into fields, removing quotes. Returns Invalid on an unclosed quote.
///
/// Unquoted fields are views into `line`; quoted fields with escapes live in `scratch`.
/// `starts` receives the 0-based offset of each field in `line`.
Status SplitLine(std::string_view line, char delimiter, std::vector<std::string_view>* fields,
                 std::vector<size_t>* starts, std::deque<std::string>* scratch);

/// \brief Parse a whole field as a finite double (blanks around it allowed).
bool ParseNumber(std::string_view field, double* out);

class CsvReader {
 public:
  /// \brief Open `path` and read its first line (header or first row).
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path, const CsvOptions& options);

  const std::string& path() const { return path_; }
  char delimiter() const { return delimiter_; }
  bool has_header() const { return has_header_; }
  /// \brief The header's names, or generated ones ("timestamp", "value", "value2", ...).
  const std::vector<std::string>& column_names() const { return names_; }
  /// \brief The header line as it appears in the file (empty without a header).
  const std::string& header_line() const { return header_line_; }

  /// \brief Return the index of a column by name (exact, then case-insensitive).
  Result<int> ColumnIndex(std::string_view name) const;
  /// \brief Return the index of the first column whose name (case-insensitive) is in `names`, or -1.
  int FindColumn(const std::vector<std::string_view>& names) const;

  /// \brief Advance to the next non-blank data row; false at the end of the file.
  Result<bool> Next();

  /// \brief The current row's fields, unquoted.
  const std::vector<std::string_view>& fields() const { return fields_; }
  /// \brief The current row's text without its line terminator.
  std::string_view line() const { return line_; }
  /// \brief The 1-based line number of the current row.
  int64_t line_number() const { return line_number_; }
  int64_t bytes_read() const { return bytes_read_; }
  int64_t file_size() const { return file_size_; }

  /// \brief Parse field `column` of the current row as a number, or explain why not.
  Result<double> Number(int column) const;
  /// \brief Parse field `column` of the current row as a timestamp (epoch ms).
  Result<int64_t> Timestamp(int column) const;
  /// \brief Return Invalid "path:line:col: column 'name': what".
  Status FieldError(int column, std::string_view what) const;

 private:
  struct PassKey {};

 public:
  explicit CsvReader(PassKey) {}

 private:
  Result<bool> ReadLine();
  Status SplitCurrent();

  std::string path_;
  std::ifstream in_;
  char delimiter_ = ',';
  bool has_header_ = false;
  bool pending_first_row_ = false;
  std::vector<std::string> names_;
  std::string header_line_;
  std::string line_;
  std::vector<std::string_view> fields_;
  std::vector<size_t> starts_;
  std::deque<std::string> scratch_;
  int64_t line_number_ = 0;
  int64_t bytes_read_ = 0;
  int64_t file_size_ = 0;
};

}  // namespace vigil::tabular
