// vigil/testing/gtest_util.h: GoogleTest helpers for Status and Result.
//
//   ASSERT_OK(writer.Flush());
//   ASSERT_OK_AND_ASSIGN(auto engine, vigil::Engine::Make(opts));
//   ASSERT_RAISES(Invalid, vigil::EngineOptions::FromYaml("bad: [").status());
#pragma once

#include <gtest/gtest.h>

#include "vigil/status.h"

namespace vigil::testing {

inline const Status& ToStatus(const Status& s) { return s; }
template <typename T>
const Status& ToStatus(const Result<T>& r) { return r.status(); }

}  // namespace vigil::testing

#define ASSERT_OK(expr)                                                      \
  do {                                                                       \
    auto&& _vigil_val = (expr);                                              \
    const ::vigil::Status _st = ::vigil::testing::ToStatus(_vigil_val);         \
    ASSERT_TRUE(_st.ok()) << "'" #expr "' failed: " << _st.ToString();       \
  } while (false)

#define EXPECT_OK(expr)                                                      \
  do {                                                                       \
    auto&& _vigil_val = (expr);                                              \
    const ::vigil::Status _st = ::vigil::testing::ToStatus(_vigil_val);         \
    EXPECT_TRUE(_st.ok()) << "'" #expr "' failed: " << _st.ToString();       \
  } while (false)

#define VIGIL_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, rexpr)                      \
  auto tmp = (rexpr);                                                         \
  ASSERT_TRUE(tmp.ok()) << "'" #rexpr "' failed: " << tmp.status().ToString(); \
  lhs = std::move(tmp).MoveValueUnsafe()

#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  VIGIL_ASSERT_OK_AND_ASSIGN_IMPL(VIGIL_CONCAT(_vigil_assert_res_, __LINE__), lhs, rexpr)

/// Assert that `expr` (a Status or Result) failed with StatusCode::k<code>.
#define ASSERT_RAISES(status_code, expr)                                                    \
  do {                                                                               \
    auto&& _vigil_val = (expr);                                              \
    const ::vigil::Status _st = ::vigil::testing::ToStatus(_vigil_val);                 \
    ASSERT_EQ(_st.code(), ::vigil::StatusCode::k##status_code)                              \
        << "'" #expr "' gave " << _st.ToString() << ", expected " #status_code;             \
  } while (false)

/// As ASSERT_RAISES, and the message contains `substr`.
#define ASSERT_RAISES_WITH_MESSAGE(status_code, substr, expr)                               \
  do {                                                                               \
    auto&& _vigil_val = (expr);                                              \
    const ::vigil::Status _st = ::vigil::testing::ToStatus(_vigil_val);                 \
    ASSERT_EQ(_st.code(), ::vigil::StatusCode::k##status_code)                              \
        << "'" #expr "' gave " << _st.ToString() << ", expected " #status_code;             \
    ASSERT_NE(_st.message().find(substr), std::string::npos)                         \
        << "message '" << _st.message() << "' lacks '" << (substr) << "'";           \
  } while (false)
