// Marshalling shared by the binding's files: Status -> exception, vectors -> numpy.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <climits>
#include <cstdint>
#include <string_view>
#include <memory>
#include <utility>
#include <vector>

#include "vigil/status.h"

namespace vigil::py {

namespace nb = nanobind;

using Bytes = nb::ndarray<const uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Offsets32 = nb::ndarray<const int32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// A non-OK Status on its way to Python; translated once, in RaiseStatus.
struct StatusError {
  Status status;
};

inline void Check(const Status& st) {
  if (!st.ok()) throw StatusError{st};
}

template <typename T>
T Unwrap(Result<T> r) {
  Check(r.status());
  return std::move(r).MoveValueUnsafe();
}

// Hand a vector to numpy without copying: the capsule owns it.
template <typename T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> ToNumpy(std::vector<T>&& v) {
  auto owned = std::make_unique<std::vector<T>>(std::move(v));
  size_t n = owned->size();
  T* data = owned->data();
  nb::capsule owner(owned.get(), [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  owned.release();
  return nb::ndarray<nb::numpy, T, nb::ndim<1>>(data, {n}, owner);
}

// A string column built in C++ and handed over as the buffers of an Arrow string array:
// (data uint8, offsets int32 of n + 1), both numpy arrays that own their vectors.
// vigil.arrow.string_array wraps them without a copy; no Python str per value.
class StringColumnOut {
 public:
  void Append(std::string_view s) {
    data_.insert(data_.end(), s.begin(), s.end());
    if (data_.size() > static_cast<size_t>(INT32_MAX)) {
      throw StatusError{Status::Invalid("string column over 2 GiB: split the batch")};
    }
    offsets_.push_back(static_cast<int32_t>(data_.size()));
  }
  void Reserve(size_t n, size_t bytes_each) {
    offsets_.reserve(n + 1);
    data_.reserve(n * bytes_each);
  }
  nb::tuple Release() { return nb::make_tuple(ToNumpy(std::move(data_)), ToNumpy(std::move(offsets_))); }

 private:
  std::vector<uint8_t> data_;
  std::vector<int32_t> offsets_{0};
};

/// Add the Kafka range reader classes (kafka.cc) to the module.
void BindKafka(nb::module_& m);

/// Add anomaly_json_lines (records.cc) to the module.
void BindRecords(nb::module_& m);

}  // namespace vigil::py
