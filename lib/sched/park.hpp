// park.hpp — the one waiting primitive (Go's gopark/goready).
//
// Channels, select, sync, timers and I/O all block the same way: record a
// waiter (lib/sched/waiter.hpp) in a queue under that queue's lock, then
// park(), which releases the lock only once the caller can no longer be
// running. A waker takes the same lock (or wins the waiter's claim word by
// CAS), unlinks the waiter, and calls ready() once.
//
// A task is whatever can block: a goroutine (its fiber is switched out and
// its worker runs something else) or a plain OS thread that called into csp
// (it sleeps on a futex). Callers never need to tell them apart.
//
// Contract:
//   - park(why, unlock, arg) returns only after ready(t) was called for this
//     park. There are no spurious returns.
//   - unlock(arg) runs exactly once, after the caller's context is saved
//     (for a goroutine: on the worker's scheduler stack). A waker that needs
//     the lock unlock() releases therefore can never resume a task that is
//     still executing.
//   - ready(t) is called at most once per park, by the one party that won
//     the waiter: under the lock that park released, or by CAS on the
//     waiter's claim word (a select's group, a timer's state).
//   - ready() never blocks and never runs user code: any thread, any time,
//     including with runtime locks held.
#pragma once

#include <cstdint>

namespace csp::detail {

struct task;

// wait_reason: why a task is parked, in the words Go's goroutine dump uses.
enum class wait_reason : std::uint8_t {
  none,
  chan_receive,
  chan_send,
  chan_receive_nil,
  chan_send_nil,
  select,
  select_no_cases,
  sleep,
  io_wait,
  mutex_lock,
  rwmutex_lock,
  rwmutex_rlock,
  wait_group_wait,
  cond_wait,
  semacquire,
  syscall,  // in runtime::blocking: a helper thread runs the call
};

// wait_reason_count: the number of wait_reason values (keep it after the last).
inline constexpr int wait_reason_count = static_cast<int>(wait_reason::semacquire) + 1;

// wait_reason_name returns Go's wording, e.g. "chan receive (nil chan)".
const char* wait_reason_name(wait_reason why) noexcept;

// current_task returns the calling goroutine's task, or the calling
// thread's (created on first use). Never null. Any thread.
task* current_task() noexcept;

// in_goroutine is true when called on a goroutine's stack.
bool in_goroutine() noexcept;

// park blocks the current task until ready() is called for it; see the
// contract above. `unlock` may be null when there is nothing to release
// (then the caller must guarantee by other means that no waker can run
// before the switch completes: use a lock).
void park(wait_reason why, void (*unlock)(void*), void* arg);

// park_unlock parks and releases `lock` (anything with unlock()).
template <class Lock>
void park_unlock(wait_reason why, Lock& lock) {
  park(why, [](void* l) { static_cast<Lock*>(l)->unlock(); }, &lock);
}

// ready makes a parked task runnable. Any thread; never blocks.
void ready(task* t) noexcept;

// fastrand returns a cheap per-worker (or per-thread) pseudo-random number,
// for select's poll order and steal victim choice. Not for cryptography.
std::uint32_t fastrand() noexcept;

// fastrandn returns a number in [0, n) without modulo bias worth noticing.
inline std::uint32_t fastrandn(std::uint32_t n) noexcept {
  return static_cast<std::uint32_t>((std::uint64_t{fastrand()} * n) >> 32);
}

}  // namespace csp::detail
