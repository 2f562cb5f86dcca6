// global_queue.hpp — the scheduler's global run queue (Go's sched.runq).
//
// A moodycamel::ConcurrentQueue of goroutine pointers, with one producer
// token per pushing thread and one consumer token per taking thread.
// Workers put half of a full local queue here, plain threads put what they
// ready, yielders put themselves; idle workers take a fair share.
//
// Why ConcurrentQueue and not the spin_mutex-guarded ring it replaced
// (issue 21; bench/RESULTS.md, "ConcurrentQueue or not"; bench/
// queue_places.cpp, medians of 9 interleaved runs on a loaded 2-core VM):
// with a token each pusher appends to its own sub-queue, so pushers never
// wait for each other or for a taker. Four threads pushing one goroutine
// at a time while two take batches (plain threads readying goroutines):
// 35.7 ns per goroutine against the ring's 70.9. Alone, one push and one
// take: 41.6 ns against 64.1 (fewer locked instructions, though more
// instructions: 214 against 131). Batches of 128: 2.5 ns against 2.1 per
// goroutine (32 against 24 instructions), a few nanoseconds per goroutine
// that then runs for hundreds. The bench workloads that go through here
// (spawn_join_p2, skynet_p2, wg_fanout_p2, spawn_from_main, main_recv)
// tie within the VM's noise.
//
// Why a queue of pointers and not Go's intrusive list (goroutines linked
// through g.schedlink): a batch moves between workers, and a taker walking
// links that another core just wrote pays one dependent cache miss per
// goroutine before it can run any of them. spawn_join_p2 sent 1,998,082 of
// 2,000,000 goroutines through here, and the walk was 7% of its samples.
//
// Order: FIFO per pushing thread, not across threads (what ConcurrentQueue
// guarantees). Go's fairness needs only that nothing waits forever: a
// taker stays on one sub-queue for at most 256 goroutines before every
// taker moves on to the next (the consumer tokens' rotation), so a
// goroutine queued behind a stream of yielders from other threads is taken
// after a bounded number of others (about 256 per pushing thread).
// goroutine_test's "a goroutine queued from a plain thread is not starved
// by yielders" holds it to that. Without consumer tokens a batch take
// drains the sub-queues in a fixed order, newest producer first, so the
// workers' yielders could keep main's goroutine waiting for as long as
// they keep yielding: that test's failure mode.
//
// Invariants:
//   - each queued goroutine is in exactly one sub-queue, once;
//   - size_ counts pushes minus takes: incremented before the enqueue,
//     decremented after the dequeue (both seq_cst), so it is never below
//     the number of goroutines queued, and above it only while a push or
//     a take is in flight. (With the increment after the enqueue, a take
//     could remove a goroutine whose push had not counted it yet and
//     decrement for it first: size() read 0 with another goroutine
//     queued, and only the late pusher's own wake-up covered it.)
//   - The rule the scheduler keeps (lib/sched/idle.cpp, invariants 1 and
//     6): nobody sleeps on a failed take while size() > 0, and every push
//     is followed by its pusher's notify_work (or notify_local_work), so
//     the idle protocol's Dekker pair is on size_: a pusher looks for idle
//     workers after its count, a worker going idle reads size() after it
//     joined the idle list, and one of the two sees the other.
//   - A take may come back with fewer than it asked, or none, while
//     size() > 0, and not only while the push that counted is in flight:
//     a taker inside its dequeue can make another's fail (ConcurrentQueue's
//     optimistic count), and a relaxed tail read may be stale. Each lasts
//     only as long as the other operation (a pusher descheduled between
//     its count and its enqueue included): a failed take costs the taker
//     another look, never a sleep.
// Memory: sub-queues keep their blocks (the high-water mark) for reuse; a
// thread's tokens are freed when the thread exits, and its sub-queue goes
// to the next thread that makes a producer token. No lock, so no lock
// rank (lib/debug/lock_rank.hpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "sched/goroutine.hpp"

namespace csp::detail {

class global_queue {
 public:
  global_queue();
  global_queue(const global_queue&) = delete;
  global_queue& operator=(const global_queue&) = delete;

  // size: how many goroutines are queued (a snapshot). Any thread.
  std::uint32_t size() const noexcept { return clamp(size_.load(std::memory_order_seq_cst)); }
  std::uint32_t size_relaxed() const noexcept { return clamp(size_.load(std::memory_order_relaxed)); }

  // push appends gs[0, n), in order. Any thread.
  void push(goroutine* const* gs, std::uint32_t n) noexcept;

  // pop_share takes min(size/share + 1, limit) goroutines into out[] (Go's
  // globrunqget: a worker's fair share of the queue) and returns how many;
  // 0 when empty. Oldest first within each pushing thread's goroutines.
  // limit >= 1; share >= 1. Any thread.
  std::uint32_t pop_share(goroutine** out, std::uint32_t share, std::uint32_t limit) noexcept;

  // pushes counts goroutines ever pushed (stats). Any thread.
  std::uint64_t pushes() const noexcept { return pushes_.load(std::memory_order_relaxed); }

  struct impl;  // the ConcurrentQueue (global_queue.cpp): kept out of scheduler.hpp's includers

 private:
  static std::uint32_t clamp(std::int32_t v) noexcept { return v > 0 ? static_cast<std::uint32_t>(v) : 0; }

  impl* impl_;  // never freed: the scheduler lives for the whole process
  std::atomic<std::int32_t> size_{0};
  std::atomic<std::uint64_t> pushes_{0};
};

}  // namespace csp::detail
