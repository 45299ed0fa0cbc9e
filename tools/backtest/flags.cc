#include "backtest/flags.h"

#include <charconv>
#include <cmath>
#include <iostream>

namespace vigil::tabular {

FlagParser::FlagParser(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void FlagParser::Value(const std::string& name, const std::string& meta, const std::string& help, bool required,
                       bool repeated) {
  order_.push_back(name);
  specs_[name] = Spec{meta, help, true, required, repeated};
}

void FlagParser::Bool(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{"", help, false, false, false};
}

Status FlagParser::Parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help" || arg == "help") {
      help_ = true;
      return Status::OK();
    }
    if (arg.rfind("--", 0) != 0) {
      return Status::Invalid("unexpected argument '" + arg + "' (flags start with --; see --help)");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto it = specs_.find(name);
    if (it == specs_.end()) return Status::Invalid("unknown flag --" + name + " (see --help)");
    const Spec& spec = it->second;
    if (!spec.takes_value) {
      if (value) return Status::Invalid("--" + name + " takes no value");
      values_[name].push_back("true");
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) return Status::Invalid("--" + name + " needs a value: --" + name + " " + spec.meta);
      value = argv[++i];
    }
    auto& vals = values_[name];
    if (!vals.empty() && !spec.repeated) return Status::Invalid("--" + name + " given twice");
    vals.push_back(*value);
  }
  for (const auto& [name, spec] : specs_) {
    if (spec.required && !Has(name)) return Status::Invalid("missing required flag --" + name + " " + spec.meta);
  }
  return Status::OK();
}

int FlagParser::ParseOrExit(int argc, char** argv) {
  Status st = Parse(argc, argv);
  if (help_) {
    std::cout << Usage();
    return 0;
  }
  if (!st.ok()) {
    std::cerr << program_ << ": " << st.message() << "\n";
    return 2;
  }
  return -1;
}

std::string FlagParser::Usage() const {
  std::string out = "usage: " + program_;
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    std::string f = "--" + name + (s.takes_value ? " " + s.meta : "");
    out += s.required ? " " + f : " [" + f + "]";
  }
  out += "\n\n" + summary_ + "\n\n";
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    std::string f = "  --" + name + (s.takes_value ? " " + s.meta : "");
    if (f.size() < 28) f.resize(28, ' ');
    out += f + " " + s.help + (s.repeated ? " (repeatable)" : "") + "\n";
  }
  return out;
}

bool FlagParser::Has(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && !it->second.empty();
}

std::string FlagParser::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

const std::vector<std::string>& FlagParser::All(const std::string& name) const {
  static const std::vector<std::string> kEmpty;
  auto it = values_.find(name);
  return it == values_.end() ? kEmpty : it->second;
}

Result<double> FlagParser::GetNumber(const std::string& name, double fallback) const {
  if (!Has(name)) return fallback;
  std::string v = Get(name);
  double d = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(d)) {
    return Status::Invalid("--" + name + " expects a number, got '" + v + "'");
  }
  return d;
}

Result<char> ParseDelimiter(const std::string& text) {
  if (text == "tab" || text == "\\t") return '\t';
  if (text.size() != 1) return Status::Invalid("--delimiter expects one character (or 'tab'), got '" + text + "'");
  return text[0];
}

std::vector<std::string> SplitList(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(sep, pos);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
    pos = end + 1;
  }
  return out;
}

}  // namespace vigil::tabular
