#include "base/spin_mutex.hpp"

#include "base/lock_backoff.hpp"
#include "base/futex.hpp"
#include "debug/fatal.hpp"

namespace csp::detail {

void spin_mutex::lock_slow() noexcept {
  // Spin while the holder is likely running (lib/base/lock_backoff.hpp), then
  // sleep in futex(2).
  if (spin_with_backoff([this] {
        std::uint32_t s = state_.load(std::memory_order_relaxed);
        return s == 0 && state_.compare_exchange_weak(s, 1, std::memory_order_acquire,
                                                      std::memory_order_relaxed);
      }))
    return;
  // In a fork() child the holder may be a thread that no longer exists:
  // say so rather than sleep forever (debug/fatal.hpp).
  fatal_if_forked_away();
  // Mark "maybe sleepers" so the holder's unlock() issues a wake-up.
  while (state_.exchange(2, std::memory_order_acquire) != 0) futex_wait(&state_, 2);
}

void spin_mutex::wake_one() noexcept { futex_wake(&state_, 1); }

}  // namespace csp::detail
