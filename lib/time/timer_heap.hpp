// timer_heap.hpp — the runtime's timers (Go's runtime/time.go).
//
// One process-wide 4-ary min-heap of armed timers, ordered by `when`
// (CLOCK_MONOTONIC ns, the clock std::chrono::steady_clock reads), under one
// spin_mutex, plus an atomic copy of the earliest deadline so that the
// scheduler can ask "is anything due?" with one relaxed load.
//
// Who runs timers: workers, on their scheduler stack (g0), in
// find_runnable() (a cheap check every schedule) and in go_idle() (a full
// check before sleeping). One idle worker, the timer sleeper, sleeps on its
// futex until the earliest deadline; every other idle worker sleeps without
// a timeout. Arming a timer earlier than the sleeper's deadline wakes it
// (scheduler::timer_armed). See lib/sched/scheduler.hpp for the idle side.
//
// Invariants (with mu held):
//   - t->heap_index >= 0 exactly when t is in the heap (armed); then
//     heap_[t->heap_index] == t, and the heap holds one reference to t
//     (refcounted kinds) and one count in pending_wakers.
//   - next_deadline == heap_[0]->when, or never_ when the heap is empty.
//   - A chan timer in the heap has a live channel (t->ch != null): the
//     channel's destroy hook takes the timer out of the heap, under mu,
//     before the channel's memory goes.
//
// Claiming a fire: taking a timer out of the heap under mu is the claim.
// run_due pops it (or re-queues a periodic one) and only then acts; stop()
// removes it; each path sees heap_index under mu, so exactly one of "fired"
// and "stopped" happens, and a sleeping goroutine is readied exactly once.
//
// What a timer's action may do (it runs on a worker's g0, never blocks):
//   - sleep:  ready(t) for the parked task.
//   - chan:   a non-blocking send of `when` on the timer's cap-1 channel;
//             dropped if the buffer is full (Go's ticker drops ticks too).
//             Done with mu held, so that stop()/reset() (which drain the
//             channel under mu) never let a stale value through: Go 1.23's
//             guarantee that no value sent before Stop/Reset returns is
//             received after.
//   - func:   go(f) — f runs in its own goroutine, never on g0.
//   - callback: fire(t, seq) with mu released (netpoll deadlines, which
//             take a poll descriptor's lock: rank below the heap's).
//
// Lock order: timer_heap::mu → chan_core::mu → scheduler::sched_mu_ (a fire
// sends, the send readies a receiver, ready may wake a worker). Nothing
// takes mu while holding a channel or scheduler lock: the channel destroy
// hook runs in chan_destroy with no channel lock held, and the scheduler
// only reads next_deadline.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "base/mono_clock.hpp"  // mono_now_ns: the clock of every deadline
#include "base/spin_mutex.hpp"
#include "csp/detail/source_location.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

struct task;
struct chan_core;

inline constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

enum class timer_kind : std::uint8_t {
  sleep,  // on the sleeping task's stack; not refcounted
  chan,   // time::timer / ticker / after / tick: sends on a cap-1 channel
  func,   // time::after_func: go(f)
  callback,  // runtime-internal (netpoll deadlines): fire(t, seq) on g0; not refcounted
};

struct timer_node {
  explicit timer_node(timer_kind k) noexcept : kind(k) {}

  const timer_kind kind;
  // refs: handles (time::timer/ticker and copies), the heap while armed,
  // the channel while it lives (released by its destroy hook). Increment
  // relaxed (the holder already has one); decrement acq_rel, as shared_ptr.
  std::atomic<int> refs{1};

  // Guarded by timer_heap::mu (not annotated: the heap is a singleton):
  std::int64_t when = 0;    // deadline, CLOCK_MONOTONIC ns
  std::int64_t period = 0;  // > 0: a ticker, re-armed after each fire
  int heap_index = -1;      // position in the heap; -1 while not armed
  chan_core* ch = nullptr;  // chan kind: the channel, held weakly; null once it is gone

  task* t = nullptr;         // sleep kind: the parked task (immutable)
  std::function<void()> f;   // func kind: what to run (immutable)
  source_location created_at;  // func kind: the after_func call, reported as f's goroutine's creator

  // callback kind: fire(t, seq) runs on a worker's g0 with no lock held,
  // after t left the heap; seq is the value given to timer_rearm for this
  // arming (guarded by mu), so the owner can tell a stale fire from a live
  // one. fire and arg are immutable; fire must not block.
  void (*fire)(timer_node*, std::uint64_t seq) = nullptr;
  void* arg = nullptr;
  std::uint64_t seq = 0;
};

class timer_heap {
 public:
  static timer_heap& instance() noexcept;

  // mu covers the heap array and the guarded fields of every timer_node.
  // Held for O(log n) plus at most one non-blocking channel operation; no
  // park, no user code, no allocation other than the array's growth.
  spin_mutex mu{lock_rank::timers};

  void push(timer_node* t) CSP_REQUIRES(mu);
  void remove(timer_node* t) CSP_REQUIRES(mu);
  void fix(timer_node* t) CSP_REQUIRES(mu);  // t->when changed, t in the heap
  timer_node* top() const CSP_REQUIRES(mu) { return heap_.empty() ? nullptr : heap_[0]; }
  std::size_t size() const CSP_REQUIRES(mu) { return heap_.size(); }

 private:
  void sift_up(std::size_t i) CSP_REQUIRES(mu);
  void sift_down(std::size_t i) CSP_REQUIRES(mu);
  void publish() CSP_REQUIRES(mu);

  std::vector<timer_node*> heap_ CSP_GUARDED_BY(mu);
};

// timer_next_deadline is the earliest armed timer's `when`, or `never`.
// Written under timer_heap::mu with seq_cst (pairs with the timer sleeper's
// publish-then-reread in scheduler::go_idle); read anywhere, relaxed for
// the per-schedule check, where a stale value only delays a fire to the
// next check.
extern std::atomic<std::int64_t> timer_next_deadline;

// run_due_timers runs the action of every timer due at `now`; true if it
// ran any. Worker g0 only (actions ready tasks and spawn goroutines).
bool run_due_timers(std::int64_t now) noexcept;

// ---- arming and disarming (any thread; lib/time/time.cpp) -------------------

// timer_arm puts t (not armed) in the heap at `when` and wakes the timer
// sleeper if t is the new earliest. Starts the runtime if needed.
void timer_arm(timer_node* t, std::int64_t when) noexcept;

// timer_rearm (callback kind) arms t at `when` with `seq`, moving it if it
// is armed already; timer_disarm takes it out of the heap, true if it was
// armed. A fire already taken out of the heap may still run after either:
// fire() must check seq. Any thread.
void timer_rearm(timer_node* t, std::int64_t when, std::uint64_t seq) noexcept;
bool timer_disarm(timer_node* t) noexcept;

void timer_retain(timer_node* t) noexcept;
void timer_release(timer_node* t) noexcept;

// live_timer_nodes counts refcounted timer nodes not yet freed (tests).
extern std::atomic<std::int64_t> live_timer_nodes;

}  // namespace csp::detail
