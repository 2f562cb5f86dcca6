// global_queue.hpp — the scheduler's global run queue (Go's sched.runq).
//
// A FIFO of goroutine pointers in a growable ring under one spin_mutex.
// Workers put half of a full local queue here, plain threads put what they
// ready, yielders put themselves; idle workers take a fair share.
//
// Why a ring and not Go's intrusive list (goroutines linked through
// g.schedlink): a batch moves between workers, and a taker walking links
// that another core just wrote pays one dependent cache miss per goroutine
// before it can run any of them. With a ring no goroutine is touched on the
// way: spawn_join_p2 sent 1,998,082 of 2,000,000 goroutines through here,
// and the walk was 7% of its samples.
//
// Invariants (under mu_):
//   - cap_ is zero or a power of two; 0 <= tail_ - head_ <= cap_ (indices
//     are free-running uint32s);
//   - slots_[i & (cap_-1)] for i in [head_, tail_) are the queued
//     goroutines, oldest first; each is queued nowhere else;
//   - size_ == tail_ - head_. It is written under mu_ and read without it
//     (seq_cst: the idle protocol's "push, then look for idle workers" and
//     "go idle, then look for work" pair on it; scheduler.hpp).
// Growth doubles the ring under mu_ (an allocation, rare: the ring keeps
// its high-water size). Lock order: a leaf (lib/debug/lock_rank.hpp, 40).
#pragma once

#include <atomic>
#include <cstdint>

#include "base/spin_mutex.hpp"
#include "debug/tsa.hpp"
#include "sched/goroutine.hpp"

namespace csp::detail {

class global_queue {
 public:
  global_queue() = default;
  global_queue(const global_queue&) = delete;
  global_queue& operator=(const global_queue&) = delete;

  // size: how many goroutines are queued (a snapshot). Any thread.
  std::uint32_t size() const noexcept { return size_.load(std::memory_order_seq_cst); }
  std::uint32_t size_relaxed() const noexcept { return size_.load(std::memory_order_relaxed); }

  // push appends gs[0, n), in order. Any thread.
  void push(goroutine* const* gs, std::uint32_t n) noexcept;

  // pop_share takes min(size/share + 1, limit) goroutines, oldest first,
  // into out[] (Go's globrunqget: a worker's fair share of the queue) and
  // returns how many; 0 when empty. limit >= 1; share >= 1. Any thread.
  std::uint32_t pop_share(goroutine** out, std::uint32_t share, std::uint32_t limit) noexcept;

  // pushes counts goroutines ever pushed (stats). Any thread.
  std::uint64_t pushes() const noexcept { return pushes_.load(std::memory_order_relaxed); }

 private:
  void grow() noexcept CSP_REQUIRES(mu_);

  spin_mutex mu_{lock_rank::global_queue};
  goroutine** slots_ CSP_GUARDED_BY(mu_) = nullptr;
  std::uint32_t cap_ CSP_GUARDED_BY(mu_) = 0;
  std::uint32_t head_ CSP_GUARDED_BY(mu_) = 0;
  std::uint32_t tail_ CSP_GUARDED_BY(mu_) = 0;
  std::atomic<std::uint32_t> size_{0};
  std::atomic<std::uint64_t> pushes_{0};  // written under mu_
};

}  // namespace csp::detail
