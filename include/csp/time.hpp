// csp/time.hpp — Go's time package: sleep, after, tick, timer, ticker,
// after_func.
//
// Timers live in the runtime (lib/time/timer_heap.hpp): a sleeping
// goroutine occupies no worker, and an idle runtime sleeps until the next
// deadline. Every call works from plain threads too: time::sleep on a
// plain thread sleeps that thread, after(d).recv() from main blocks main.
//
// Go 1.23's rules hold: a timer's channel has a one-value buffer that
// stop() and reset() drain, so no value from before the call is received
// after it returns; and a timer or ticker that nobody can receive from any
// more (no handle and no copy of its channel) is released even if it was
// never stopped, so `select(recv(ch), recv(time::after(1h)))` in a loop
// keeps memory flat.
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <cstdint>
#include <functional>
#include <utility>

#include "csp/detail/chrono.hpp"  // <chrono> without its I/O
#include "csp/chan.hpp"
#include "csp/detail/source_location.hpp"

namespace csp::detail {

struct timer_node;

// The facade's entry points (lib/time/time.cpp). Durations and deadlines
// are CLOCK_MONOTONIC nanoseconds (steady_clock's clock).
void time_sleep_ns(std::int64_t d) ;
// timer_start_chan makes c (a fresh cap-1 chan<time_point>, not yet shared)
// the channel of a new timer firing at now+d (then every `period` if > 0)
// and returns the new timer with one reference for the caller.
timer_node* timer_start_chan(chan_core* c, std::int64_t d, std::int64_t period);
// timer_start_func: f runs in a goroutine d from now; the dump shows it
// created at `created_at` (the user's after_func call, not the timer heap).
timer_node* timer_start_func(std::function<void()> f, std::int64_t d,
                             const source_location& created_at);
// timer_stop: true if it stopped a pending fire (Go's Stop).
bool timer_stop(timer_node* t) noexcept;
// timer_reset re-arms at now+d (period: the ticker's new period, 0 for a
// timer); true if the timer was pending (Go's Reset).
bool timer_reset(timer_node* t, std::int64_t d, std::int64_t period) noexcept;
void timer_retain(timer_node* t) noexcept;
void timer_release(timer_node* t) noexcept;
// live_timers counts timers (and tickers, after_func timers) not yet
// released: for tests that check Go 1.23's collection rule.
std::int64_t live_timers() noexcept;

// to_ns converts a duration to nanoseconds, saturating (hours::max() is
// "never", not an overflow).
template <class Rep, class Period>
constexpr std::int64_t to_ns(std::chrono::duration<Rep, Period> d) noexcept {
  using ns = std::chrono::duration<long double, std::nano>;
  long double v = std::chrono::duration_cast<ns>(d).count();
  if (v >= 4.0e18L) return 4'000'000'000'000'000'000;  // ~126 years: never, in practice
  if (v <= -4.0e18L) return -4'000'000'000'000'000'000;
  auto n = static_cast<std::int64_t>(v);
  return (static_cast<long double>(n) < v) ? n + 1 : n;  // round up: never fire early
}

// timer_ref holds one reference to a timer node (copy = same timer, as a
// copied *time.Timer in Go).
class timer_ref {
 public:
  timer_ref() noexcept = default;
  explicit timer_ref(timer_node* adopt) noexcept : t_(adopt) {}
  timer_ref(const timer_ref& o) noexcept : t_(o.t_) { if (t_) timer_retain(t_); }
  timer_ref(timer_ref&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  timer_ref& operator=(timer_ref o) noexcept {
    std::swap(t_, o.t_);
    return *this;
  }
  ~timer_ref() { if (t_) timer_release(t_); }
  timer_node* get() const noexcept { return t_; }

 private:
  timer_node* t_ = nullptr;
};

struct timer_access;  // after_func's way to a timer's private constructor

}  // namespace csp::detail

namespace csp::time {

// clock is the monotonic clock every time in csp is read from.
using clock = std::chrono::steady_clock;
// time_point: what timers send and deadlines are (Go's time.Time, monotonic part).
using time_point = clock::time_point;
using duration = clock::duration;

// now is the current time (Go's time.Now, monotonic part).
inline time_point now() noexcept { return clock::now(); }

// sleep pauses the caller for at least d (Go's time.Sleep). A goroutine
// parks (its worker runs others); a plain thread sleeps. d <= 0 returns at once.
template <class Rep, class Period>
void sleep(std::chrono::duration<Rep, Period> d) {
  detail::time_sleep_ns(detail::to_ns(d));
}

// until returns how long from now to tp (negative if tp has passed).
inline duration until(time_point tp) noexcept { return tp - now(); }

// timer is Go's *time.Timer: `c` receives the time of the fire. A copy of a
// timer is the same timer. Destroying every handle does not stop it: it
// fires while its channel is referenced and is released once neither a
// handle nor a copy of `c` remains.
class timer {
 public:
  // timer{d} fires once, d from now (Go's time.NewTimer).
  template <class Rep, class Period>
  explicit timer(std::chrono::duration<Rep, Period> d) : timer(detail::to_ns(d), 0) {}

