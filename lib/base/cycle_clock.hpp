// cycle_clock.hpp — cheap timestamps for fields only diagnostics read.
//
// A goroutine records when it parked so that a dump can say "[chan
// receive, 3 minutes]". That stamp is taken on every park, the hottest
// path there is, and read almost never; a clock_gettime there cost ~4% of a
// channel ping-pong. So the stamp is the CPU's time-stamp counter (one
// instruction on x86-64, where the TSC is invariant on every CPU this runs
// on), converted to nanoseconds only when a dump reads it, against a
// reference pair taken at start-up. Elsewhere it is CLOCK_MONOTONIC_COARSE.
#pragma once

#include <cstdint>

namespace csp::detail::cycle_clock {
#if !defined(__x86_64__)
std::int64_t coarse_ticks() noexcept;
#endif
}  // namespace csp::detail::cycle_clock

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace csp::detail::cycle_clock {

// now is a stamp in ticks: comparable with other stamps, not with clocks.
inline std::int64_t now() noexcept {
#if defined(__x86_64__)
  return static_cast<std::int64_t>(__rdtsc());
#else
  return coarse_ticks();
#endif
}

// start records the reference pair a reading scales against. It runs when
// the library is loaded; calling it again only moves the reference.
void start() noexcept;

// reading is the clock read once, for converting stamps to "nanoseconds
// ago": a dump converts one stamp per goroutine, and one reading serves
// them all (taking it costs a clock_gettime). Async-signal-safe (dumps run
// in a SIGQUIT handler).
class reading {
 public:
  reading() noexcept;
  // ns_since is how long ago `stamp` (a now()) was, in nanoseconds; 0 for
  // a stamp from the future or before the reference pair exists.
  std::int64_t ns_since(std::int64_t stamp) const noexcept;

 private:
  std::int64_t now_;
  std::int64_t ns_ = 0;     // nanoseconds and ticks since the reference
  std::int64_t ticks_ = 0;  // pair: the rate; ticks_ == 0 means unknown
};

}  // namespace csp::detail::cycle_clock
