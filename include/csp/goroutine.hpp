// csp/goroutine.hpp — the go statement.
#pragma once

#include <functional>
#include <new>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <utility>

#include "csp/detail/spawn.hpp"

namespace csp {

// go starts a goroutine running f(args...), like Go's `go f(args...)`.
// f and args are decay-copied (as std::thread does) before go returns, so
// the goroutine never refers to the caller's temporaries; capture by
// reference in a lambda to share. go is a class template only so that it
// can record the caller's source location after a parameter pack; use it as
// a function: `go(worker, id, jobs);`, `go([&]{ ... });`.
template <class F, class... Args>
struct go {
  explicit go(F&& f, Args&&... args,
              const std::source_location& loc = std::source_location::current()) {
    using closure = std::tuple<std::decay_t<F>, std::decay_t<Args>...>;
    void* storage = nullptr;
    detail::goroutine* g = detail::new_goroutine(sizeof(closure), alignof(closure), &storage, loc);
    try {
      ::new (storage) closure(std::forward<F>(f), std::forward<Args>(args)...);
    } catch (...) {
      detail::discard_goroutine(g);
      throw;
    }
    detail::start_goroutine(
        g,
        [](void* p) {
          closure& c = *static_cast<closure*>(p);
          struct destroy_at_exit {
            closure& c;
            ~destroy_at_exit() { c.~closure(); }
          } guard{c};
          std::apply([](auto& fn, auto&... a) { std::invoke(std::move(fn), std::move(a)...); }, c);
        },
        [](void* p) noexcept { static_cast<closure*>(p)->~closure(); });
  }
};
template <class F, class... Args>
go(F&&, Args&&...) -> go<F, Args...>;

}  // namespace csp
