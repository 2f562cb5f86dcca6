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
#pragma once

#include <any>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

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
}

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
  // chain, or an empty std::any. Keys are compared by address.
  std::any value(const void* key) const;

  // For the implementation.
  explicit context(std::shared_ptr<detail::context_node> n) noexcept : n_(std::move(n)) {}
  const std::shared_ptr<detail::context_node>& node() const noexcept { return n_; }

 private:
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
// with_value returns a child of parent that carries value under key.
context with_value(const context& parent, const void* key, std::any value);

}  // namespace csp::context
