// Marshalling shared by the binding's files: Status -> exception, vectors -> numpy.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
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

/// Add the Kafka range reader classes (kafka.cc) to the module.
void BindKafka(nb::module_& m);

/// Add anomaly_json_lines (records.cc) to the module.
void BindRecords(nb::module_& m);

}  // namespace vigil::py
