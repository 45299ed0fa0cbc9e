#include "backtest/csv_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "backtest/timestamp.h"

namespace vigil::tabular {
namespace {

constexpr char kCandidates[] = {',', ';', '\t', '|'};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Build "'text'" by appending: GCC 12 warns falsely (-Wrestrict) on "'" + std::string.
std::string Quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out.append(s);
  out += '\'';
  return out;
}

std::string DelimiterName(char d) {
  if (d == '\t') return "tab";
  std::string out(3, '\'');
  out[1] = d;
  return out;
}

}  // namespace

char DetectDelimiter(std::string_view line) {
  char best = ',';
  size_t best_count = 0;
  for (char c : kCandidates) {
    size_t count = 0;
    bool quoted = false;
    for (char x : line) {
      if (x == '"') quoted = !quoted;
      if (!quoted && x == c) ++count;
    }
    if (count > best_count) {
      best = c;
      best_count = count;
    }
  }
  return best;
}

Status SplitLine(std::string_view line, char delimiter, std::vector<std::string_view>* fields,
                 std::vector<size_t>* starts, std::deque<std::string>* scratch) {
  fields->clear();
  starts->clear();
  scratch->clear();
  size_t pos = 0;
  while (true) {
    starts->push_back(pos);
    if (pos < line.size() && line[pos] == '"') {
      std::string& out = scratch->emplace_back();
      size_t i = pos + 1;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            out.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        out.push_back(line[i++]);
      }
      if (!closed) return Status::Invalid("unclosed quote in the field at column " + std::to_string(pos + 1));
      fields->push_back(out);
      if (i < line.size() && line[i] != delimiter) {
        return Status::Invalid("text after a closing quote at column " + std::to_string(i + 1));
      }
      if (i >= line.size()) break;
      pos = i + 1;
    } else {
      size_t end = line.find(delimiter, pos);
      if (end == std::string_view::npos) {
        fields->push_back(line.substr(pos));
        break;
      }
      fields->push_back(line.substr(pos, end - pos));
      pos = end + 1;
    }
  }
  return Status::OK();
}

bool ParseNumber(std::string_view field, double* out) {
  std::string_view s = TrimBlanks(field);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(*out);
}

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path, const CsvOptions& options) {
  auto r = std::make_unique<CsvReader>(PassKey{});
  r->path_ = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::IOError(path + ": is a directory, not a file");
  r->in_.open(path, std::ios::binary);
  if (!r->in_) return Status::IOError(path + ": cannot open for reading (does it exist?)");
  auto size = std::filesystem::file_size(path, ec);
  r->file_size_ = ec ? 0 : static_cast<int64_t>(size);

  VIGIL_ASSIGN_OR_RAISE(bool got, r->ReadLine());
  while (got && TrimBlanks(r->line_).empty()) {
    VIGIL_ASSIGN_OR_RAISE(got, r->ReadLine());
  }
  if (!got) return Status::Invalid(path + ": the file is empty (no header and no rows)");
  // A UTF-8 byte-order mark is not part of the first name.
  if (r->line_.rfind("\xEF\xBB\xBF", 0) == 0) r->line_.erase(0, 3);

  r->delimiter_ = options.delimiter != '\0' ? options.delimiter : DetectDelimiter(r->line_);
  VIGIL_RETURN_NOT_OK(r->SplitCurrent());

  bool header = options.header == HeaderMode::kPresent;
  if (options.header == HeaderMode::kDetect) {
    for (std::string_view f : r->fields_) {
      double unused;
      std::string_view t = TrimBlanks(f);
      if (!t.empty() && !ParseNumber(t, &unused) && !ParseTimestampMillis(t).ok()) header = true;
    }
  }
  r->has_header_ = header;
  if (header) {
    r->header_line_ = r->line_;
    for (std::string_view f : r->fields_) r->names_.emplace_back(TrimBlanks(f));
    for (size_t i = 0; i < r->names_.size(); ++i) {
      if (r->names_[i].empty()) r->names_[i] = "column" + std::to_string(i + 1);
    }
  } else {
    size_t n = r->fields_.size();
    r->names_.push_back(n == 1 ? "value" : "timestamp");
    for (size_t i = 1; i < n; ++i) r->names_.push_back(i == 1 ? "value" : "value" + std::to_string(i));
    r->pending_first_row_ = true;
  }
  return r;
}

Result<bool> CsvReader::ReadLine() {
  if (!std::getline(in_, line_)) {
    if (in_.bad()) return Status::IOError(path_ + ": read error after line " + std::to_string(line_number_));
    return false;
  }
  ++line_number_;
  bytes_read_ += static_cast<int64_t>(line_.size()) + 1;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

Status CsvReader::SplitCurrent() {
  Status st = SplitLine(line_, delimiter_, &fields_, &starts_, &scratch_);
  if (!st.ok()) return Status::Invalid(path_ + ":" + std::to_string(line_number_) + ": " + st.message());
  return Status::OK();
}

Result<bool> CsvReader::Next() {
  if (pending_first_row_) {
    pending_first_row_ = false;
    return true;
  }
  while (true) {
    VIGIL_ASSIGN_OR_RAISE(bool got, ReadLine());
    if (!got) return false;
    if (!TrimBlanks(line_).empty()) break;
  }
  VIGIL_RETURN_NOT_OK(SplitCurrent());
  if (fields_.size() != names_.size()) {
    return Status::Invalid(path_ + ":" + std::to_string(line_number_) + ": expected " +
                           std::to_string(names_.size()) + " fields separated by " +
                           DelimiterName(delimiter_) + " (as on the first line), found " +
                           std::to_string(fields_.size()));
  }
  return true;
}

Result<int> CsvReader::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int>(i);
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    if (EqualsIgnoreCase(names_[i], name)) return static_cast<int>(i);
  }
  std::string known;
  for (const auto& n : names_) known += (known.empty() ? "'" : ", '") + n + "'";
  return Status::NotFound(path_ + ": no column named '" + std::string(name) + "' (columns: " + known + ")");
}

int CsvReader::FindColumn(const std::vector<std::string_view>& names) const {
  for (std::string_view want : names) {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (EqualsIgnoreCase(names_[i], want)) return static_cast<int>(i);
    }
  }
  return -1;
}

Status CsvReader::FieldError(int column, std::string_view what) const {
  return Status::Invalid(path_ + ":" + std::to_string(line_number_) + ":" +
                         std::to_string(starts_[static_cast<size_t>(column)] + 1) + ": column '" +
                         names_[static_cast<size_t>(column)] + "': " + std::string(what));
}

Result<double> CsvReader::Number(int column) const {
  double v = 0;
  std::string_view f = fields_[static_cast<size_t>(column)];
  if (ParseNumber(f, &v)) return v;
  if (TrimBlanks(f).empty()) return FieldError(column, "empty value where a number is expected");
  return FieldError(column, Quoted(f) + " is not a finite number");
}

Result<int64_t> CsvReader::Timestamp(int column) const {
  Result<int64_t> ts = ParseTimestampMillis(fields_[static_cast<size_t>(column)]);
  if (!ts.ok()) return FieldError(column, ts.status().message());
  return ts;
}

}  // namespace vigil::tabular
