// csp/errgroup.hpp — Go's golang.org/x/sync/errgroup: a wait group whose
// goroutines can fail, with the first failure reported by wait() and,
// optionally, a context cancelled on that failure.
//
// A function fails in either of two ways: it returns an error (a non-zero
// std::error_code, Go's `return err`; docs/porting.md), or it throws.
//
//   auto [g, ctx] = errgroup::with_context(context::background());
//   for (auto& url : urls) g.go([&, url] { return fetch(ctx, url); });  // -> std::error_code
//   if (std::error_code err = g.wait_error()) return err;
//
//   g.go([&] { parse(file); });                                        // throws on error
//   if (std::exception_ptr e = g.wait()) std::rethrow_exception(e);
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <exception>
#include <memory>
#include <system_error>
#include <type_traits>
#include <utility>

#include "csp/context.hpp"
#include "csp/goroutine.hpp"

namespace csp::detail {
struct errgroup_state;  // lib/errgroup/errgroup.cpp
std::shared_ptr<errgroup_state> errgroup_new(context::cancel_func cancel);
// errgroup_enter counts a new goroutine in, blocking while the limit is
// reached (or, with block == false, returning false instead).
bool errgroup_enter(errgroup_state* s, bool block);
// errgroup_exit counts a goroutine out; e is what it threw, or null.
void errgroup_exit(errgroup_state* s, std::exception_ptr e) noexcept;
std::exception_ptr errgroup_wait(errgroup_state* s);
void errgroup_set_limit(errgroup_state* s, int n);
// errgroup_error_of: the error code wait() reports as a std::system_error;
// other exceptions are rethrown.
std::error_code errgroup_error_of(std::exception_ptr e);

// errgroup_checks: as go_checks, for a group's functions. True if f fits.
template <class F>
constexpr bool errgroup_checks() {
  constexpr bool copies = std::is_constructible_v<std::decay_t<F>, F>;
  static_assert(copies, "errgroup: f is move-only and was passed as an lvalue; pass std::move(f)");
  constexpr bool callable = std::is_invocable_v<std::decay_t<F>&>;
  static_assert(!copies || callable, "errgroup: f must be callable with no arguments");
  if constexpr (copies && callable) {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    constexpr bool returns_ok = std::is_void_v<R> || std::is_convertible_v<R, std::error_code>;
    static_assert(returns_ok,
                  "errgroup: f must return std::error_code (Go's error) or void (and fail by throwing)");
    return returns_ok;
  }
  return false;
}
}  // namespace csp::detail

namespace csp::errgroup {

struct with_context_result;
with_context_result with_context(const context::context& parent);

// group is Go's errgroup.Group. A function passed to go() fails by
// returning a non-zero std::error_code or by throwing; the first failure is
// what wait() returns (an error code as a std::system_error) and
// wait_error() returns as a code. Not copyable (as a Go Group must not be
// copied); movable, so with_context can return it.
class group {
 public:
  // group() is a group with no limit and no context; a group moves and
  // does not copy.
  group() : s_(detail::errgroup_new({})) {}
  group(group&&) noexcept = default;
  group& operator=(group&&) noexcept = default;

  // go runs f in a new goroutine. With a limit set, it blocks until the
  // number of active goroutines is below it.
  template <class F>
  void go(F&& f) {
    if constexpr (detail::errgroup_checks<F>()) {
      detail::errgroup_enter(s_.get(), /*block=*/true);
      start(std::forward<F>(f));
    }
  }
  // try_go runs f in a new goroutine only if that does not exceed the
  // limit; false if it did not start it.
  template <class F>
  bool try_go(F&& f) {
    if constexpr (detail::errgroup_checks<F>()) {
      if (!detail::errgroup_enter(s_.get(), /*block=*/false)) return false;
      start(std::forward<F>(f));
      return true;
    } else {
      return false;
    }
  }
  // wait blocks until every goroutine started by go() has returned, then
  // returns the first exception any of them threw (null if none). With a
  // context from with_context, that context is cancelled before wait returns.
  std::exception_ptr wait() { return detail::errgroup_wait(s_.get()); }
  // wait_error is wait() for functions that return std::error_code: Go's
  // `if err := g.Wait(); err != nil`. The first failure as a code (a
  // thrown std::system_error counts, its code()); {} if none. Any other
  // exception a function threw is rethrown here.
  std::error_code wait_error() { return detail::errgroup_error_of(wait()); }
  // set_limit bounds the number of active goroutines to n (n < 0: no
  // limit). Throws csp::panic if goroutines of the group are active, as Go.
  void set_limit(int n) { detail::errgroup_set_limit(s_.get(), n); }

 private:
  friend struct with_context_result;
  friend with_context_result with_context(const context::context& parent);
  explicit group(std::shared_ptr<detail::errgroup_state> s) noexcept : s_(std::move(s)) {}

  template <class F>
  void start(F&& f) {
    try {
      csp::go([s = s_, fn = std::decay_t<F>(std::forward<F>(f))]() mutable {
        std::exception_ptr e;
        try {
          if constexpr (std::is_void_v<std::invoke_result_t<decltype(fn)&>>) {
            fn();
          } else if (std::error_code err = fn()) {
            e = std::make_exception_ptr(std::system_error(err));
          }
        } catch (...) {
          e = std::current_exception();
        }
        detail::errgroup_exit(s.get(), std::move(e));
      });
    } catch (...) {
      detail::errgroup_exit(s_.get(), nullptr);  // never started: count it out again
      throw;
    }
  }

  std::shared_ptr<detail::errgroup_state> s_;
};

// with_context_result: `auto [g, ctx] = errgroup::with_context(parent);`
struct with_context_result {
  // group is the new group, ctx the context it cancels on the first failure.
  ::csp::errgroup::group group;
  context::context ctx;
};

// with_context returns a group and a child of parent that is cancelled the
// first time a goroutine of the group fails, or when wait() returns.
with_context_result with_context(const context::context& parent);

}  // namespace csp::errgroup
