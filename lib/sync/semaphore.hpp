// semaphore.hpp — the runtime semaphore and notify list under package sync
// (Go's runtime/sema.go: runtime_Semacquire/Semrelease, notifyList).
//
// A semaphore is a 32-bit count in the user's object (sync::mutex::sema_,
// sync::wait_group::sema_, ...); the tasks waiting on it are queued in a
// global table keyed by the count's address, never in the object. The
// table is what makes early destruction safe (API.md: a mutex may be freed
// as soon as the lock() that unlock() released has returned):
//
//   Rule: after a release makes a count or a notification available, the
//   releaser touches only the table (its root lock, its queues, the
//   waiters' stack-resident records), never the object again.
//
// A count can be consumed lock-free by a task that then returns and frees
// the object, so every release does its last write to the object (the
// count) before that, or under the root lock while a waiter that cannot yet
// return proves the object alive.
//
// The notify list (sync::cond) follows the same rule: tickets live in the
// object, waiters in the table, keyed by the address of the object's
// `wait` word.
#pragma once

#include <atomic>
#include <cstdint>

#include "sched/park.hpp"

namespace csp::detail {

// semacquire waits until *addr > 0, then decrements it. With lifo the
// caller queues at the head of addr's waiters instead of the tail (a
// mutex waiter that was already woken once and lost the race; Go's
// queueLifo). A goroutine parks, a plain thread sleeps; `why` shows in
// goroutine dumps. Any thread.
void semacquire(std::atomic<std::uint32_t>* addr, wait_reason why, bool lifo = false) noexcept;

// semrelease adds n to *addr and wakes up to n of its waiters, which then
// compete for the count with tasks arriving meanwhile.
//
// With handoff (n must be 1), the count goes straight to the waiter at the
// head of the queue, which no arriving task can take from it, and a
// goroutine caller yields so the waiter runs soon (Go's semrelease handoff,
// for a starving mutex). With no waiter queued, the count is added as usual.
//
// Per the rule above, semrelease does not touch *addr after adding to it.
// Any thread; never blocks (beyond the short table lock).
void semrelease(std::atomic<std::uint32_t>* addr, std::uint32_t n = 1, bool handoff = false) noexcept;

// can_spin says whether a task that failed to take a busy lock should spin
// (`iter` rounds so far) instead of queueing: only for a few rounds, and
// only where another core could be running the holder (Go's
// sync_runtime_canSpin). spin_once is one round (Go's procyield(30)).
bool can_spin(int iter) noexcept;
void spin_once() noexcept;

// nanotime: a monotonic clock for starvation accounting.
std::int64_t nanotime() noexcept;

// The notify list behind sync::cond (Go's notifyList): `wait` counts the
// tickets handed out, `notify` the tickets already notified. Both words
// live in the cond; the waiters are queued in the semaphore table under
// the address of `wait`.
//
// notify_list_add hands out the next ticket; lock-free. The caller takes it
// while holding its own lock, before releasing it to wait.
std::uint32_t notify_list_add(std::atomic<std::uint32_t>* wait) noexcept;
// notify_list_wait blocks until ticket has been notified (at once if it
// already has been).
void notify_list_wait(std::atomic<std::uint32_t>* wait, std::atomic<std::uint32_t>* notify,
                      std::uint32_t ticket) noexcept;
// notify_list_notify_one notifies the oldest unnotified ticket, waking its
// holder if it is already waiting.
void notify_list_notify_one(std::atomic<std::uint32_t>* wait,
                            std::atomic<std::uint32_t>* notify) noexcept;
// notify_list_notify_all notifies every ticket handed out so far.
void notify_list_notify_all(std::atomic<std::uint32_t>* wait,
                            std::atomic<std::uint32_t>* notify) noexcept;

}  // namespace csp::detail
