// netpoll.hpp — fd readiness for net:: (Go's runtime/netpoll.go).
//
// Three parts:
//   1. The backend contract (below, "backend"): what a platform's poller
//      provides. epoll.cpp implements it; nothing else includes a platform
//      polling header.
//   2. The poll descriptor (poll_desc, poll_desc.cpp): one per registered
//      fd, with a read and a write direction, each holding a readiness
//      token and at most one parked task (Go's pollDesc rg/wg). Callers
//      serialize waits per direction (lib/net/netfd.hpp does, with a mutex
//      per direction, as Go's fdMutex does).
//   3. The scheduler's side (netpoll_* below): who calls the backend. The
//      timer sleeper (lib/sched/scheduler.hpp) blocks in the backend with
//      the earliest timer as its timeout; busy workers poll without
//      blocking only while some task waits for I/O. No thread polls
//      otherwise.
//
// The wait protocol (why readiness is never lost): a reader tries the
// syscall; on EAGAIN it calls pd_wait(read), which under pd->mu consumes
// the direction's readiness token if the poller set one since, and
// otherwise records itself as the waiter and parks, releasing mu only once
// it is switched out (park.hpp). The poller sets the token and takes the
// waiter under the same mu, so "readiness between EAGAIN and park" is seen
// either by the waiter (the token) or by the poller (the waiter). A token
// may be stale (the reader already drained the data): the caller's retry
// loop then gets EAGAIN again and waits again — one wasted syscall, never
// a lost wake-up. Edge-triggered registration makes the token necessary:
// an edge is reported once.
//
// Invariants (with pd->mu held):
//   - dir.waiter != null exactly while a task is parked in pd_wait on that
//     direction; it is counted in netpoll_io_waiters and pending_wakers
//     (the deadlock detector: I/O may still wake it). Whoever takes it
//     (readiness, deadline, close) readies it, then drops both counts.
//   - dir.seq changes whenever dir's deadline changes or pd is closed or
//     freed; a deadline timer's fire carries the seq it was armed with and
//     does nothing if it differs (Go's rseq/wseq).
//   - closing and dir.expired only go from false to true under mu, and back
//     to false only in pd_alloc (closing) or when a deadline is reset
//     (expired). They are also read without mu (pd_check), where a stale
//     false costs one syscall and a later pd_wait sees the truth.
//
// Memory: poll descriptors are never freed, only recycled (Go's
// pollcache): an epoll event or a deadline fire that names a recycled
// descriptor is harmless (a stale token; a stale seq).
//
// Lock order: pd->mu (rank poll_desc) → timer heap → scheduler locks.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/spin_mutex.hpp"
#include "debug/tsa.hpp"
#include "sched/park.hpp"
#include "time/timer_heap.hpp"

namespace csp::detail {

enum class io_mode : std::uint8_t { read = 0, write = 1 };

// io_status: how a wait ended.
enum class io_status : std::uint8_t {
  ready,    // the direction may be ready: retry the syscall
  closed,   // the descriptor is being closed (net::errc::closed)
  timeout,  // the direction's deadline has passed (net::errc::timeout)
};

// ready_list collects the tasks a poll found ready, so that the poller can
// ready them after it released its own locks and left the idle list.
struct ready_list {
  static constexpr int capacity = 256;  // two per event, 128 events per poll
  task* tasks[capacity];
  int n = 0;
  void push(task* t) noexcept { tasks[n++] = t; }
  // ready_all readies every task, then drops their counts in
  // netpoll_io_waiters and pending_wakers (after: see pending_wakers).
  void ready_all() noexcept;
};

struct poll_desc {
  // direction: the fields marked "mu" are guarded by the enclosing
  // descriptor's mu (not annotated: a nested struct cannot name it).
  struct direction {
    task* waiter = nullptr;  // mu; the one task parked on this direction
    bool ready = false;      // mu; readiness token, consumed by pd_wait
    std::atomic<bool> expired{false};           // the deadline has passed; written under mu
    std::int64_t deadline = 0;  // mu; CLOCK_MONOTONIC ns; 0: none
    std::uint64_t seq = 0;      // mu
    timer_node timer{timer_kind::callback};     // the deadline's timer; arg = this pd
  };

