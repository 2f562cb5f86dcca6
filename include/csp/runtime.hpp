// csp/runtime.hpp — package runtime: the scheduler's knobs and introspection.
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "csp/detail/source_location.hpp"

namespace csp::detail {
bool in_goroutine() noexcept;
// run_main runs body(arg) as goroutine 1 and blocks the calling thread
// until it returns (lib/sched/main_goroutine.cpp).
void run_main(void (*body)(void*), void* arg, const source_location& created_at);
// blocking_call runs run(arg) on a helper thread while the calling
// goroutine parks (lib/sched/blocking.cpp). Goroutines only.
void blocking_call(void (*run)(void*) noexcept, void* arg);
}  // namespace csp::detail

namespace csp {

// run runs f as Go's main goroutine, goroutine 1, on the scheduler, and
// returns when f returns: f's int result, or 0 when f returns void.
//
//   int main() { return csp::run([] { ... }); }
//
// Inside run, f's blocking operations park like any goroutine's, so a
// collector loop in f costs what it costs in Go, where the same loop on the
// plain main thread sleeps and wakes a thread per item. Goroutines still
// running when run returns are abandoned, as when main returns. An
// exception escaping f is Go's panic in main: stdout and stderr are
// flushed, "panic: <what()>" and "goroutine 1 [running]" plus the dump of
// the others go to stderr, and the process exits with status 2. From a
// goroutine, run just calls f.
template <class F>
int run(F&& f, const detail::source_location& loc = detail::source_location::current()) {
  static_assert(std::is_invocable_v<F&>, "csp::run: f must be callable with no arguments");
  using R = std::invoke_result_t<F&>;
  static_assert(std::is_void_v<R> || std::is_convertible_v<R, int>,
                "csp::run: f must return void or something convertible to int");
  struct frame {
    std::remove_reference_t<F>* f;
    int result;
  } fr{std::addressof(f), 0};
  auto body = [](void* arg) {
    auto* fp = static_cast<frame*>(arg);
    if constexpr (std::is_void_v<R>) std::invoke(*fp->f);
    else fp->result = static_cast<int>(std::invoke(*fp->f));
  };
  if (detail::in_goroutine()) body(&fr);
  else detail::run_main(body, &fr, loc);
  return fr.result;
}

}  // namespace csp

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
// Goroutines that leaked_goroutines() reports are marked in the dump with a
// line "leaked: ...".
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

// reason_counts: a count per wait reason, by the goroutine dump's words.
// A short list rather than a std::map, which <csp/go.hpp> would otherwise
// have to include for this one field.
class reason_counts {
 public:
  // entry is one reason's name and count.
  using entry = std::pair<std::string, std::uint64_t>;
  // operator[] returns the count for `reason` ("chan receive", "select",
  // ...): 0 for a reason never seen.
  std::uint64_t operator[](std::string_view reason) const noexcept {
    for (const entry& e : entries_)
      if (e.first == reason) return e.second;
    return 0;
  }
  // begin/end iterate over the reasons seen, in the order of Go's
  // wait reasons, as (name, count) pairs.
  std::vector<entry>::const_iterator begin() const noexcept { return entries_.begin(); }
  std::vector<entry>::const_iterator end() const noexcept { return entries_.end(); }
  // size is the number of reasons seen.
  std::size_t size() const noexcept { return entries_.size(); }
  // add counts n more parks for `reason` (runtime::stats() fills it).
  void add(std::string_view reason, std::uint64_t n) {
    for (entry& e : entries_) {
      if (e.first == reason) {
        e.second += n;
        return;
      }
    }
    entries_.emplace_back(std::string(reason), n);
  }

 private:
  std::vector<entry> entries_;
};

// scheduler_stats: counters since the runtime started, summed over workers
// and plain threads (a snapshot: each counter may be a few events behind).
struct scheduler_stats {
  std::uint64_t goroutines_created = 0;   // go() calls
  std::uint64_t goroutines_exited = 0;    // goroutines that finished
  std::uint64_t context_switches = 0;     // goroutines switched in on a worker
  std::uint64_t steals = 0;               // work taken from another worker's queues
  std::uint64_t global_queue_pushes = 0;  // goroutines put on the global run queue
  std::uint64_t wakeups = 0;              // parked tasks made runnable (ready), creations excluded
  std::uint64_t parks = 0;                // tasks (goroutines and threads) that blocked
  // slot_retakes: worker slots the monitor moved to another thread because
  // the thread had run one goroutine too long while work waited (Go's
  // sysmon retake; docs/runtime.md, "The monitor").
  std::uint64_t slot_retakes = 0;
  std::uint64_t worker_threads = 0;       // worker threads started, spares included
  // parks_by_reason: parks per reason, in the goroutine dump's words
  // ("chan receive", "select", "sleep", "sync.Mutex.Lock", ...); reasons
  // never seen are absent (and read as 0).
  reason_counts parks_by_reason;
};

// stats returns the scheduler's counters. Cheap to keep: each worker counts
// in its own worker struct with plain stores (docs/trace.md gives the cost).
scheduler_stats stats();

// leaked_goroutine: a goroutine that can never run again (see
// leaked_goroutines()).
struct leaked_goroutine {
  // id is the goroutine's id, as in dump_goroutines.
  std::uint64_t id;
  detail::source_location created_at;  // std::source_location with g++
  std::string wait_reason;  // "chan receive", "chan send" or "select"
};

// leaked_goroutines returns the goroutines blocked forever on channels that
// no other task can still operate on: every remaining handle to each channel
// they wait on is held by such blocked goroutines' own closures (Go 1.26's
// goroutine leak report, without a garbage collector). It never reports a
// goroutine that could still be woken; it may miss some leaks. What it
// cannot see is in docs/leaks.md. With CSP_LEAKCHECK=1 in the environment
// the report is printed to stderr when main returns.
std::vector<leaked_goroutine> leaked_goroutines();

}  // namespace csp::runtime
