// sampled_clock.hpp — the time as the monitor last read it, for stamps that
// only diagnostics read: when a goroutine or thread parked, for the dump's
// "[chan receive, 3 minutes]". Go's sysmon has the same economy: the hot
// path records nothing a clock would have to give it.
//
// Every park stamps its task; a clock read there, the hottest path there is,
// cost 12.8 ns (rdtsc on the reference VM; CLOCK_MONOTONIC 27 ns) and is
// read almost never. The monitor (monitor.cpp) publishes CLOCK_MONOTONIC at
// each of its periods (10 ms) while it runs, and 0 before it sleeps; a
// stamp is then one relaxed load of a line written every 10 ms, and, only
// while the monitor sleeps (no slot has been busy for 50 ms), a coarse
// clock read (a few ns, vDSO).
//
// Accuracy: a stamp is at most one monitor period early (more if the OS
// keeps the monitor off the CPU), never late; the dump rounds waits to
// milliseconds and seconds. Running goroutines' stalls are measured from
// the monitor's samples of each worker's schedule count instead (dump.cpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "base/mono_clock.hpp"

namespace csp::detail::sampled_clock {

// published: the monitor's last reading (CLOCK_MONOTONIC ns), or 0 while it
// does not sample. relaxed everywhere: a reading may be up to a period old
// by design, and a stale 0 only costs a coarse read.
inline std::atomic<std::int64_t> published{0};

// now is the stamp: CLOCK_MONOTONIC nanoseconds, up to a period early.
inline std::int64_t now() noexcept {
  const std::int64_t t = published.load(std::memory_order_relaxed);
  return t != 0 ? t : coarse_now_ns();
}

// publish is the monitor's: `t` (a mono_now_ns() reading), or 0 before it
// stops sampling.
inline void publish(std::int64_t t) noexcept { published.store(t, std::memory_order_relaxed); }

}  // namespace csp::detail::sampled_clock
