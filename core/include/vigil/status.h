// vigil/status.h: errors as values.
//
// Every fallible call in the core returns a Status or a Result<T> and never
// throws. Only CLI `main` functions and the Python binding turn a Status into
// an exception or an exit code.
//
//   vigil::Result<std::unique_ptr<EwmaDetector>> d = EwmaDetector::Make(opts);
//   if (!d.ok()) { std::cerr << d.status().ToString(); return 1; }
//
//   vigil::Status Load(...) {
//     VIGIL_ASSIGN_OR_RAISE(auto blob, ReadBlob(path));
//     VIGIL_RETURN_NOT_OK(Check(blob));
//     return vigil::Status::OK();
//   }
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace vigil {

/// \brief The kind of a failure. Stable: the binding maps each to an exception.
enum class StatusCode : int {
  kOk = 0,
  kInvalid = 1,        ///< bad argument, option or input value
  kIOError = 2,        ///< file or network failure
  kCorrupt = 3,        ///< a state blob or file that cannot be decoded
  kNotFound = 4,       ///< a key, column or file that does not exist
  kOutOfRange = 5,     ///< an index or value outside its domain
  kUnsupported = 6,    ///< an unknown version or a feature not built in
  kInternal = 7,       ///< a broken invariant; a bug
};

/// \brief Return the name of a status code, e.g. "Invalid".
std::string_view StatusCodeName(StatusCode code);

/// \brief The outcome of an operation: OK, or a code with a message.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status Invalid(std::string msg) { return {StatusCode::kInvalid, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Corrupt(std::string msg) { return {StatusCode::kCorrupt, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status OutOfRange(std::string msg) { return {StatusCode::kOutOfRange, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {StatusCode::kUnsupported, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  /// \brief Return "OK" or "<Code>: <message>".
  std::string ToString() const;

  /// \brief Return a copy with `context` prepended to the message ("context: message").
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

/// \brief A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result cannot be built from an OK status");
    if (status_.ok()) status_ = Status::Internal("Result built from an OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  const T& ValueOrDie() const& { assert(ok()); return *value_; }
  T& ValueOrDie() & { assert(ok()); return *value_; }
  T ValueOrDie() && { assert(ok()); return std::move(*value_); }
  T MoveValueUnsafe() { return std::move(*value_); }

  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace vigil

#define VIGIL_CONCAT_IMPL(a, b) a##b
#define VIGIL_CONCAT(a, b) VIGIL_CONCAT_IMPL(a, b)

/// Return the Status from the enclosing function if `expr` is not OK.
#define VIGIL_RETURN_NOT_OK(expr)                 \
  do {                                            \
    ::vigil::Status _vigil_st = (expr);           \
    if (!_vigil_st.ok()) return _vigil_st;        \
  } while (false)

#define VIGIL_ASSIGN_OR_RAISE_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                               \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).MoveValueUnsafe()

/// Assign the value of a Result to `lhs`, or return its Status.
#define VIGIL_ASSIGN_OR_RAISE(lhs, rexpr) \
  VIGIL_ASSIGN_OR_RAISE_IMPL(VIGIL_CONCAT(_vigil_res_, __LINE__), lhs, rexpr)

#ifdef NDEBUG
#define VIGIL_DCHECK(cond, msg) ((void)0)
#else
#define VIGIL_DCHECK(cond, msg) assert((cond) && (msg))
#endif
