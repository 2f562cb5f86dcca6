// cycle_clock.cpp — see cycle_clock.hpp.
#include "base/cycle_clock.hpp"

#include <time.h>

#include <atomic>

namespace csp::detail::cycle_clock {

namespace {

std::int64_t mono_ns(clockid_t id) noexcept {
  timespec ts;
  clock_gettime(id, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The reference pair; written once by start() before workers run,
// relaxed: read by dumps, which tolerate a missing pair (they print 0).
std::atomic<std::int64_t> start_ticks{0};
std::atomic<std::int64_t> start_ns{0};

}  // namespace

#if !defined(__x86_64__)
std::int64_t coarse_ticks() noexcept { return mono_ns(CLOCK_MONOTONIC_COARSE); }
#endif

void start() noexcept {
  start_ns.store(mono_ns(CLOCK_MONOTONIC), std::memory_order_relaxed);
  start_ticks.store(now(), std::memory_order_relaxed);
}

namespace {
// Taken when the library is loaded: before main, so before anything parks.
[[maybe_unused]] const bool started = (start(), true);
}  // namespace

std::int64_t to_ns(std::int64_t ticks) noexcept {
#if defined(__x86_64__)
  std::int64_t dt = now() - start_ticks.load(std::memory_order_relaxed);
  std::int64_t dns = mono_ns(CLOCK_MONOTONIC) - start_ns.load(std::memory_order_relaxed);
  if (start_ticks.load(std::memory_order_relaxed) == 0 || dt <= 0 || dns <= 0 || ticks <= 0) return 0;
  return static_cast<std::int64_t>(static_cast<__int128>(ticks) * dns / dt);
#else
  return ticks;  // already nanoseconds
#endif
}

}  // namespace csp::detail::cycle_clock
