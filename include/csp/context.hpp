// csp/context.hpp — Go's context package: cancellation, deadlines and
// request-scoped values that flow down a tree of contexts.
//
//   auto [ctx, cancel] = context::with_timeout(context::background(), 100ms);
//   defer d{[&] { cancel(); }};
//   select(recv(result), recv(ctx.done()));
//   if (ctx.err() == context::deadline_exceeded) ...
//
// A context is a cheap shared handle (copy = same context). Cancelling a
// context closes its done() channel (waking every goroutine selecting on
// it) and cancels all its descendants; a cancelled context is unlinked from
// its parent, so a long-lived parent does not accumulate dead children.
// Cancel functions are copyable, idempotent, and safe from any thread.
//
// Depth: lookup, cancellation and release walk a chain with loops, never
// one call per level, so a chain of any depth works on any stack (a
// goroutine's fixed one included).
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <any>
#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "csp/detail/chrono.hpp"  // <chrono> without its I/O
#include "csp/chan.hpp"
#include "csp/time.hpp"

namespace csp::context {

// errc: why a context is done (Go's context.Canceled, DeadlineExceeded).
enum class errc {
  canceled = 1,           // "context canceled"
  deadline_exceeded = 2,  // "context deadline exceeded"
};

// category is the error category of errc ("context").
const std::error_category& category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// The two errors, for `ctx.err() == context::canceled`.
inline constexpr errc canceled = errc::canceled;
inline constexpr errc deadline_exceeded = errc::deadline_exceeded;

}  // namespace csp::context

template <>
struct std::is_error_code_enum<csp::context::errc> : std::true_type {};

namespace csp::detail {
struct context_node;  // lib/context/context.cpp

// context_key_of is the type a with_value key is stored and compared as:
// a string (literal, char pointer, string_view) as std::string, so equal
// text is the same key, as a Go string key; any other object pointer as
// const void*, compared by address whatever it points to; anything else
// as itself, compared with ==.
template <class K>
struct context_key_of {
  using type = K;
};
template <>
struct context_key_of<const char*> {
  using type = std::string;
};
template <>
struct context_key_of<char*> {
  using type = std::string;
};
template <>
struct context_key_of<std::string_view> {
  using type = std::string;
};
template <class P>
  requires std::is_object_v<P>
struct context_key_of<P*> {
  using type = const void*;
};
template <>
struct context_key_of<std::nullptr_t> {  // a nil key: with_value panics
  using type = const void*;
};
template <class K>
using context_key_t = typename context_key_of<std::decay_t<K>>::type;

// context_nil_key throws csp::panic("nil key"), as Go's WithValue panics.
[[noreturn]] void context_nil_key();

// context_key_eq compares a stored key (in a with_value node) with a probe
// of the same type.
template <class K>
bool context_key_eq(const std::any& stored, const void* probe) {
  return *std::any_cast<K>(&stored) == *static_cast<const K*>(probe);
}
using context_key_eq_fn = bool (*)(const std::any&, const void*);

// context_value_of: a string literal (or char pointer) stored as a value
// becomes std::string, as Go's string; anything else is stored as is.
template <class V>
std::any context_value_of(V&& v) {
  using D = std::decay_t<V>;
  if constexpr (std::is_array_v<std::remove_reference_t<V>> && std::is_same_v<D, const char*>) {
    return std::any(std::string(v));  // a literal
  } else if constexpr (std::is_same_v<D, const char*> || std::is_same_v<D, char*>) {
    if (v == nullptr) return std::any(static_cast<const char*>(nullptr));
    return std::any(std::string(v));
  } else {
    return std::any(std::forward<V>(v));
  }
}
}  // namespace csp::detail

namespace csp::context {

// context is Go's context.Context. A default-constructed one is background().
class context {
 public:
  context() noexcept = default;

