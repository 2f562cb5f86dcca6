// scheduler.cpp — the runtime's start-up, the thread-locals, and making a
// goroutine runnable (ready, push_local, the global queue). Design notes and
// lock order: scheduler.hpp. The other protocols have files of their own:
//   worker_loop.cpp  find_runnable: local, global and stolen work, timers
//   idle.cpp         the idle/wake protocol (notify_work, go_idle)
//   sleeper.cpp      the timer/poller sleeper role
//   switch.cpp       running a goroutine and switching between goroutines
//   procs.cpp        starting, raising and retiring workers (gomaxprocs)
//   lend.cpp         the blocked main thread borrowing a slot
//   monitor.cpp      moving a slot off a stuck thread (Go's sysmon)
#include "sched/scheduler.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/mono_clock.hpp"
#include "debug/fatal.hpp"
#include "fiber/stack_guard.hpp"
#include "sched/quiesce.hpp"
#include "sched/trace.hpp"
#include "time/timer_heap.hpp"

#if defined(CSP_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

namespace csp::detail {

std::atomic<std::int64_t> pending_wakers{0};
std::atomic<std::int64_t> parked_threads{0};
std::atomic<std::uint64_t> thread_parks{0};

namespace {

// initial-exec: see park.cpp.
__attribute__((tls_model("initial-exec"))) thread_local worker* tls_worker = nullptr;

#if defined(CSP_ASAN)
// Objects that only an abandoned goroutine's stack still refers to are not
// leaks (main returned; Go would not collect them either). Show
// LeakSanitizer, which checks after us, the live part of every stack.
void register_stacks_for_leak_check() {
  for_each_goroutine(
      [](const goroutine* g, void*) {
        if (!g->stk) return;
        auto* lo = static_cast<char*>(g->stk.bottom);
        // A parked goroutine's saved context is its stack pointer; a running
        // one's is unknown here, so take the whole stack.
        if (g->state.load(std::memory_order_relaxed) == gstate::waiting && g->fiber.ctx != nullptr)
          lo = static_cast<char*>(g->fiber.ctx);
        auto* hi = static_cast<char*>(g->stk.top());
        if (lo >= static_cast<char*>(g->stk.bottom) && lo < hi)
          __lsan_register_root_region(lo, static_cast<std::size_t>(hi - lo));
      },
      nullptr, /*try_only=*/true);
}
#endif

void on_process_exit(int, void*) {
  if (scheduler::started()) {
    scheduler::instance().exiting.store(true, std::memory_order_seq_cst);
    quiesce_at_exit();  // the destructors after this hook run with no goroutine running
    trace_flush_at_exit();
#if defined(CSP_ASAN)
    register_stacks_for_leak_check();
#endif
  }
}

}  // namespace

// ---- thread-locals -------------------------------------------------------

CSP_TLS_ACCESSOR worker* current_worker() noexcept { return tls_worker; }

CSP_TLS_ACCESSOR void set_current_worker(worker* w) noexcept { tls_worker = w; }

CSP_TLS_ACCESSOR goroutine* current_goroutine() noexcept {
  worker* w = tls_worker;
  return w ? w->current : nullptr;
}

// ---- start-up -----------------------------------------------------------

bool scheduler::started() noexcept { return the_instance_.load(std::memory_order_acquire) != nullptr; }

scheduler& scheduler::start() {
  static scheduler* created = [] {
    auto* p = new scheduler();
    // release; pairs with the acquire in instance().
    the_instance_.store(p, std::memory_order_release);
    p->set_procs(default_procs());
    p->start_monitor();
    return p;
  }();
  return *created;
}

scheduler::scheduler() {
  idle_.reserve(max_workers);
  trace_start();  // before any worker or goroutine exists: trace_on never changes after
  install_stack_guard();
  install_quit_handler();
  ::on_exit(on_process_exit, nullptr);
}

std::uint64_t scheduler::new_id() noexcept {
  // Batches of 16 per worker, as Go's goidcache: spawning stays off the
  // shared counter's cache line.
  constexpr std::uint64_t batch = goroutine_id_batch;
  if (worker* w = current_worker()) {
    if (w->next_id == w->end_id) {
      w->next_id = id_source_.fetch_add(batch, std::memory_order_relaxed);
      w->end_id = w->next_id + batch;
    }
    return w->next_id++;
  }
  return id_source_.fetch_add(1, std::memory_order_relaxed);
}

void scheduler::ready(goroutine* g) noexcept {
  // release: the exit hook's acquire (quiesce.cpp) then sees what g did
  // before it parked (its unlock ordered it before this waker).
  g->state.store(gstate::runnable, std::memory_order_release);
  worker* w = current_worker();
  // A retaken thread (monitor.cpp) has no slot to push to: it readies as a
  // plain thread does.
  if (w != nullptr && w->index < nprocs_.load(std::memory_order_relaxed) &&
      !w->retaken.load(std::memory_order_relaxed)) {
    w->stats.wakeups.add();  // go() comes here too: stats() subtracts the creations
    goroutine* old = w->run_next.load(std::memory_order_relaxed);
    push_local(w, g);
    // This worker will run g itself if nobody else does, so the wake-up is
    // mainly for parallelism (idle.cpp, invariant 2b).
    // None for the first goroutine its scheduler loop readies (a timer, a
    // poll) into an empty run_next: it runs that one next itself, as Go's
    // findrunnable runs the first goroutine netpoll returns.
    if (w->current == nullptr && old == nullptr) return;
    notify_local_work();
    return;
  }
  thread_stats.wakeups.add();
  // After main returned, a plain thread (a static destructor) that starts
  // or wakes a goroutine gets it abandoned, as every other goroutine is:
  // pushed here, a worker still spinning could run it during exit.
  if (exiting.load(std::memory_order_relaxed)) return;
  // A thread that still holds a lent slot runs g there when it next
  // blocks, as a goroutine's worker would (sched/lend.cpp).
  if (ready_on_held(g)) return;
  global_push(g);
  // seq_cst; pairs with the fence in go_idle(): either we see the idle
  // worker, or it sees our push in its recheck.
  notify_work();
}

// push_local puts g in w's run_next; the previous occupant moves to the
// local queue, and half of a full one to the global queue. The slot's
// holder only.
void scheduler::push_local(worker* w, goroutine* g) noexcept {
  // seq_cst: pairs with stealers' exchange of run_next, and with go_idle's
  // recheck through notify_local_work's loads (idle.cpp, invariant 2b).
  goroutine* old = w->run_next.exchange(g, std::memory_order_seq_cst);
  if (old != nullptr && !w->runq.push(old)) {
    goroutine* half[run_queue::capacity / 2 + 1];
    std::uint32_t n = w->runq.take_half(half);
    half[n++] = old;
    global_push_batch(half, n);
  }
}

// drain_to_global moves everything queued on w's slot (its queue and
// run_next) to the global queue; returns how many. The slot's holder only.
std::uint32_t scheduler::drain_to_global(worker* w) noexcept {
  goroutine* batch[run_queue::capacity + 1];
  std::uint32_t n = 0;
  while (goroutine* g = w->runq.pop()) batch[n++] = g;
  if (goroutine* g = w->run_next.exchange(nullptr, std::memory_order_acq_rel)) batch[n++] = g;
  if (n > 0) global_push_batch(batch, n);
  return n;
}


}  // namespace csp::detail
