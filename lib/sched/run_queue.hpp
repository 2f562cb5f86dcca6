// run_queue.hpp — a worker's local queue of runnable goroutines (Go's runq).
//
// A fixed ring of CSP_RUNQ_CAPACITY slots. One owner (the worker) pushes at
// the tail and pops at the head; any other worker may steal half from the
// head. Invariants:
//   - 0 <= tail - head <= capacity (indices are free-running uint32s);
//   - slots [head, tail) hold runnable goroutines owned by this queue;
//   - only the owner writes tail and slots; consumers (the owner's pop and
//     stealers) advance head by CAS, so each goroutine is taken once.
// A stealer reads slots before its CAS; if the CAS fails the owner may have
// reused them, and the read is discarded. Slots are atomics (relaxed) so
// that racy-but-discarded read is not a data race.
//
// Capacity 256 as Go's: large enough that overflow to the global queue is
// rare, small enough to stay in a few cache lines. Tests build with 4
// (meson option runq_capacity) so overflow and steal paths run in CI.
#pragma once

#include <atomic>
#include <cstdint>

#include "sched/goroutine.hpp"

#ifndef CSP_RUNQ_CAPACITY
#define CSP_RUNQ_CAPACITY 256
#endif

namespace csp::detail {

class run_queue {
 public:
  static constexpr std::uint32_t capacity = CSP_RUNQ_CAPACITY;

  // push appends g; false when full (the owner then moves half to the
  // global queue with take_half). Owner only.
  bool push(goroutine* g) noexcept {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);  // only we write it
    // acquire; pairs with consumers' release CAS on head_, so their reads
    // of the slots we are about to reuse are done.
    std::uint32_t h = head_.load(std::memory_order_acquire);
    if (t - h >= capacity) return false;
    slots_[t % capacity].store(g, std::memory_order_relaxed);
    // release; pairs with the acquire load of tail_ in pop()/steal_into():
    // the slot write is visible before the slot is.
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  // pop takes the oldest goroutine, or null. Owner only.
  goroutine* pop() noexcept {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);  // we are the writer
      if (t == h) return nullptr;
      goroutine* g = slots_[h % capacity].load(std::memory_order_relaxed);
      // release; pairs with the acquire in push(): our slot read is done.
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_release,
                                      std::memory_order_relaxed))
        return g;
    }
  }

  // take_half removes up to half of the queue (oldest first) into out[],
  // returning how many. Owner only, when the queue is full.
  std::uint32_t take_half(goroutine** out) noexcept {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      std::uint32_t n = (t - h) / 2;
      if (n == 0) return 0;
      for (std::uint32_t i = 0; i < n; ++i)
        out[i] = slots_[(h + i) % capacity].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_release,
                                      std::memory_order_relaxed))
        return n;
    }
  }

  // steal_into moves about half of this queue into `dst` (which must be
  // empty and owned by the caller) and returns one goroutine to run, or
  // null; nothing while fewer than min_size are queued. Any worker but the
  // owner.
  goroutine* steal_into(run_queue& dst, std::uint32_t min_size = 1) noexcept {
    std::uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      // acquire; pairs with the release store in push(): slots below tail are written.
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      std::uint32_t n = t - h;
      if (n < min_size) return nullptr;
      n -= n / 2;  // steal half, rounding up, as Go's runqgrab
      if (n == 0) return nullptr;
      if (n > capacity / 2) continue;  // inconsistent read (h and t from different moments)
      for (std::uint32_t i = 0; i < n; ++i) {
        goroutine* g = slots_[(h + i) % capacity].load(std::memory_order_relaxed);
        dst.slots_[(dst_tail + i) % capacity].store(g, std::memory_order_relaxed);
      }
      // acq_rel; release pairs with the owner's acquire of head_ in push()
      // (our reads are done before it reuses slots); acquire orders our
      // reads after the owner's writes.
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
        --n;
        goroutine* first = dst.slots_[(dst_tail + n) % capacity].load(std::memory_order_relaxed);
        if (n > 0) dst.tail_.store(dst_tail + n, std::memory_order_release);
        return first;
      }
    }
  }

  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }
  std::uint32_t size() const noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_acquire);
    return t - h;
  }

 private:
  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  std::atomic<goroutine*> slots_[capacity] = {};
};

}  // namespace csp::detail