  recv_only<time_point> c;  // nil for a timer made by after_func

  // stop prevents the fire; true if it did (the timer was pending, or its
  // value had not been received yet: that value is discarded), false if
  // it had already fired and been received, or was stopped.
  bool stop() noexcept { return detail::timer_stop(node_.get()); }
  // reset re-arms the timer to fire d from now, discarding an unreceived
  // value; true if the timer was pending (as stop() would have said).
  template <class Rep, class Period>
  bool reset(std::chrono::duration<Rep, Period> d) noexcept {
    return detail::timer_reset(node_.get(), detail::to_ns(d), 0);
  }

 private:
  friend class ticker;
  friend struct detail::timer_access;
  timer(std::int64_t d, std::int64_t period) {
    chan<time_point> ch = make_chan<time_point>(1);
    node_ = detail::timer_ref(detail::timer_start_chan(ch.core(), d, period));
    c = std::move(ch);
  }
  timer(detail::timer_node* adopt) noexcept : node_(adopt) {}

  detail::timer_ref node_;
};

// ticker is Go's *time.Ticker: `c` receives a time every period; a slow
// receiver loses ticks (the channel holds one) rather than falling behind.
class ticker {
 public:
  // ticker{d} panics unless d > 0 ("non-positive interval for NewTicker").
  template <class Rep, class Period>
  explicit ticker(std::chrono::duration<Rep, Period> d) : ticker(detail::to_ns(d)) {}

  // c receives the ticks (Go's Ticker.C).
  recv_only<time_point> c;

  // stop turns the ticker off; no tick is received after it returns.
  void stop() noexcept { detail::timer_stop(node_.get()); }
  // reset stops the ticker and restarts it with period d (panics unless d > 0).
  template <class Rep, class Period>
  void reset(std::chrono::duration<Rep, Period> d) {
    std::int64_t ns = detail::to_ns(d);
    check(ns, "non-positive interval for Ticker.Reset");
    detail::timer_reset(node_.get(), ns, ns);
  }

 private:
  explicit ticker(std::int64_t d);
  static void check(std::int64_t d, const char* msg);
  detail::timer_ref node_;
};

// after returns a channel that receives the time once, d from now
// (Go's time.After). Released when nobody references the channel.
template <class Rep, class Period>
recv_only<time_point> after(std::chrono::duration<Rep, Period> d) {
  chan<time_point> ch = make_chan<time_point>(1);
  detail::timer_release(detail::timer_start_chan(ch.core(), detail::to_ns(d), 0));
  return ch;
}

// tick returns a ticker's channel with no way to stop it (Go's time.Tick);
// nil if d <= 0. Released once the channel is no longer referenced.
template <class Rep, class Period>
recv_only<time_point> tick(std::chrono::duration<Rep, Period> d) {
  std::int64_t ns = detail::to_ns(d);
  if (ns <= 0) return nullptr;
  chan<time_point> ch = make_chan<time_point>(1);
  detail::timer_release(detail::timer_start_chan(ch.core(), ns, ns));
  return ch;
}

// after_func runs f in its own goroutine d from now (Go's time.AfterFunc);
// the returned timer's stop() cancels it (true if f had not started) and
// reset(d) schedules f again. f runs whether or not the handle is kept.
// The goroutine is reported (dumps, panics) as created where after_func
// was called.
template <class F>
timer after_func(duration d, F&& f,
                 const detail::source_location& loc = detail::source_location::current());

}  // namespace csp::time

namespace csp::detail {
struct timer_access {
  static time::timer adopt(timer_node* t) noexcept { return time::timer(t); }
};
}  // namespace csp::detail

namespace csp::time {
template <class F>
timer after_func(duration d, F&& f, const detail::source_location& loc) {
  return detail::timer_access::adopt(
      detail::timer_start_func(std::function<void()>(std::forward<F>(f)), detail::to_ns(d), loc));
}
}  // namespace csp::time
