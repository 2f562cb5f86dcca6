#include "base/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace csp::detail {

namespace {

std::uint32_t* word(std::atomic<std::uint32_t>* addr) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return reinterpret_cast<std::uint32_t*>(addr);
}

}  // namespace

void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, word(addr), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

bool futex_wait_until(std::atomic<std::uint32_t>* addr, std::uint32_t expected,
                      std::int64_t deadline_ns) noexcept {
  timespec ts{static_cast<time_t>(deadline_ns / 1'000'000'000),
              static_cast<long>(deadline_ns % 1'000'000'000)};
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
  // spurious or EINTR return retries without recomputing a timeout.
  const long r = ::syscall(SYS_futex, word(addr), FUTEX_WAIT_BITSET_PRIVATE, expected, &ts, nullptr,
                           FUTEX_BITSET_MATCH_ANY);
  return !(r != 0 && errno == ETIMEDOUT);
}

void futex_wake(std::atomic<std::uint32_t>* addr, int n) noexcept {
  ::syscall(SYS_futex, word(addr), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

}  // namespace csp::detail
