// vigil/detect/params.h: a small tree of named settings for detectors.
//
// The engine fills it from YAML (detectors.<name>.*); code may build one by
// hand. Scalars are kept as text and parsed by the typed getters, which name
// the full path of a bad key. A detector reads what it knows, then calls
// CheckAllUsed() so that a misspelt key is an error, not a silent default.
//
//   vigil::Params p("detectors.ewma");
//   p.Set("halflife", "200");
//   double halflife = 100;
//   VIGIL_RETURN_NOT_OK(p.Get("halflife", &halflife));   // 200
//   VIGIL_RETURN_NOT_OK(p.CheckAllUsed());
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

class Params {
 public:
  explicit Params(std::string path = {}) : path_(std::move(path)) {}

  /// \brief Set a scalar child (creating it); returns *this for chaining.
  Params& Set(std::string_view key, std::string_view value);
  /// \brief Return the child map `key`, creating it.
  Params& Child(std::string_view key);
  /// \brief Make this node a scalar.
  void SetScalar(std::string value) { scalar_ = std::move(value); is_scalar_ = true; }
  /// \brief Append an element to this node as a sequence.
  Params& Append();

  bool Has(std::string_view key) const { return children_.count(std::string(key)) > 0; }
  bool is_scalar() const { return is_scalar_; }
  bool is_sequence() const { return is_sequence_; }
  const std::string& scalar() const { return scalar_; }
  const std::string& path() const { return path_; }
  /// \brief The child `key`, or nullptr. Marks it used.
  const Params* Find(std::string_view key) const;
  /// \brief Child keys in sorted order (maps) or "0", "1", ... (sequences). Marks all used.
  std::vector<std::string> Keys() const;
  /// \brief Elements of a sequence node.
  std::vector<const Params*> Elements() const;

  // Typed getters: leave *out unchanged when the key is absent; Invalid naming the path otherwise.
  Status Get(std::string_view key, double* out) const;
  Status Get(std::string_view key, int64_t* out) const;
  Status Get(std::string_view key, int32_t* out) const;
  Status Get(std::string_view key, bool* out) const;
  Status Get(std::string_view key, std::string* out) const;

  /// \brief Parse this scalar node.
  Status AsDouble(double* out) const;
  Status AsInt(int64_t* out) const;
  Status AsBool(bool* out) const;

  /// \brief Mark this subtree as read (its settings are checked elsewhere).
  void MarkAllUsed() const;

  /// \brief Invalid naming the first child key nobody read (recursively), e.g. a typo.
  Status CheckAllUsed() const;

  /// \brief Invalid "<path>.<key>: <why>".
  Status Error(std::string_view key, std::string_view why) const;

 private:
  std::string path_;
  std::string scalar_;
  bool is_scalar_ = false;
  bool is_sequence_ = false;
  std::map<std::string, Params, std::less<>> children_;
  std::vector<std::string> order_;  // insertion order (sequences)
  mutable std::set<std::string, std::less<>> used_;
};

}  // namespace vigil
