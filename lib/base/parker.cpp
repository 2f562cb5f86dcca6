#include "base/parker.hpp"

#include "base/futex.hpp"

namespace csp::detail {

void parker::wait() noexcept {
  // acquire; pairs with the release exchange in notify(): what the notifier
  // wrote before waking us is visible.
  while (token_.exchange(0, std::memory_order_acquire) == 0) futex_wait(&token_, 0);
}

bool parker::wait_until(std::int64_t deadline_ns) noexcept {
  for (;;) {
    // acquire; pairs with the release exchange in notify(), as in wait().
    if (token_.exchange(0, std::memory_order_acquire) != 0) return true;
    if (!futex_wait_until(&token_, 0, deadline_ns))
      return token_.exchange(0, std::memory_order_acquire) != 0;  // a notify may have raced the timeout
  }
}

void parker::wait_forever() noexcept {
  std::atomic<std::uint32_t> never{0};
  for (;;) futex_wait(&never, 0);
}

void parker::notify() noexcept {
  if (token_.exchange(1, std::memory_order_release) == 0) futex_wake(&token_, 1);
}

}  // namespace csp::detail
