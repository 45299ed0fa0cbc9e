#include <cmath>
#include <string>

#include "vigil/detect/rcf.h"

namespace vigil {
namespace {

Status Bad(const char* key, const std::string& why) { return Status::Invalid(std::string("rcf.") + key + ": " + why); }

}  // namespace

RcfOptions RcfOptions::Compact() {
  RcfOptions o;
  o.num_trees = 30;
  o.sample_size = 128;
  o.shingle_size = 4;
  return o;
}

Status RcfOptions::Validate() const {
  if (num_trees < 1 || num_trees > 1000) return Bad("num_trees", "must be in [1, 1000], got " + std::to_string(num_trees));
  if (sample_size < 2 || sample_size > 4096) {
    return Bad("sample_size", "must be in [2, 4096], got " + std::to_string(sample_size));
  }
  if (shingle_size < 1 || shingle_size > 256) {
    return Bad("shingle_size", "must be in [1, 256], got " + std::to_string(shingle_size));
  }
  if (std::isnan(time_decay) || std::isinf(time_decay) || time_decay > 1.0) {
    return Bad("time_decay", "must be finite and at most 1 (negative: 1 / (10 * sample_size)), got " +
                                 std::to_string(time_decay));
  }
  if (!(initial_accept_fraction > 0.0 && initial_accept_fraction <= 1.0)) {
    return Bad("initial_accept_fraction", "must be in (0, 1], got " + std::to_string(initial_accept_fraction));
  }
  return Status::OK();
}

double RcfOptions::resolved_time_decay() const {
  return time_decay < 0 ? 1.0 / (10.0 * sample_size) : time_decay;
}

int64_t RcfOptions::resolved_output_after() const {
  return output_after < 0 ? sample_size / 4 : output_after;
}

Result<RcfOptions> RcfOptions::FromParams(const Params& p) {
  RcfOptions o;
  VIGIL_RETURN_NOT_OK(p.Get("num_trees", &o.num_trees));
  VIGIL_RETURN_NOT_OK(p.Get("sample_size", &o.sample_size));
  VIGIL_RETURN_NOT_OK(p.Get("shingle_size", &o.shingle_size));
  VIGIL_RETURN_NOT_OK(p.Get("time_decay", &o.time_decay));
  VIGIL_RETURN_NOT_OK(p.Get("output_after", &o.output_after));
  VIGIL_RETURN_NOT_OK(p.Get("initial_accept_fraction", &o.initial_accept_fraction));
  int64_t seed = 0;
  VIGIL_RETURN_NOT_OK(p.Get("seed", &seed));
  if (seed < 0) return p.Error("seed", "must be >= 0");
  o.seed = static_cast<uint64_t>(seed);
  VIGIL_RETURN_NOT_OK(p.CheckAllUsed());
  Status st = o.Validate();
  if (!st.ok() && !p.path().empty()) return Status::Invalid(p.path() + st.message().substr(3));
  VIGIL_RETURN_NOT_OK(st);
  return o;
}

}  // namespace vigil
