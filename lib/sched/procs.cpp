// procs.cpp — starting workers and changing gomaxprocs at run time: a
// raised slot gets a thread (or its retired one back), a lowered one's
// worker hands its queue to the global queue and sleeps (retire).
// Lock order: procs_mu (rank 28), then sched_mu_.
#include "sched/scheduler.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "base/ranked_mutex.hpp"
#include "debug/fatal.hpp"
#include "fiber/stack_guard.hpp"
#include "netpoll/netpoll.hpp"
#include "time/timer_heap.hpp"

namespace csp::detail {

// default_procs: the CPUs, or $GOMAXPROCS if it is a whole number in range.
int scheduler::default_procs() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  if (const char* env = std::getenv("GOMAXPROCS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 256) return static_cast<int>(v);
    char msg[160];
    std::snprintf(msg, sizeof msg,
                  "csp: ignoring GOMAXPROCS=%.32s: want a whole number from 1 to 256; using %d\n",
                  env, n);
    write_stderr(msg);
  }
  return n;
}


void scheduler::start_worker(int index) {
  auto* w = new worker();
  w->index = index;
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    w->thread_no = nthreads_.load(std::memory_order_relaxed);
    CSP_ASSERT(w->thread_no < max_threads);
    all_workers_[w->thread_no] = w;
    // release; pairs with the acquire in thread_count().
    nthreads_.store(w->thread_no + 1, std::memory_order_release);
    wake_monitor_locked();  // a new slot runs goroutines
  }
  w->rand_state = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(w->thread_no + 1);
  workers_[index].store(w, std::memory_order_release);
  // release; pairs with the acquire loads of nstarted_ by stealers.
  nstarted_.store(index + 1, std::memory_order_release);
  std::thread(worker_main, w).detach();
}

void scheduler::worker_main(worker* w) {
  // Counted by the thread itself, so never before it exists: the deadlock
  // check subtracts runtime_threads_ from the process's thread count, and
  // a thread counted while still being created made a live user thread
  // (the one raising gomaxprocs) look parked. Still before this worker can
  // go idle, so a check that sees it idle sees it counted.
  instance().add_runtime_threads(1);
  set_current_worker(w);
  w->os_tid.store(static_cast<int>(::gettid()), std::memory_order_relaxed);
  // Timer slack 1 ns: the kernel's default 50 µs would make every timed
  // sleep of the timer sleeper that much late (docs/time.md).
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  fiber::init_thread(w->own_g0);
  install_alt_signal_stack();
  instance().schedule_loop(w);
}

int scheduler::set_procs(int n) {
  if (n < 1) return nprocs_.load(std::memory_order_relaxed);  // a query: no lock (mutex spinning asks)
  static ranked_mutex procs_mu{lock_rank::procs};  // serializes gomaxprocs changes; taken before sched_mu_
  std::lock_guard<ranked_mutex> outer(procs_mu);
  int prev = nprocs_.load(std::memory_order_relaxed);
  n = std::min(n, max_workers);
  std::vector<std::pair<worker*, bool>> to_wake;  // with in_netpoll
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    nprocs_.store(n, std::memory_order_seq_cst);
    int started = nstarted_.load(std::memory_order_relaxed);
    for (int i = 0; i < started; ++i) {
      worker* w = workers_[i].load(std::memory_order_relaxed);
      if (i < n && w->retired) {
        w->retired = false;
        --n_retired_;
        n_retired_atomic_.store(n_retired_, std::memory_order_seq_cst);
        to_wake.emplace_back(w, w->in_netpoll);
        wake_monitor_locked();
      } else if (i >= n && w->in_idle_list) {
        // Wake it so it notices and retires.
        idle_.erase(std::find(idle_.begin(), idle_.end(), w));
        w->in_idle_list = false;
        n_idle_.fetch_sub(1, std::memory_order_seq_cst);
        to_wake.emplace_back(w, w->in_netpoll);
      }
    }
  }
  for (auto [w, polling] : to_wake) wake_worker(w, polling);
  for (int i = nstarted_.load(std::memory_order_relaxed); i < n; ++i) start_worker(i);
  return prev == 0 ? n : prev;
}

void scheduler::retire(worker* w) {
  stop_spinning(w);
  settle_poller_owed(w);
  // Hand our queued goroutines to the others.
  const std::uint32_t n = drain_to_global(w);
  // Wake someone whenever the global queue holds work, not only what we
  // just pushed: a goroutine we ran since gomaxprocs was lowered may have
  // yielded or overflowed into it, and a running worker leaves the global
  // queue to itself (it looks there before it sleeps), which a retiring
  // worker does not. This lost a wake-up under load before (sync_test's
  // TestSemaphore stalled with a runnable goroutine and every worker idle).
  if (global_.size() > 0) {
    notify_work();
  }
  {
    std::lock_guard<spin_mutex> lock(sched_mu_);
    if (w->index < nprocs_.load(std::memory_order_relaxed)) return;  // raised again meanwhile
    if (w->retaken.load(std::memory_order_relaxed)) return;         // slotless: becomes a spare
    if (!w->retired) {
      w->retired = true;
      ++n_retired_;
      n_retired_atomic_.store(n_retired_, std::memory_order_seq_cst);
    }
  }
  if (n == 0 && n_idle_.load(std::memory_order_seq_cst) + n_retired_snapshot() ==
                    nstarted_.load(std::memory_order_acquire))
    check_deadlock();
  // We may have been the timer sleeper (set_procs woke us): hand the role
  // on, or armed timers could wait for a worker that never comes.
  // Likewise the poller's role, once there is a netpoller.
  if (timer_next_deadline.load(std::memory_order_seq_cst) != never || netpoll_inited())
    notify_work();
  w->sleep.wait();
}

}  // namespace csp::detail
