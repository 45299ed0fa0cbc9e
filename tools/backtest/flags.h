// backtest/flags.h: the small command-line parser shared by vigil-backtest and vigil-evaluate.
//
// Accepts `--name value`, `--name=value` and boolean `--name`; a flag may be
// repeated when declared so. Unknown flags, missing values and stray arguments
// are errors that name the flag.
//
//   FlagParser flags("vigil backtest", "run the detectors over a file");
//   flags.Value("input", "FILE", "the file to read", /*required=*/true);
//   flags.Bool("quiet", "no progress line");
//   VIGIL_RETURN_NOT_OK(flags.Parse(argc, argv));
//   std::string in = flags.Get("input");
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil::tabular {

class FlagParser {
 public:
  FlagParser(std::string program, std::string summary);

  /// \brief Declare a flag that takes a value.
  void Value(const std::string& name, const std::string& meta, const std::string& help, bool required = false,
             bool repeated = false);
  /// \brief Declare a flag without a value.
  void Bool(const std::string& name, const std::string& help);

  /// \brief Parse argv; Invalid on an unknown flag, a missing value or a missing required flag.
  Status Parse(int argc, char** argv);

  bool help_requested() const { return help_; }

  /// \brief Parse; on --help print the usage to stdout, on an error print it to stderr
  /// prefixed with the program name. Return the exit code to leave with (0 or 2),
  /// or -1 when the command should run.
  int ParseOrExit(int argc, char** argv);
  std::string Usage() const;

  bool Has(const std::string& name) const;
  /// \brief The last value given, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& All(const std::string& name) const;
  bool GetBool(const std::string& name) const { return Has(name); }
  /// \brief Parse the value as a number; Invalid naming the flag when it is not one.
  Result<double> GetNumber(const std::string& name, double fallback) const;

 private:
  struct Spec {
    std::string meta, help;
    bool takes_value = false, required = false, repeated = false;
  };
  std::string program_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  bool help_ = false;
};

/// \brief Parse a --delimiter value: one character, or "tab" / "\\t".
Result<char> ParseDelimiter(const std::string& text);

/// \brief Split "a,b,c" into its non-empty parts, trimmed of blanks.
std::vector<std::string> SplitList(const std::string& text, char sep = ',');

}  // namespace vigil::tabular
