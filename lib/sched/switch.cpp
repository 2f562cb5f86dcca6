// switch.cpp — running a goroutine: a worker's g0 switches into it
// (execute), and it switches out to park, yield or exit, either straight
// to the next goroutine in the worker's own queues (a hand-off: one fiber
// switch) or back to g0 (switch_away). after_switch finishes on another
// stack what the goroutine could not do on its own (release its lock,
// queue it, free its stack).
#include "sched/scheduler.hpp"

#include "base/stack_pointer.hpp"
#include "debug/fatal.hpp"
#include "fiber/stack_guard.hpp"
#include "sched/trace.hpp"

#if defined(CSP_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace csp::detail {

void scheduler::prepare_stack(worker* w, goroutine* g) {
  if (w->stack_cache_len > 0) g->stk = w->stack_cache[--w->stack_cache_len];
  else g->stk = stack_pool::instance().allocate();
  fiber::init_fiber(g->fiber, g->stk.bottom, g->stk.size, goroutine_entry);
}

// start_running marks g as running on w, and counts the schedule: the
// monitor's samples of schedtick say how long g has held w (dump.cpp, the
// stall report; monitor.cpp, retakes). Bumped here, just before g runs, so
// that a sample that sees the new value was taken after g started, never
// before (a lower bound); no clock is read.
inline void start_running(worker* w, goroutine* g) noexcept {
  w->schedtick.store(w->schedtick.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  g->running_on.store(w->thread_no, std::memory_order_relaxed);
  g->state.store(gstate::running, std::memory_order_relaxed);
}

// exit_begun: the exit hook has begun (quiesce.cpp). Read after the
// goroutine about to run was marked running: the hook sets exiting, makes
// every thread pass a full barrier (membarrier), then looks for running
// goroutines. So either it sees ours running and waits for it, or we see
// exiting here and do not run it: no goroutine starts under the static
// destructors. The light side of that asymmetric fence is this compiler
// barrier and a relaxed load, on every switch.
inline bool exit_begun(const scheduler& s) noexcept {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return __builtin_expect(s.exiting.load(std::memory_order_relaxed), 0);
}

void scheduler::execute(worker* w, goroutine* g) {
  w->current = g;
  // The stack first: a first run's stack setup (a slab mapped, its pages
  // populated: milliseconds under a sanitizer and load) is not the
  // goroutine's running time, which start_running starts counting.
  if (!g->stk) prepare_stack(w, g);
  start_running(w, g);
  if (exit_begun(*this)) {
    g->state.store(gstate::runnable, std::memory_order_release);  // abandoned, as at exit in Go
    w->current = nullptr;
    return;  // find_runnable then stops this worker
  }
  w->stats.switches.add();
  if (__builtin_expect(trace_on, 0)) trace_run_begin(g);
  fiber::transfer t = fiber::switch_to(*w->g0, g->fiber, w);
  // Whoever comes back is not necessarily g: g may have handed the worker
  // straight to another goroutine (switch_away), and that one came back.
  goroutine* back = w->current;
  back->fiber.ctx = t.from;
  w->current = nullptr;
  after_switch(w, back);
}

void scheduler::after_switch(worker* w, goroutine* g) {
  post_switch p = w->pending;
  w->pending = post_switch{};
  switch (p.what) {
    case post_switch::action::park:
      // From here on a waker may ready g: its context is saved.
      if (p.unlock) p.unlock(p.arg);
      break;
    case post_switch::action::yield:
      g->state.store(gstate::runnable, std::memory_order_release);  // as in ready()
      // Behind this worker's own goroutines (Go's goyield; Go's Gosched
      // uses the global queue): a local push and pop instead of a global
      // queue round trip (context_switch_p1: 495 -> 247 instructions per
      // switch). Other workers still get g: a stuck worker's queue is
      // stolen from, a busy one's backlog too (wake affinity,
      // worker_loop.cpp), and a retaken slot's goes to the global queue.
      // The global queue only when the local one is full.
      if (!w->runq.push(g)) global_push(g);
      // As Go's goschedImpl calls wakep: this worker may next run a
      // goroutine that never yields, and a worker that went idle without
      // seeing the push would sleep with g queued. notify_work's seq_cst fence
      // pairs with go_idle's: either it sees the idle (or still spinning)
      // worker, or that worker's recheck (work_visible, which reads every
      // local queue) sees g.
      notify_work();
      break;
    case post_switch::action::exit: {
#if defined(CSP_ASAN)
      // The goroutine never returned from its last frames, so their
      // redzones are still poisoned; the next goroutine on this stack must
      // start clean. Deeper frames unpoisoned themselves when they
      // returned (or on a throw, through __asan_handle_no_return), so the
      // range from the exit's saved context to the top is enough: a few
      // hundred bytes, where the whole stack's shadow (128 KiB of a 1 MiB
      // stack) made 10,000 goroutine starts take seconds.
      ASAN_UNPOISON_MEMORY_REGION(g->fiber.ctx, static_cast<std::size_t>(
                                                    static_cast<char*>(g->stk.top()) -
                                                    static_cast<char*>(g->fiber.ctx)));
#endif
      fiber::finish_fiber(g->fiber);
      stack s = g->stk;
      g->stk = stack{};
      if (w->stack_cache_len == worker::stack_cache_size) {
        // Keep half, return half: a worker that alternates spawn and exit
        // does not bounce on the pool's lock.
        constexpr int half = worker::stack_cache_size / 2;
        stack_pool::instance().release(w->stack_cache + half, half);
        w->stack_cache_len = half;
      }
      w->stack_cache[w->stack_cache_len++] = s;
      registry_remove(g);
      free_goroutine(g);
      // release; pairs with the acquire in num_goroutine(): a caller that sees
      // the count drop sees everything the goroutine did.
      live_goroutines.fetch_sub(1, std::memory_order_release);
      w->stats.exited.add();
      break;
    }
    case post_switch::action::none:
      CSP_FATAL("goroutine switched to its scheduler without saying why");
  }
}

// handoff_tag, passed as a first switch's data, tells a new goroutine that
// the goroutine before it handed over directly (see switch_away).
char handoff_tag;

// resumed records, in a goroutine that was just switched back in, the
// context of the party that switched to it: a worker's g0 passes itself as
// data; a goroutine that handed over directly passes null, its context
// already saved by finish_handoff.
inline void resumed(fiber::transfer t) noexcept {
  if (t.data != nullptr) static_cast<worker*>(t.data)->g0->ctx = t.from;
}

// finish_handoff runs on the next goroutine's stack, first thing after a
// direct hand-off: it saves the previous goroutine's context and completes
// its post_switch (release its lock, queue it, or free it).
fiber::transfer finish_handoff(fiber::transfer t) {
  worker* w = current_worker();
  goroutine* prev = w->handoff_from;
  w->handoff_from = nullptr;
  prev->fiber.ctx = t.from;
  scheduler::instance().after_switch(w, prev);
  return fiber::transfer{t.from, nullptr};
}

// try_local picks the next goroutine from w's own queues (run_next first,
// bounded by the streak limit), and every 61st schedule from the global
// queue first. Here, beside the hand-off that calls it on every switch.
// Never inlined: next_for_handoff, small without it, inlines into switch_away.
__attribute__((noinline)) goroutine* scheduler::try_local(worker* w) {
  // The tick the goroutine picked here will run with (start_running).
  const std::uint32_t tick = w->schedtick.load(std::memory_order_relaxed) + 1;
  if (tick % 61 == 0 && global_.size_relaxed() > 0) {
    if (goroutine* g = try_global(w, false)) return g;
  }
  if (w->run_next_streak < run_next_streak_limit) {
    if (goroutine* g = w->run_next.exchange(nullptr, std::memory_order_acq_rel)) {
      ++w->run_next_streak;
      return g;
    }
  }
  w->run_next_streak = 0;
  if (goroutine* g = w->runq.pop()) return g;
  return w->run_next.exchange(nullptr, std::memory_order_acq_rel);
}

// Inlined into switch_away, its only caller: it runs on every switch.
inline __attribute__((always_inline)) goroutine* scheduler::next_for_handoff(worker* w) {
  // Go through the scheduler every 61st switch, so that what only it does
  // (the global queue, timers, stealing for idle peers) is never starved by
  // goroutines that keep readying each other; and always when this worker
  // must stop (retired, exiting).
  if (w->schedtick.load(std::memory_order_relaxed) % 61 == 60 || exiting.load(std::memory_order_relaxed) ||
      w->index >= nprocs_.load(std::memory_order_relaxed) ||
      lend_wanted_.load(std::memory_order_relaxed) > 0 || w->retaken.load(std::memory_order_relaxed))
    return nullptr;
  goroutine* next = try_local(w);
  if (next != nullptr) settle_poller_owed(w);
  return next;
}

void switch_away(post_switch what) noexcept {
  worker* w = current_worker();
  goroutine* g = w->current;
  if (!stack_pointer_ok(g->stk, stack_pointer())) report_stack_overflow(g);
  const bool exiting = what.what == post_switch::action::exit;
  if (__builtin_expect(trace_on, 0))
    trace_run_finish(g, exiting ? trace_run_end::exit
                       : what.what == post_switch::action::yield ? trace_run_end::yield
                                                                 : trace_run_end::park);
  w->pending = what;
  scheduler& s = scheduler::instance();
  if (goroutine* next = s.next_for_handoff(w)) {
    w->handoff_from = g;
    w->current = next;
    const bool first_run = !next->stk;
    if (first_run) s.prepare_stack(w, next);  // before the count starts (see execute)
    start_running(w, next);
    if (exit_begun(s)) {
      // Not run (see exit_begun): back to g0 instead, which stops.
      next->state.store(gstate::runnable, std::memory_order_release);
      w->handoff_from = nullptr;
      w->current = g;
      fiber::transfer t = fiber::switch_to(g->fiber, *w->g0, nullptr, exiting);
      resumed(t);
      return;
    }
    w->stats.switches.add();
    if (__builtin_expect(trace_on, 0)) trace_run_begin(next);
    fiber::transfer t;
    if (first_run) {
      // A fiber that never ran cannot take an ontop call (its first frame
      // is not a switch); it finishes the hand-off itself in
      // goroutine_entry when it sees the tag.
      t = fiber::switch_to(g->fiber, next->fiber, &handoff_tag, exiting);
    } else {
      t = fiber::switch_to_ontop(g->fiber, next->fiber, nullptr, finish_handoff, exiting);
    }
    resumed(t);
    return;
  }
  fiber::transfer t = fiber::switch_to(g->fiber, *w->g0, nullptr, exiting);
  resumed(t);
}

void goroutine_entry(fiber::transfer t) {
  if (t.data == &handoff_tag) finish_handoff(t);
  else resumed(t);
  goroutine* g = current_goroutine();
  fiber::started(g->fiber);
  run_goroutine_body(g);
  switch_away(post_switch{post_switch::action::exit});
  CSP_FATAL("a finished goroutine was resumed");
}

}  // namespace csp::detail
