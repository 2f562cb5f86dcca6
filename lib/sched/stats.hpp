// stats.hpp — the counters behind runtime::stats().
//
// Each worker counts what happens on it in its own worker_stats (in the
// worker struct, a line its owner already writes): a single writer, so an
// increment is a relaxed load and store, no locked instruction, and no
// cache line is shared with another worker on the hot paths. Plain threads
// (main, std::threads) count in thread_stats with fetch_add: they reach
// these paths only around a futex call or a global-queue push, which cost
// far more. runtime::stats() sums everything with relaxed loads: a snapshot
// that may be a few events behind, never torn.
#pragma once

#include <atomic>
#include <cstdint>

#include "sched/park.hpp"

namespace csp::detail {

// owner_counter: written by one thread only (relaxed load + store, which
// compiles to a plain add), read by anyone.
struct owner_counter {
  std::atomic<std::uint64_t> n{0};
  void add(std::uint64_t k = 1) noexcept { n.store(n.load(std::memory_order_relaxed) + k, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return n.load(std::memory_order_relaxed); }
};

// shared_counter: written by any thread.
struct shared_counter {
  std::atomic<std::uint64_t> n{0};
  void add(std::uint64_t k = 1) noexcept { n.fetch_add(k, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return n.load(std::memory_order_relaxed); }
};

template <class Counter>
struct basic_stats {
  Counter created;    // go() called here
  Counter exited;     // goroutines finished here
  Counter switches;   // a goroutine switched in (from g0 or by direct hand-off)
  Counter steals;     // successful steals from another worker
  Counter wakeups;    // ready() called here
  Counter parks[wait_reason_count];
};

using worker_stats = basic_stats<owner_counter>;
using thread_stats_t = basic_stats<shared_counter>;

// thread_stats: what plain threads did.
extern thread_stats_t thread_stats;

}  // namespace csp::detail
