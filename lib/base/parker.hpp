// parker.hpp — a one-token futex semaphore for a sleeping runtime thread
// (an idle worker, a spare, the monitor).
//
// notify() posts the token (any thread; a second post before the wait is
// one token); wait() consumes it, sleeping until there is one. A waiter
// may find a token left by an earlier notify that it no longer needs:
// callers re-check their own condition after every wake-up.
#pragma once

#include <atomic>
#include <cstdint>

namespace csp::detail {

class parker {
 public:
  void wait() noexcept;  // consumes the token, sleeping until there is one
  // wait_until is wait() bounded by an absolute CLOCK_MONOTONIC deadline
  // (ns): true if it consumed the token, false if the deadline passed.
  bool wait_until(std::int64_t deadline_ns) noexcept;
  [[noreturn]] void wait_forever() noexcept;
  void notify() noexcept;  // posts the token; any thread

 private:
  std::atomic<std::uint32_t> token_{0};
};

}  // namespace csp::detail
