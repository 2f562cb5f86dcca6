// lock_rank.hpp — the runtime's lock order, in one place, and its check
// (Go's lockrank.go and staticlockranking).
//
// A thread may take a lock only if every lock it already holds has a lower
// rank. Locks of the same rank are never held together, except channel
// locks, which select takes in address order (lib/chan/select.cpp), and
// registry shards, which the leak check takes all of, in array order: such
// a lock may be taken under others of its kind at lower addresses only.
//
//   rank  lock (kind)                          where
//   ----  -----------------------------------  ------------------------------
//    1    netpoll set-up (netpoll_init)        lib/netpoll/netpoll.cpp
//    2    blocking pool (blocking_pool)        lib/sched/blocking.cpp
//    3    poll descriptor (poll_desc)          lib/netpoll/netpoll.hpp
//    5    timer heap (timers)                  lib/time/timer_heap.hpp
//    7    errgroup state (errgroup)            lib/errgroup/errgroup.cpp
//    8    context node (context)               lib/context/context.cpp
//   10    channel lock (channel)               lib/chan/chan_core.hpp
//   10    sync semaphore table slot            lib/sync/semaphore.cpp
//   12    csp::run's hand-off (main_wait)      lib/sched/main_goroutine.cpp
//   28    gomaxprocs changes (procs)           lib/sched/scheduler.cpp
//   30    scheduler lock (scheduler)           lib/sched/scheduler.hpp
//   45    channel registry shard               lib/chan/leak.cpp
//   50    goroutine registry shard             lib/sched/goroutine.cpp
//   52    poll descriptor pool (poll_desc_pool) lib/netpoll/poll_desc.cpp
//   55    goroutine block cache                lib/sched/goroutine_cache.cpp
//   60    stack pool                           lib/fiber/stack_pool.hpp
//   70    trace buffer list (trace_buffers)    lib/sched/trace.cpp
//   71    a trace buffer's flush lock          lib/sched/trace.cpp
//   72    the trace file                       lib/sched/trace.cpp
//
// Why this order: a firing timer sends on its channel with the heap lock
// held (that is what keeps a stale value out of the channel once stop() or
// reset() returns), and nothing takes the heap lock while holding a channel
// or scheduler lock. So no element is destroyed under a channel lock: the
// last handle of a timer's channel disarms the timer (the heap lock). A
// channel operation readies a goroutine (run queues, maybe the scheduler
// lock to wake an idle worker) while holding its lock, and a hand-off
// switch may take the next goroutine from the global queue before the
// parked goroutine's channel lock is released (finish_handoff): the global
// queue takes no lock (moodycamel::ConcurrentQueue, sched/global_queue.hpp),
// so it has no rank. The
// scheduler lock is held while the deadlock detector walks the registry.
// The leak check holds every channel registry shard, then every goroutine
// registry shard; chan_make and chan_destroy take a channel registry shard
// (under an errgroup's or context's lock when they make or drop a channel).
// A context node closes its done channel under its lock; an errgroup's
// lock is never held across a channel operation. The goroutine cache, the
// poll descriptor pool and the stack pool are leaves; the trace locks are
// leaves below everything, because a trace hook may run under any lock.
//
// A poll descriptor's lock is taken early: setting a deadline re-arms its
// timer and closing readies its waiters with it held; a deadline's fire
// runs with the heap lock released. netpoll's set-up pokes the scheduler;
// the blocking pool's lock is taken with nothing held (park's unlock step,
// on g0) and counts new helper threads under it.
//
// None of these is held across a park: park() releases the one lock it is
// given after the switch, on the next context's stack, which is the same
// OS thread. That is why the held ranks can be kept per thread.
//
// The check. Built in when NDEBUG is off or under a sanitizer (CSP_ASAN,
// CSP_TSAN: scripts/test.sh's asan and tsan configurations): every ranked
// lock records itself in a per-thread stack of held locks, and taking one
// out of order ends the process with
//   fatal error: lock ordering problem: acquiring <kind> (rank N) while
//   holding <kind> (rank M)
// and the held stack, then abort(). A try_lock that succeeds is recorded
// unchecked (it cannot deadlock); releasing a lock this thread does not
// hold is reported too. In a release build the rank is not even stored:
// spin_mutex stays one word and lock() one CAS.
#pragma once

#include <cstdint>

#if !defined(NDEBUG) || defined(CSP_ASAN) || defined(CSP_TSAN)
#define CSP_LOCK_RANK_CHECK 1
#else
#define CSP_LOCK_RANK_CHECK 0
#endif

namespace csp::detail {

// lock_rank names a kind of lock; lock_rank_of() gives its rank. unranked
// locks are not checked (test helpers, and locks not yet given a kind).
enum class lock_rank : std::uint8_t {
  unranked,
  netpoll_init,
  blocking_pool,
  poll_desc,
  timers,
  errgroup,
  context,
  channel,
  semaphore_slot,
  main_wait,
  procs,
  scheduler,
  chan_registry,
  registry,
  poll_desc_pool,
  goroutine_cache,
  stack_pool,
  trace_buffers,
  trace_flush,
  trace_file,
  count_,
};

// lock_rank_of returns k's rank (the table above); lock_rank_name its name
// in the check's messages.
int lock_rank_of(lock_rank k) noexcept;
const char* lock_rank_name(lock_rank k) noexcept;

#if CSP_LOCK_RANK_CHECK
// lock_rank_acquire checks that this thread may take `lock` of kind k now
// (call it before blocking on the lock, so an inversion is reported rather
// than deadlocking) and records it as held.
void lock_rank_acquire(lock_rank k, const void* lock) noexcept;
// lock_rank_acquired records a lock taken by a successful try_lock.
void lock_rank_acquired(lock_rank k, const void* lock) noexcept;
// lock_rank_release records that `lock` (of kind k) is released.
void lock_rank_release(lock_rank k, const void* lock) noexcept;
#endif

}  // namespace csp::detail
