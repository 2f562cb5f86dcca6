// lock_rank.hpp — the runtime's lock order, in one place (Go's lockrank.go).
//
// A thread may take a lock only if every lock it already holds has a lower
// rank. Locks of the same rank are never held together, except channel
// locks, which select takes in address order (lib/chan/select.cpp).
//
//   rank  lock                               where
//   ----  ---------------------------------  ------------------------------
//    3    poll descriptor (poll_desc::mu)     lib/netpoll/netpoll.hpp
//    5    timer heap                          lib/time/timer_heap.hpp
//   10    channel lock (chan_core::mu)        lib/chan/chan_core.hpp
//   10    sync semaphore table slot           lib/sync/semaphore.cpp
//   30    scheduler lock (sched_mu_)          lib/sched/scheduler.hpp
//   40    global run queue (global_queue::mu_) lib/sched/global_queue.hpp
//   45    channel registry shard              lib/chan/leak.cpp
//   50    goroutine registry shard            lib/sched/goroutine.cpp
//   60    stack pool                          lib/fiber/stack_pool.hpp
//
// Why this order: a firing timer sends on its channel with the heap lock
// held (that is what keeps a stale value out of the channel once stop() or
// reset() returns), and nothing takes the heap lock while holding a channel
// or scheduler lock. A channel operation readies a goroutine (run queues,
// maybe the scheduler lock to wake an idle worker) while holding its lock,
// and a hand-off switch may take the next goroutine from the global queue
// before the parked goroutine's channel lock is released (finish_handoff).
// The scheduler lock is held while the deadlock detector walks the
// registry. The leak check holds every channel registry shard, then every
// goroutine registry shard; chan_destroy takes a channel registry shard
// holding nothing, or a channel lock (a buffered element that is itself a
// channel handle). The stack pool is a leaf.
//
// A poll descriptor's lock is taken first: setting a deadline re-arms its
// timer and closing readies its waiters with it held; a deadline's fire
// runs with the heap lock released.
//
// None of these is held across a park: park() releases the one lock it is
// given after the switch, on the next context's stack.
#pragma once

namespace csp::detail {

enum class lock_rank : int {
  poll_desc = 3,
  timers = 5,
  channel = 10,
  semaphore_slot = 10,
  scheduler = 30,
  global_queue = 40,
  chan_registry = 45,
  registry = 50,
  stack_pool = 60,
};

}  // namespace csp::detail
