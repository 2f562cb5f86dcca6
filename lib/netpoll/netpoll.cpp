// netpoll.cpp — who calls the backend, and when (netpoll.hpp, "the
// scheduler's side"; the idle protocol: lib/sched/scheduler.hpp).
//
// Two kinds of poll, never a polling loop:
//   - blocking: the timer sleeper (one idle worker) waits in backend_wait
//     until an event, the earliest timer, or a backend_break from a waker;
//   - non-blocking: a busy worker looks when it runs out of work, and every
//     61st schedule at most once per poll_interval, and only while a task
//     waits for I/O and no worker is blocked in the backend (that one would
//     see the events itself). This is what keeps I/O flowing when every
//     worker is busy; it costs nothing when no task waits for I/O.
#include <mutex>

#include "base/ranked_mutex.hpp"
#include "debug/fatal.hpp"
#include "netpoll/netpoll.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

std::atomic<bool> inited{false};
// blocked: a worker is in backend_wait with a timeout other than 0.
std::atomic<bool> blocked{false};
// busy_polling: a worker is in a non-blocking poll; others skip theirs.
std::atomic<bool> busy_polling{false};
std::atomic<std::int64_t> last_busy_poll_ns{0};

// poll_interval bounds the rate-limited busy poll: a non-blocking
// epoll_wait costs about a microsecond, so at most 1% of one core, while
// I/O readiness waits at most this long (plus a schedule) for a worker
// when every worker is busy.
constexpr std::int64_t poll_interval_ns = 100'000;

}  // namespace

bool netpoll_inited() noexcept { return inited.load(std::memory_order_acquire); }

int netpoll_register(int fd, poll_desc* pd) noexcept {
  if (!inited.load(std::memory_order_acquire)) {
    static ranked_mutex init_mu{lock_rank::netpoll_init};
    std::lock_guard<ranked_mutex> lock(init_mu);
    if (!inited.load(std::memory_order_relaxed)) {
      if (int err = backend_init()) return err;
      // release; pairs with the acquire in netpoll_inited(): a worker that
      // sees inited sees the epoll set.
      inited.store(true, std::memory_order_release);
      // An idle worker asleep on its futex would not poll: wake the timer
      // sleeper (or an idle worker) so that it goes idle again, this time
      // in the poller. Starts the runtime if needed: someone must poll for
      // a plain thread's I/O.
      scheduler::instance().poke_sleeper();
    }
  }
  pd->published.store(1, std::memory_order_release);  // see poll_desc::published
  return backend_open(fd, pd);
}

void netpoll_block(std::int64_t deadline_ns, ready_list& out) noexcept {
  std::int64_t timeout = -1;
  if (deadline_ns != never) {
    timeout = deadline_ns - mono_now_ns();
    if (timeout <= 0) return;
  }
  blocked.store(true, std::memory_order_seq_cst);
  backend_wait(timeout, out);
  blocked.store(false, std::memory_order_seq_cst);
}

bool netpoll_poll_busy(bool rate_limited) noexcept {
  // relaxed loads: a hint; a missed poll is made up by the next schedule,
  // the next idle worker, or the blocked poller.
  if (netpoll_io_waiters.load(std::memory_order_relaxed) == 0) return false;
  if (blocked.load(std::memory_order_relaxed)) return false;
  if (!inited.load(std::memory_order_acquire)) return false;
  std::int64_t now = 0;
  if (rate_limited) {
    now = mono_now_ns();
    if (now - last_busy_poll_ns.load(std::memory_order_relaxed) < poll_interval_ns) return false;
  }
  if (busy_polling.exchange(true, std::memory_order_acquire)) return false;
  if (rate_limited) last_busy_poll_ns.store(now, std::memory_order_relaxed);
  ready_list out;
  backend_wait(0, out);
  busy_polling.store(false, std::memory_order_release);  // pairs with the acquire exchange above
  bool any = out.n > 0;
  out.ready_all();
  return any;
}

}  // namespace csp::detail
