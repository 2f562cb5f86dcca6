// goroutine.hpp — the control blocks of everything that can park.
//
// A task is a goroutine or a plain OS thread blocked in a csp operation.
// A goroutine is a fiber plus this control block; its stack is attached
// when it first runs (so a million queued-but-unstarted goroutines cost
// only their control blocks) and returned to the pool when it finishes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/mono_clock.hpp"  // coarse_now_ns, mono_now_ns
#include "csp/detail/source_location.hpp"
#include "csp/detail/spawn.hpp"
#include "fiber/context.hpp"
#include "fiber/stack_pool.hpp"
#include "sched/park.hpp"

namespace csp::detail {

struct worker;

// gstate: who owns a goroutine and its stack in each state (Go's _G*).
enum class gstate : std::uint8_t {
  idle,      // created, closure being built; owned by the creator; no stack
  runnable,  // on a run queue or in a run_next slot; not executing; owned by that queue
  running,   // executing on a worker; owned by that worker
  waiting,   // parked; owned by whoever holds its waiter (a channel, a lock, a timer)
};

struct task {
  enum class kind : std::uint8_t { goroutine, thread };
  explicit task(kind k) noexcept : kind_(k) {}
  const kind kind_;
  // reason: why it is parked; relaxed: written by the task itself before
  // park, read only by goroutine dumps, which tolerate a stale value.
  std::atomic<wait_reason> reason{wait_reason::none};
  // park_seq counts this task's parks; the leak check (lib/chan/leak.cpp)
  // compares it before and after to know the task stayed parked. Written by
  // the task itself before the release store that publishes the park
  // (goroutine::state), read by the checker.
  std::atomic<std::uint32_t> park_seq{0};
  // since: when it last parked (sched/sampled_clock.hpp: the monitor's
  // last reading, up to a period early), for dumps only: waiting states
  // show a duration, as in Go's. Runnable and running states show none
  // from it (a stall is measured from the monitor's samples, dump.cpp), so
  // neither ready nor a switch stamps anything.
  std::atomic<std::int64_t> since{0};
  // The channels a task parked in a channel operation waits on, for the
  // leak check: wait_on is a chan_core* when wait_n == -1, a `const scase*`
  // of wait_n cases (a select) when wait_n >= 0. Set by the task itself
  // before it parks (relaxed; published with park_seq).
  std::atomic<const void*> wait_on{nullptr};
  std::atomic<std::int32_t> wait_n{0};
  // park_sp: a goroutine's stack pointer when it last parked (park()'s
  // frame; every frame of the goroutine's own code is above it), for the
  // leak check's stack scan. Published with park_seq.
  std::atomic<const void*> park_sp{nullptr};
  // trace_flow: the id of the trace flow arrow from whoever readied this
  // task to its next run (lib/sched/trace.cpp); written by the readier
  // before ready() publishes the task, only while tracing.
  std::uint64_t trace_flow = 0;
};

struct goroutine final : task {
  goroutine() noexcept : task(kind::goroutine) {}

  std::uint64_t id = 0;
  csp::detail::source_location created_at;
  std::atomic<gstate> state{gstate::idle};
  // running_on: the number of the worker thread it last ran on, for the stall
  // report; relaxed, written at switch-in, read only by dumps.
  std::atomic<std::int32_t> running_on{-1};
  std::uint32_t closure_heap_align = 0;  // non-zero: closure is a heap block of this alignment
  std::uint32_t closure_size = 0;        // bytes of the closure object, for the leak check's scan

  fiber::state fiber;           // saved context while not running
  stack stk;                    // empty until first run

  closure_fn run = nullptr;
  void* closure = nullptr;      // inline_closure or a heap block

  goroutine* sched_next = nullptr;  // link in the free list of control blocks (goroutine_cache.cpp)

  // Registry of live goroutines, for dumps and deadlock reports; guarded by
  // the registry shard's lock (sched/goroutine.cpp).
  goroutine* all_prev = nullptr;
  goroutine* all_next = nullptr;

  // Closures up to this size live here, so go() does not allocate twice.
  // 48 bytes hold a lambda capturing six pointers or channel handles; the
  // control block (240 bytes) then fits a 256-byte malloc chunk (see
  // mem_parked; the leak check's and the trace's fields cost 32 of them).
  static constexpr std::size_t inline_closure_size = 48;
  alignas(std::max_align_t) unsigned char inline_closure[inline_closure_size];
};

// thread_task: a plain OS thread's stand-in while it blocks in csp.
// A parked thread's woken word: see wait_woken in park.cpp.
inline constexpr std::uint32_t woken_parked = 0, woken_ready = 1, woken_sleeping = 2;

struct thread_task final : task {
  thread_task() noexcept : task(kind::thread) {}
  // woken: the futex word of park/ready for threads (park.cpp,
  // wait_woken). release in ready() pairs with the acquire in park().
  std::atomic<std::uint32_t> woken{woken_ready};
};

// main_goroutine_id is csp::run's goroutine, Go's main goroutine; go()'s
// goroutines are numbered from 2, so the main thread, shown as goroutine 1
// in dumps when it blocks, never shares a number with one of them.
inline constexpr std::uint64_t main_goroutine_id = 1;

// start_goroutine_with_id is start_goroutine (csp/detail/spawn.hpp) with
// the id chosen by the caller (csp::run's goroutine 1).
void start_goroutine_with_id(goroutine* g, std::uint64_t id, closure_fn run) noexcept;

// goroutine_id_batch: goroutine ids are handed to workers this many at a
// time (scheduler::new_id); the registry shards by batch.
inline constexpr std::uint64_t goroutine_id_batch = 16;

// registry: every live goroutine, for dump_goroutines.
void registry_add(goroutine* g) noexcept;
void registry_remove(goroutine* g) noexcept;
// for_each_goroutine calls f(g, ctx) for every live goroutine. With
// try_only (signal handlers), a shard whose lock is busy is skipped and
// counted in the return value.
int for_each_goroutine(void (*f)(const goroutine*, void*), void* ctx, bool try_only);

// registry_lock_all takes every registry shard lock, in index order, so
// that no goroutine is added or freed until registry_unlock_all (the leak
// check); for_each_goroutine_locked walks the registry meanwhile.
void registry_lock_all() noexcept;
void registry_unlock_all() noexcept;
void for_each_goroutine_locked(void (*f)(goroutine*, void*), void* ctx) noexcept;

// free_goroutine destroys a finished or never-started control block.
void free_goroutine(goroutine* g) noexcept;

}  // namespace csp::detail
