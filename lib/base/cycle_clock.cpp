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

reading::reading() noexcept : now_(now()) {
#if defined(__x86_64__)
  std::int64_t t0 = start_ticks.load(std::memory_order_relaxed);
  std::int64_t dt = now_ - t0;
  std::int64_t dns = mono_ns(CLOCK_MONOTONIC) - start_ns.load(std::memory_order_relaxed);
  if (t0 != 0 && dt > 0 && dns > 0) {
    ns_ = dns;
    ticks_ = dt;
  }
#else
  ns_ = ticks_ = 1;  // ticks are nanoseconds already
#endif
}

std::int64_t reading::ns_since(std::int64_t stamp) const noexcept {
  std::int64_t ticks = now_ - stamp;
  if (ticks_ == 0 || ticks <= 0) return 0;
  return static_cast<std::int64_t>(static_cast<__int128>(ticks) * ns_ / ticks_);
}

}  // namespace csp::detail::cycle_clock
