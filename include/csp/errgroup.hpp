// csp/errgroup.hpp — Go's golang.org/x/sync/errgroup: a wait group whose
// goroutines can fail, with the first failure reported by wait() and,
// optionally, a context cancelled on that failure.
//
//   auto [g, ctx] = errgroup::with_context(context::background());
//   for (auto& url : urls) g.go([&, url] { fetch(ctx, url); });  // throws on error
//   if (std::exception_ptr e = g.wait()) std::rethrow_exception(e);
#pragma once

#include <exception>
#include <memory>
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
}  // namespace csp::detail

namespace csp::errgroup {

struct with_context_result;
with_context_result with_context(const context::context& parent);

// group is Go's errgroup.Group. A function passed to go() fails by
// throwing; the first exception is what wait() returns. Not copyable (as a
// Go Group must not be copied); movable, so with_context can return it.
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
    detail::errgroup_enter(s_.get(), /*block=*/true);
    start(std::forward<F>(f));
  }
  // try_go runs f in a new goroutine only if that does not exceed the
  // limit; false if it did not start it.
  template <class F>
  bool try_go(F&& f) {
    if (!detail::errgroup_enter(s_.get(), /*block=*/false)) return false;
    start(std::forward<F>(f));
    return true;
  }
  // wait blocks until every goroutine started by go() has returned, then
  // returns the first exception any of them threw (null if none). With a
  // context from with_context, that context is cancelled before wait returns.
  std::exception_ptr wait() { return detail::errgroup_wait(s_.get()); }
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
          fn();
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
