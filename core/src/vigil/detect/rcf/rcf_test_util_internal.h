// Test helpers for the rcf tests: Status checks that copy the Status (so a
// temporary Result or Status can be checked without a dangling reference).
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "vigil/status.h"

namespace vigil::internal {

template <typename T>
Status StatusOf(const Result<T>& r) { return r.status(); }
inline Status StatusOf(const Status& s) { return s; }

}  // namespace vigil::internal

#define RCF_EXPECT_OK(expr)                                                          \
  do {                                                                               \
    const ::vigil::Status _rcf_st = ::vigil::internal::StatusOf((expr));             \
    EXPECT_TRUE(_rcf_st.ok()) << #expr << ": " << _rcf_st.ToString();                \
  } while (false)

#define RCF_ASSERT_OK(expr)                                                          \
  do {                                                                               \
    const ::vigil::Status _rcf_st = ::vigil::internal::StatusOf((expr));             \
    ASSERT_TRUE(_rcf_st.ok()) << #expr << ": " << _rcf_st.ToString();                \
  } while (false)

/// Expect a failure with StatusCode `want` (e.g. kInvalid) whose message contains `substr`.
#define RCF_EXPECT_ERROR(want, substr, expr)                                         \
  do {                                                                               \
    const ::vigil::Status _rcf_st = ::vigil::internal::StatusOf((expr));             \
    EXPECT_EQ(_rcf_st.code(), ::vigil::StatusCode::want) << _rcf_st.ToString();      \
    EXPECT_NE(_rcf_st.message().find(substr), std::string::npos) << _rcf_st.ToString(); \
  } while (false)
