#include "base/mono_clock.hpp"

#include <time.h>

namespace csp::detail {

namespace {

std::int64_t read(clockid_t clock) noexcept {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

std::int64_t mono_now_ns() noexcept { return read(CLOCK_MONOTONIC); }

std::int64_t coarse_now_ns() noexcept { return read(CLOCK_MONOTONIC_COARSE); }

std::int64_t coarse_resolution_ns() noexcept {
  timespec ts{};
  ::clock_getres(CLOCK_MONOTONIC_COARSE, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace csp::detail
