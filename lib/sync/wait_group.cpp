// wait_group.cpp — sync::wait_group, Go's sync.WaitGroup (src/sync/waitgroup.go).
//
// state_ = counter << 32 | waiters; waiters block in semacquire(&sema_).
//
// Invariants:
//   - waiters > 0 only while counter > 0: wait() registers (CAS) only when
//     it sees a positive counter, and the add() that brings the counter to
//     zero resets the whole word to 0 before releasing them.
//   - Between that reset and the last released wait() returning, state_
//     stays 0 unless the group is misused (reused too early), which each
//     released wait() checks.
//
// Lifetime (API.md: "wait group on main's stack"): the releasing add()
// touches the object for the last time in its single semrelease, which
// adds every waiter's count at once and then touches only the semaphore
// table (Go's loop of one semrelease per waiter would touch the object
// after the first waiter could already have returned).
//
// Memory orders: every add is an acq_rel RMW, so the add that reaches zero
// has acquired every earlier done(); its semrelease (seq_cst) hands that to
// the waiters, and wait()'s acquire load does the same for a wait() that
// finds the counter already zero.
#include <csp/panic.hpp>
#include <csp/sync.hpp>

#include "sched/park.hpp"
#include "sync/semaphore.hpp"

namespace csp::sync {

void wait_group::add(int delta) {
  std::uint64_t state =
      state_.fetch_add(static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)) << 32,
                       std::memory_order_acq_rel) +
      (static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)) << 32);
  auto v = static_cast<std::int32_t>(state >> 32);
  auto w = static_cast<std::uint32_t>(state);
  if (v < 0) {
    // Undo first, so the panic leaves the counter as it was: the caller
    // may catch it, and ~wait_group must not see a group in use.
    state_.fetch_sub(static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)) << 32,
                     std::memory_order_relaxed);
    throw csp::panic("sync: negative WaitGroup counter");
  }
  // A first add (the counter was zero) that finds waiters registered: it
  // raced with the add that released them, before that one reset state_.
  if (w != 0 && delta > 0 && v == delta)
    throw csp::panic("sync: WaitGroup misuse: Add called concurrently with Wait");
  if (v > 0 || w == 0) return;
  // We brought the counter to zero with waiters registered. Now nothing
  // else may change state_: adds must not race with wait, and wait does not
  // register once it sees zero. Cheap check for misuse anyway.
  if (state_.load(std::memory_order_relaxed) != state)
    throw csp::panic("sync: WaitGroup misuse: Add called concurrently with Wait");
  // Reset waiters to zero before releasing them (they check it), then
  // release them all at once: our last touch of the object.
  state_.store(0, std::memory_order_relaxed);  // ordered before the waiters by semrelease
  detail::semrelease(&sema_, w);
}

void wait_group::wait() {
  // acquire; pairs with the acq_rel adds, so a wait() that sees zero has
  // every done()'s effects.
  std::uint64_t state = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((state >> 32) == 0) return;  // counter is zero: nothing to wait for
    // Register as a waiter. acq_rel on success is more than needed (the
    // release we wait for reaches us through the semaphore); acquire on
    // failure because the reloaded state may show zero, as the load above.
    if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      detail::semacquire(&sema_, detail::wait_reason::wait_group_wait);
      // The releasing add() reset state_ to 0 before waking us; anything
      // else is a new round started before this wait() returned.
      if (state_.load(std::memory_order_relaxed) != 0)
        throw csp::panic("sync: WaitGroup is reused before previous Wait has returned");
      return;
    }
  }
}

}  // namespace csp::sync
