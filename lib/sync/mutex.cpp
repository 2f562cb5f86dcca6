// mutex.cpp — sync::mutex, Go's sync.Mutex (src/sync/mutex.go) in C++.
//
// state_ = locked | woken | starving | waiters << 3 (csp/sync.hpp), and the
// waiters block in semacquire(&sema_).
//
// Invariants:
//   - waiters counts tasks that registered in state_ and have not yet been
//     released by an unlock (they are queued in the semaphore table, or on
//     their way there). Each release of a waiter (unlock_slow's CAS that
//     drops the count, or a starving waiter's own decrement when it takes
//     the handoff) pairs with exactly one semrelease of sema_.
//   - woken is set while a waiter is awake and competing (spinning, or just
//     released by unlock); unlock wakes no one else meanwhile. Only the task
//     that set it (or was woken with it set) clears it.
//   - starving: locked is never set by an arrival; unlock passes ownership
//     to the head waiter through semrelease(handoff), and that waiter sets
//     locked itself (state_ keeps locked clear in between, so arrivals see
//     a free-looking but starving mutex and queue).
//
// Lifetime (API.md): the last thing unlock() does to the object is the
// semrelease of sema_, whose last touch is the count itself (semaphore.hpp);
// the waiter it releases cannot return before that.
//
// Memory orders: every RMW that sets locked acquires and every one that
// clears it releases; all RMWs on state_ continue the release sequence, so
// a waiter that takes the lock after any number of intermediate CASes
// still synchronizes with the previous holder's unlock.
#include <csp/panic.hpp>
#include <csp/sync.hpp>

#include "debug/fatal.hpp"
#include "sched/park.hpp"
#include "sync/semaphore.hpp"

namespace csp::sync {

namespace {
// Go's starvationThresholdNs: a waiter that waited this long makes the
// mutex fair. 1 ms is long next to a critical section and a context switch,
// short next to anything a user would call a stall.
constexpr std::int64_t starvation_threshold_ns = 1'000'000;
}  // namespace

bool mutex::try_lock() noexcept {
  std::int32_t old = state_.load(std::memory_order_relaxed);
  // A starving mutex is promised to its head waiter.
  if ((old & (locked_bit | starving_bit)) != 0) return false;
  // A waiter may be about to wake; we are running now and may take the
  // lock before it does, as Go's TryLock. acquire; pairs with unlock's release.
  return state_.compare_exchange_strong(old, old | locked_bit, std::memory_order_acquire,
                                        std::memory_order_relaxed);
}

void mutex::lock_slow() {
  std::int64_t wait_start = 0;  // nanotime of our first queueing; 0 = never queued
  bool starving = false;        // we have waited longer than the threshold
  bool awoke = false;           // we own the woken bit
  int iter = 0;
  std::int32_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    // Spin only while the mutex is held in normal mode: in starvation mode
    // ownership goes to the queue's head, so spinning cannot win it.
    if ((old & (locked_bit | starving_bit)) == locked_bit && detail::can_spin(iter)) {
      // Set woken so the unlocker does not wake a sleeper we would compete with.
      if (!awoke && (old & woken_bit) == 0 && (old >> waiter_shift) != 0 &&
          state_.compare_exchange_strong(old, old | woken_bit, std::memory_order_relaxed)) {
        awoke = true;
      }
      detail::spin_once();
      ++iter;
      old = state_.load(std::memory_order_relaxed);
      continue;
    }
    std::int32_t next = old;
    // Arrivals never take a starving mutex: it is handed over.
    if ((old & starving_bit) == 0) next |= locked_bit;
    if ((old & (locked_bit | starving_bit)) != 0) next += 1 << waiter_shift;
    // Switch to starvation mode, but only if the mutex is still locked:
    // unlock expects waiters when starving, and a free mutex has none to hand to.
    if (starving && (old & locked_bit) != 0) next |= starving_bit;
    if (awoke) {
      // We are woken (or spun with woken set); either way the flag is ours to clear.
      if ((next & woken_bit) == 0) CSP_FATAL("sync: inconsistent mutex state");
      next &= ~woken_bit;
    }
    // acq_rel: acquire when this sets locked (we own the mutex), release
    // keeps the release sequence intact for the next owner.
    if (!state_.compare_exchange_weak(old, next, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
      continue;  // old reloaded by the failed CAS
    }
    if ((old & (locked_bit | starving_bit)) == 0) return;  // took the free mutex
    // We registered as a waiter. One that has waited before goes to the
    // front of the queue: it lost to an arrival and has waited longest.
    bool lifo = wait_start != 0;
    if (wait_start == 0) wait_start = detail::nanotime();
    detail::semacquire(&sema_, detail::wait_reason::mutex_lock, lifo);
    starving = starving || detail::nanotime() - wait_start > starvation_threshold_ns;
    old = state_.load(std::memory_order_acquire);
    if ((old & starving_bit) != 0) {
      // Handed to us: the mutex is ours though locked is clear, and we are
      // still counted in waiters.
      if ((old & (locked_bit | woken_bit)) != 0 || (old >> waiter_shift) == 0)
        CSP_FATAL("sync: inconsistent mutex state");
      std::int32_t delta = locked_bit - (1 << waiter_shift);
      // Leave starvation mode if we did not starve, or if we are the last
      // waiter: otherwise two tasks alternating on the lock would keep it in
      // the slow, handing-off mode for good (Go's comment).
      if (!starving || (old >> waiter_shift) == 1) delta -= starving_bit;
      // acq_rel: acquire pairs with the previous owner's release in unlock.
      state_.fetch_add(delta, std::memory_order_acq_rel);
      return;
    }
    // Normal mode: we were woken to compete (with woken set for us).
    awoke = true;
    iter = 0;
  }
}

void mutex::unlock_slow() {
  // Clear locked with a CAS loop rather than Go's blind add, so that the
  // misuse panic leaves the state as it was (the caller may catch it).
  std::int32_t old = state_.load(std::memory_order_relaxed);
  std::int32_t now;
  for (;;) {
    if ((old & locked_bit) == 0) throw csp::panic("sync: unlock of unlocked mutex");
    now = old - locked_bit;
    // release; pairs with the acquire of the next owner's CAS/fetch_add.
    if (state_.compare_exchange_weak(old, now, std::memory_order_release,
                                     std::memory_order_relaxed))
      break;
  }
  if ((now & starving_bit) != 0) {
    // Starvation mode: hand ownership to the head waiter. It sets locked
    // itself; until then arrivals see starving and queue.
    detail::semrelease(&sema_, 1, /*handoff=*/true);
    return;
  }
  old = now;
  for (;;) {
    // Nothing to do if there are no waiters, or someone else will deal with
    // them: the mutex was re-locked, a waiter is already awake, or the mode
    // switched to starving (then the next unlock hands off).
    if ((old >> waiter_shift) == 0 || (old & (locked_bit | woken_bit | starving_bit)) != 0) return;
    // Take one waiter off the count and mark it woken, then release it.
    std::int32_t next = (old - (1 << waiter_shift)) | woken_bit;
    // relaxed: no data is handed over here (the woken waiter still has to
    // take locked, which acquires); the semaphore orders the wake-up.
    if (state_.compare_exchange_weak(old, next, std::memory_order_relaxed)) {
      detail::semrelease(&sema_, 1, /*handoff=*/false);
      return;
    }
  }
}

}  // namespace csp::sync
