// csp/runtime.hpp — package runtime: the scheduler's knobs and introspection.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace csp::detail {
bool in_goroutine() noexcept;
// blocking_call runs run(arg) on a helper thread while the calling
// goroutine parks (lib/sched/blocking.cpp). Goroutines only.
void blocking_call(void (*run)(void*) noexcept, void* arg);
}  // namespace csp::detail

namespace csp::runtime {

// gosched yields the worker: the calling goroutine goes to the back of the
// global run queue, as Go's runtime.Gosched. On a plain thread it yields the
// thread.
void gosched();

// num_goroutine returns the number of live user goroutines plus one for the
// main thread, so figures match Go's runtime.NumGoroutine.
int num_goroutine();

// gomaxprocs sets the number of worker threads that run goroutines and
// returns the previous setting; n < 1 only queries. The default is the
// number of CPUs, or the GOMAXPROCS environment variable.
int gomaxprocs(int n = 0);

// dump_goroutines writes one entry per live goroutine: id, state in Go's
// words, how long it has been in that state, and where it was created.
void dump_goroutines(std::ostream& out);

// blocking runs f() on one of the runtime's helper threads while the
// calling goroutine parks (state "syscall"), and returns what f returned
// or rethrows what it threw: for calls that block their thread (file I/O,
// getaddrinfo, a legacy library), which would otherwise stall a worker and
// every goroutine queued on it. Go does this by handing off its P during a
// syscall. At most CSP_BLOCKING_THREADS (default 64) helpers run calls at
// once, started lazily; further calls queue. From a plain thread, blocking
// just calls f() inline. f must not use thread-locals it expects to share
// with the caller.
template <class F>
auto blocking(F&& f) -> std::invoke_result_t<F> {
  using R = std::invoke_result_t<F>;
  if (!detail::in_goroutine()) return std::invoke(std::forward<F>(f));
  using stored = std::conditional_t<std::is_reference_v<R>, std::add_pointer_t<std::remove_reference_t<R>>, R>;
  struct frame {
    std::remove_reference_t<F>* f;
    std::conditional_t<std::is_void_v<R>, char, std::optional<stored>> result;
    std::exception_ptr error;
  } fr{std::addressof(f), {}, nullptr};
  detail::blocking_call(
      [](void* arg) noexcept {
        auto* fp = static_cast<frame*>(arg);
        try {
          if constexpr (std::is_void_v<R>) {
            std::invoke(std::forward<F>(*fp->f));
          } else if constexpr (std::is_reference_v<R>) {
            fp->result.emplace(std::addressof(std::invoke(std::forward<F>(*fp->f))));
          } else {
            fp->result.emplace(std::invoke(std::forward<F>(*fp->f)));
          }
        } catch (...) {
          fp->error = std::current_exception();
        }
      },
      &fr);
  if (fr.error) std::rethrow_exception(fr.error);
  if constexpr (std::is_void_v<R>) {
    return;
  } else if constexpr (std::is_reference_v<R>) {
    return static_cast<R>(**fr.result);
  } else {
    return std::move(*fr.result);
  }
}

}  // namespace csp::runtime
