#include "vigil/detect/params.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace vigil {

namespace {

std::string JoinPath(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

}  // namespace

Params& Params::Child(std::string_view key) {
  auto it = children_.find(key);
  if (it == children_.end()) {
    it = children_.emplace(std::string(key), Params(JoinPath(path_, key))).first;
    order_.emplace_back(key);
  }
  return it->second;
}

Params& Params::Set(std::string_view key, std::string_view value) {
  Child(key).SetScalar(std::string(value));
  return *this;
}

Params& Params::Append() {
  is_sequence_ = true;
  return Child(std::to_string(order_.size()));
}

const Params* Params::Find(std::string_view key) const {
  auto it = children_.find(key);
  if (it == children_.end()) return nullptr;
  used_.insert(std::string(key));
  return &it->second;
}

std::vector<std::string> Params::Keys() const {
  std::vector<std::string> keys;
  if (is_sequence_) {
    keys = order_;
  } else {
    for (const auto& [k, v] : children_) keys.push_back(k);
  }
  for (const auto& k : keys) used_.insert(k);
  return keys;
}

std::vector<const Params*> Params::Elements() const {
  std::vector<const Params*> out;
  for (const auto& k : order_) {
    used_.insert(k);
    out.push_back(&children_.find(k)->second);
  }
  return out;
}

Status Params::Error(std::string_view key, std::string_view why) const {
  return Status::Invalid(JoinPath(path_, key) + ": " + std::string(why));
}

Status Params::AsDouble(double* out) const {
  if (!is_scalar_) return Status::Invalid(path_ + ": expected a number, got a map or list");
  const std::string& s = scalar_;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    if (s == ".inf" || s == "inf" || s == "+.inf") {
      v = INFINITY;
    } else if (s == "-.inf" || s == "-inf") {
      v = -INFINITY;
    } else {
      return Status::Invalid(path_ + ": expected a number, got '" + s + "'");
    }
  }
  if (std::isnan(v)) return Status::Invalid(path_ + ": NaN is not allowed");
  *out = v;
  return Status::OK();
}

Status Params::AsInt(int64_t* out) const {
  if (!is_scalar_) return Status::Invalid(path_ + ": expected an integer, got a map or list");
  const std::string& s = scalar_;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return Status::Invalid(path_ + ": expected an integer, got '" + s + "'");
  }
  *out = v;
  return Status::OK();
}

Status Params::AsBool(bool* out) const {
  if (!is_scalar_) return Status::Invalid(path_ + ": expected true or false, got a map or list");
  if (scalar_ == "true" || scalar_ == "True" || scalar_ == "yes" || scalar_ == "on") {
    *out = true;
  } else if (scalar_ == "false" || scalar_ == "False" || scalar_ == "no" || scalar_ == "off") {
    *out = false;
  } else {
    return Status::Invalid(path_ + ": expected true or false, got '" + scalar_ + "'");
  }
  return Status::OK();
}

Status Params::Get(std::string_view key, double* out) const {
  const Params* c = Find(key);
  return c ? c->AsDouble(out) : Status::OK();
}

Status Params::Get(std::string_view key, int64_t* out) const {
  const Params* c = Find(key);
  return c ? c->AsInt(out) : Status::OK();
}

Status Params::Get(std::string_view key, int32_t* out) const {
  const Params* c = Find(key);
  if (!c) return Status::OK();
  int64_t v = 0;
  VIGIL_RETURN_NOT_OK(c->AsInt(&v));
  if (v < INT32_MIN || v > INT32_MAX) return Status::Invalid(c->path() + ": out of range");
  *out = static_cast<int32_t>(v);
  return Status::OK();
}

Status Params::Get(std::string_view key, bool* out) const {
  const Params* c = Find(key);
  return c ? c->AsBool(out) : Status::OK();
}

Status Params::Get(std::string_view key, std::string* out) const {
  const Params* c = Find(key);
  if (!c) return Status::OK();
  if (!c->is_scalar_) return Status::Invalid(c->path() + ": expected a string, got a map or list");
  *out = c->scalar_;
  return Status::OK();
}

void Params::MarkAllUsed() const {
  for (const auto& [k, child] : children_) {
    used_.insert(k);
    child.MarkAllUsed();
  }
}

Status Params::CheckAllUsed() const {
  for (const auto& k : order_) {
    if (!used_.count(k)) return Status::Invalid(JoinPath(path_, k) + ": unknown key");
    VIGIL_RETURN_NOT_OK(children_.find(k)->second.CheckAllUsed());
  }
  return Status::OK();
}

}  // namespace vigil