  // done is closed when the context is cancelled or its deadline passes;
  // nil (never ready) for a context that can never be cancelled.
  recv_only<> done() const;
  // err is false while the context is live; then canceled or
  // deadline_exceeded (the first reason wins).
  std::error_code err() const;
  // deadline is when the context will be cancelled by itself, if ever.
  std::optional<time::time_point> deadline() const;
  // value returns the value bound to key by the nearest with_value up the
  // chain, or an empty std::any. Keys compare as Go's interface keys: equal
  // when of the same type (after context_key_of) and ==.
  template <class K>
  std::any value(const K& key) const {
    detail::context_key_t<K> k(key);
    return find_value(typeid(k), &k);
  }

  // For the implementation.
  explicit context(std::shared_ptr<detail::context_node> n) noexcept : n_(std::move(n)) {}
  const std::shared_ptr<detail::context_node>& node() const noexcept { return n_; }

 private:
  // find_value walks up the chain for a key of type t equal to *probe.
  std::any find_value(const std::type_info& t, const void* probe) const;

  std::shared_ptr<detail::context_node> n_;  // null: background
};

// cancel_func cancels its context (and every descendant) with `canceled`,
// releases the context's timer, and unlinks it from its parent. Idempotent;
// any thread; copies cancel the same context.
class cancel_func {
 public:
  // A default-constructed cancel_func cancels nothing; the other
  // constructor is for the implementation. operator() cancels.
  cancel_func() noexcept = default;
  explicit cancel_func(std::shared_ptr<detail::context_node> n) noexcept : n_(std::move(n)) {}
  void operator()() const noexcept;

 private:
  std::shared_ptr<detail::context_node> n_;
};

// with_cancel_result is what with_cancel/with_timeout/with_deadline return:
// `auto [ctx, cancel] = context::with_cancel(parent);`
struct with_cancel_result {
  // ctx is the new context, cancel its cancel_func.
  context ctx;
  cancel_func cancel;
};

// background is the root of every tree: never cancelled, no deadline, no values.
context background() noexcept;
// todo is background, for code not yet given a context (Go's TODO).
context todo() noexcept;

// with_cancel returns a child of parent that is done when cancel is called
// or parent is done, whichever happens first.
with_cancel_result with_cancel(const context& parent);
// with_deadline is with_cancel that is also cancelled, with
// deadline_exceeded, at tp (or at parent's deadline if that is earlier).
with_cancel_result with_deadline(const context& parent, time::time_point tp);
// with_timeout is with_deadline(parent, now + d).
template <class Rep, class Period>
with_cancel_result with_timeout(const context& parent, std::chrono::duration<Rep, Period> d) {
  std::int64_t ns = detail::to_ns(d);
  return with_deadline(parent, time::now() + std::chrono::nanoseconds(ns));
}
// with_value_erased is with_value after type erasure (lib/context).
context with_value_erased(const context& parent, std::any key, detail::context_key_eq_fn eq,
                          std::any value);

// with_value returns a child of parent that carries value under key (Go's
// WithValue). key may be of any copyable type with == (Go: comparable);
// define a type of your own, as Go advises, so packages cannot collide:
//   struct user_key { bool operator==(const user_key&) const = default; };
// A pointer key compares by address; a string key (a literal, a char
// pointer, std::string) by its text. A string literal value is stored as
// std::string, so std::any_cast<std::string> reads it back, as Go's
// ctx.Value(k).(string). Throws csp::panic("nil key") for a null pointer key.
template <class K, class V>
context with_value(const context& parent, const K& key, V&& value) {
  using key_t = detail::context_key_t<K>;
  static_assert(std::equality_comparable<key_t>,
                "context::with_value: the key type must be comparable with ==, as Go requires");
  static_assert(std::is_copy_constructible_v<key_t>,
                "context::with_value: the key type must be copyable");
  key_t k(key);
  if constexpr (std::is_same_v<key_t, const void*>) {
    if (k == nullptr) detail::context_nil_key();
  }
  return with_value_erased(parent, std::any(std::move(k)), &detail::context_key_eq<key_t>,
                           detail::context_value_of(std::forward<V>(value)));
}

}  // namespace csp::context