  // mu covers both directions and closing's writes. Held for a few field
  // updates and at most a timer re-arm; never across a park (pd_wait
  // releases it through park), never while calling ready().
  spin_mutex mu{lock_rank::poll_desc};
  int fd = -1;
  std::atomic<bool> closing{false};  // written under mu
  // hung_up: the backend reported a hang-up or an error on the fd (sticky
  // until the descriptor is recycled). Written under mu by pd_ready before
  // it readies the waiter, so a task woken by that report sees it; read
  // without mu by netfd::read (pd_hung_up).
  std::atomic<bool> hung_up{false};
  direction dirs[2];                 // [io_mode]
  poll_desc* next_free = nullptr;    // free list link; guarded by the pool's lock
  // published: stored (release) before the fd is registered, loaded
  // (acquire) by the poller before it touches a descriptor an event named.
  // The kernel orders the registration before the event, but a race
  // detector cannot see through epoll: this pair shows it the order.
  std::atomic<std::uint32_t> published{0};
};

// ---- poll descriptors (poll_desc.cpp; any thread) ------------------------

// pd_alloc returns a clean descriptor for fd; pd_free recycles one (after
// its fd is closed, with no task waiting on it).
poll_desc* pd_alloc(int fd) noexcept;
void pd_free(poll_desc* pd) noexcept;

// pd_check says, without locking, whether an operation in `mode` must fail
// at once (closed, or deadline passed); io_status::ready otherwise.
io_status pd_check(poll_desc* pd, io_mode mode) noexcept;

// pd_wait parks the caller (wait reason "IO wait") until `mode` may be
// ready, its deadline passes or pd is closed. Returns at once if a
// readiness token is waiting. At most one task per direction.
io_status pd_wait(poll_desc* pd, io_mode mode);

// pd_set_deadline sets the deadline of the directions in `modes` (bit 0:
// read, bit 1: write): 0 clears it, a time not after now expires it at
// once (waking a waiter with timeout). Works while a task waits.
void pd_set_deadline(poll_desc* pd, std::int64_t when_ns, unsigned modes) noexcept;

// pd_evict marks pd closing and wakes its waiters (they return closed).
void pd_evict(poll_desc* pd) noexcept;

// pd_ready is the backend's report: `readable`/`writable` may be ready,
// and `hangup` if the peer hung up or the fd has an error. Sets the tokens
// and moves the waiters to `out`. Poller only.
void pd_ready(poll_desc* pd, bool readable, bool writable, bool hangup, ready_list& out) noexcept;

// pd_hung_up: a hang-up or error has been reported for pd's fd. Once it
// has, edge-triggered readiness may never come again, so a reader must not
// wait for an edge before reading. Any thread.
inline bool pd_hung_up(const poll_desc* pd) noexcept {
  // acquire; pairs with the release store in pd_ready.
  return pd->hung_up.load(std::memory_order_acquire);
}

// ---- backend contract (epoll.cpp) -----------------------------------------

// backend_init creates the poller and its wake-up channel; called once.
// Returns 0 or an errno value.
int backend_init() noexcept;
// backend_open registers fd, edge-triggered, for both directions, once for
// its lifetime; events name pd. Returns 0 or an errno value. Closing the fd
// unregisters it.
int backend_open(int fd, poll_desc* pd) noexcept;
// backend_wait waits up to timeout_ns (-1: no limit; 0: just look) for
// events and reports each through pd_ready into `out`. Returns early when
// backend_break was called. One caller at a time.
void backend_wait(std::int64_t timeout_ns, ready_list& out) noexcept;
// backend_break makes the current (or next) blocking backend_wait (timeout
// not 0) return; a non-blocking one leaves the break for it. Any thread.
void backend_break() noexcept;

// ---- the scheduler's side (netpoll.cpp) ---------------------------------------

// netpoll_io_waiters counts tasks parked in pd_wait.
extern std::atomic<std::int64_t> netpoll_io_waiters;

// netpoll_inited is true once the backend exists (the first fd was
// registered). Any thread; acquire.
bool netpoll_inited() noexcept;

// netpoll_register initializes the backend on first use (and pokes the
// scheduler so that an idle worker starts polling), then registers fd.
// Returns 0 or an errno value.
int netpoll_register(int fd, poll_desc* pd) noexcept;

// netpoll_block is the timer sleeper's wait: blocks in the backend until
// an event, backend_break, or deadline_ns (CLOCK_MONOTONIC; `never`: no
// limit). Worker g0 only; one caller at a time (the sleeper role).
void netpoll_block(std::int64_t deadline_ns, ready_list& out) noexcept;

// netpoll_poll_busy is a busy worker's look: a non-blocking poll, only if
// some task waits for I/O, nobody is blocked in the backend, and no other
// worker is polling. `rate_limited` also skips it when the last poll was
// less than poll_interval ago. Returns true if it readied anything.
// Worker g0 only.
bool netpoll_poll_busy(bool rate_limited) noexcept;

}  // namespace csp::detail
