// csp/goroutine.hpp — the go statement.
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <functional>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

#include "csp/detail/source_location.hpp"
#include "csp/detail/spawn.hpp"

namespace csp {

namespace detail {

// go_checks states, as the first error a mistake produces, what is wrong
// with a go(f, args...) call (and wait_group::go's), instead of pages from
// inside std::tuple and <type_traits>. True if the call can compile; the
// callers compile their body only then, so no second error follows.
template <class F, class... Args>
constexpr bool go_checks() {
  constexpr bool f_copies = std::is_constructible_v<std::decay_t<F>, F>;
  constexpr bool args_copy = (std::is_constructible_v<std::decay_t<Args>, Args> && ...);
  static_assert(f_copies, "go: f is move-only and was passed as an lvalue; pass std::move(f)");
  static_assert(args_copy, "go: an argument is move-only and was passed as an lvalue; pass std::move(arg)");
  constexpr bool callable = std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>;
  static_assert(!f_copies || !args_copy || callable,
                "go: f is not callable with these arguments (go(f, args...) calls f(args...) on copies "
                "of them, as rvalues)");
  return f_copies && args_copy && callable;
}

// spawn_checked packs f and its decay-copied arguments into the new
// goroutine's closure and starts it.
template <class F, class... Args>
void spawn_checked(const csp::detail::source_location& loc, F&& f, Args&&... args) {
  using closure = std::tuple<std::decay_t<F>, std::decay_t<Args>...>;
  void* storage = nullptr;
  goroutine* g = new_goroutine(sizeof(closure), alignof(closure), &storage, loc);
  try {
    ::new (storage) closure(std::forward<F>(f), std::forward<Args>(args)...);
  } catch (...) {
    discard_goroutine(g);
    throw;
  }
  start_goroutine(
      g,
      [](void* p) {
        closure& c = *static_cast<closure*>(p);
        struct destroy_at_exit {
          closure& c;
          ~destroy_at_exit() { c.~closure(); }
        } guard{c};
        std::apply([](auto& fn, auto&... a) { std::invoke(std::move(fn), std::move(a)...); }, c);
      });
}

// spawn_closure is spawn_checked after go_checks.
template <class F, class... Args>
void spawn_closure(const csp::detail::source_location& loc, F&& f, Args&&... args) {
  if constexpr (go_checks<F, Args...>()) spawn_checked(loc, std::forward<F>(f), std::forward<Args>(args)...);
}

// go_fn is the type of csp::go. A function object rather than a function
// template so that the caller's source location can follow the arguments
// (a defaulted parameter cannot follow a pack), and rather than a class
// template so that `go(worker);` is a call, not the declaration of a
// variable named worker.
struct go_fn {
  using loc_t = const csp::detail::source_location&;
  // One overload per arity (up to eight arguments): the location must be
  // the last parameter, after every deduced one.
  template <class F>
  void operator()(F&& f, loc_t loc = csp::detail::source_location::current()) const {
    spawn_closure(loc, std::forward<F>(f));
  }
  template <class F, class A1>
  void operator()(F&& f, A1&& a1, loc_t loc = csp::detail::source_location::current()) const {
    spawn_closure(loc, std::forward<F>(f), std::forward<A1>(a1));
  }
  template <class F, class A1, class A2>
  void operator()(F&& f, A1&& a1, A2&& a2, loc_t loc = csp::detail::source_location::current()) const {
    spawn_closure(loc, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2));
  }
  template <class F, class A1, class A2, class A3>
  void operator()(F&& f, A1&& a1, A2&& a2, A3&& a3, loc_t loc = csp::detail::source_location::current()) const {
    spawn_closure(loc, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3));
  }
  template <class F, class A1, class A2, class A3, class A4>
  void operator()(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, loc_t loc = csp::detail::source_location::current()) const {
    spawn_closure(loc, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4));
  }
  template <class F, class A1, class A2, class A3, class A4, class A5>
  void operator()(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, loc_t loc = csp::detail::source_location::current()) const {
    spawn_closure(loc, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5));
  }
  template <class F, class A1, class A2, class A3, class A4, class A5, class A6>
  void operator()(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, loc_t loc = csp::detail::source_location::current()) const {
    spawn_closure(loc, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6));
  }
  template <class F, class A1, class A2, class A3, class A4, class A5, class A6, class A7>
  void operator()(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7, loc_t loc = csp::detail::source_location::current()) const {
    spawn_closure(loc, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6), std::forward<A7>(a7));
  }
  template <class F, class A1, class A2, class A3, class A4, class A5, class A6, class A7, class A8>
  void operator()(F&& f, A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7, A8&& a8, loc_t loc = csp::detail::source_location::current()) const {
    spawn_closure(loc, std::forward<F>(f), std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6), std::forward<A7>(a7), std::forward<A8>(a8));
  }
};

}  // namespace detail

// go starts a goroutine running f(args...), like Go's `go f(args...)`.
// f and args are decay-copied (as std::thread does) before go returns, so
// the goroutine never refers to the caller's temporaries; capture by
// reference in a lambda to share. Up to eight arguments; for more, use a
// lambda. Any thread.
inline constexpr detail::go_fn go{};

}  // namespace csp
