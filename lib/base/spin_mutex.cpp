#include "base/spin_mutex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cpu_relax.hpp"

namespace csp::detail {

namespace {
// Spin this many rounds before sleeping: about a microsecond on current
// x86, longer than a typical hold and shorter than a futex round trip (~2 µs
// of system calls on the reference VM).
constexpr int spin_rounds = 64;

void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), FUTEX_WAIT_PRIVATE, expected,
            nullptr, nullptr, 0);
}
}  // namespace

void spin_mutex::lock_slow() noexcept {
  for (int i = 0; i < spin_rounds; ++i) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if (s == 0 && state_.compare_exchange_weak(s, 1, std::memory_order_acquire,
                                               std::memory_order_relaxed))
      return;
    cpu_relax();
  }
  // Mark "maybe sleepers" so the holder's unlock() issues a wake-up.
  while (state_.exchange(2, std::memory_order_acquire) != 0) futex_wait(&state_, 2);
}

void spin_mutex::wake_one() noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

}  // namespace csp::detail
