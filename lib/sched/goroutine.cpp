// goroutine.cpp — creating, registering and finishing goroutines.
#include "sched/goroutine.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <typeinfo>

#include "base/registry_shard.hpp"
#include "base/spin_mutex.hpp"
#include "debug/fatal.hpp"
#include "sched/dump.hpp"
#include "sched/fork.hpp"
#include "sched/goroutine_cache.hpp"
#include "sched/scheduler.hpp"
#include "sched/trace.hpp"

namespace csp::detail {

// ---- registry -----------------------------------------------------------------
//
// Live goroutines in shards, each an intrusive list under its own lock, on
// a cache line of its own: spawn and exit on different workers rarely meet
// on a lock, and a dump can walk everything. Lock order: after sched_mu_,
// before the stack pool.
//
// Sharded by id batch (a worker takes ids 16 at a time, scheduler::new_id),
// not by id: a spawning worker then adds to one shard per batch while the
// goroutines it spawned earlier exit on another worker in other shards. By
// id, every spawn and every exit cycled through all shards and the two
// workers met on each one's lock (spawn_join_p2: registry_remove 8% of
// samples, two thirds of it the lock's CAS and release).

namespace {

constexpr int registry_shards = 64;

using goroutine_shard = registry_shard<goroutine, lock_rank::registry>;

goroutine_shard* shards() {
  static goroutine_shard* s = new goroutine_shard[registry_shards];  // never destroyed
  return s;
}

goroutine_shard& shard_of(const goroutine* g) {
  return shards()[(g->id / goroutine_id_batch) % registry_shards];
}

}  // namespace

void registry_add(goroutine* g) noexcept { shard_of(g).add(g); }

void registry_remove(goroutine* g) noexcept { shard_of(g).remove(g); }

int for_each_goroutine(void (*f)(const goroutine*, void*), void* ctx, bool try_only) {
  int skipped = 0;
  for (int i = 0; i < registry_shards; ++i) {
    goroutine_shard& s = shards()[i];
    if (try_only) {
      bool locked = false;
      for (int spin = 0; spin < 1000 && !(locked = s.mu.try_lock()); ++spin) {
      }
      if (!locked) {
        ++skipped;
        continue;
      }
    } else {
      s.mu.lock();
    }
    for (goroutine* g = s.head; g != nullptr; g = g->all_next) f(g, ctx);
    s.mu.unlock();
  }
  return skipped;
}

void registry_lock_all() noexcept CSP_NO_TSA {
  for (int i = 0; i < registry_shards; ++i) shards()[i].mu.lock();
}

void registry_unlock_all() noexcept CSP_NO_TSA {
  for (int i = registry_shards - 1; i >= 0; --i) shards()[i].mu.unlock();
}

void for_each_goroutine_locked(void (*f)(goroutine*, void*), void* ctx) noexcept CSP_NO_TSA {
  for (int i = 0; i < registry_shards; ++i)
    for (goroutine* g = shards()[i].head; g != nullptr; g = g->all_next) f(g, ctx);
}

// ---- lifecycle ------------------------------------------------------------------

// The fork() check is armed when the library is loaded, here because this
// file is linked into every program that can start the runtime.
[[maybe_unused]] const bool fork_check_armed = (install_fork_check(), true);

goroutine* new_goroutine(std::size_t size, std::size_t align, void** storage,
                         const csp::detail::source_location& created_at) {
  fatal_if_forked_away();  // no worker would ever run it (sched/fork.cpp)
  scheduler::instance();  // start the runtime on first use
  goroutine* g = take_goroutine();
  g->created_at = created_at;
  if (size <= goroutine::inline_closure_size && align <= alignof(std::max_align_t)) {
    g->closure = g->inline_closure;
  } else {
    g->closure = ::operator new(size, std::align_val_t(align));
    g->closure_heap_align = static_cast<std::uint32_t>(align);
  }
  // Zeroed, so that what the leak check reads in the closure (lib/chan/
  // leak.cpp) is what the closure put there, never an earlier allocation's
  // leftovers that happen to equal a channel's address.
  std::memset(g->closure, 0, size);
  g->closure_size = static_cast<std::uint32_t>(size);
  *storage = g->closure;
  return g;
}

void free_goroutine(goroutine* g) noexcept {
  if (g->closure_heap_align != 0)
    ::operator delete(g->closure, std::align_val_t(g->closure_heap_align));
  give_back_goroutine(g);
}

void discard_goroutine(goroutine* g) noexcept { free_goroutine(g); }

void start_goroutine(goroutine* g, closure_fn run) noexcept {
  start_goroutine_with_id(g, scheduler::instance().new_id(), run);
}

void start_goroutine_with_id(goroutine* g, std::uint64_t id, closure_fn run) noexcept {
  scheduler& s = scheduler::instance();
  g->run = run;
  g->id = id;
  registry_add(g);
  s.live_goroutines.fetch_add(1, std::memory_order_relaxed);
  if (worker* w = current_worker()) w->stats.created.add();
  else thread_stats.created.add();
  if (__builtin_expect(trace_on, 0)) trace_go(g);
  s.ready(g);
}

namespace {

// Never inlined: its 2.4 KB buffer would otherwise sit in every goroutine's
// first frame and cost each parked goroutine a second stack page.
[[noreturn, gnu::noinline]] void report_panic(const goroutine* g, const char* what) noexcept {
  std::fflush(nullptr);
  if (g->id == main_goroutine_id) {
    // A panic in main (csp::run): the dump shows goroutine 1 running, then the others.
    write_stderr("panic: ");
    write_stderr(what);
    write_stderr("\n\n");
    dump_goroutines_to_fd(2, /*from_signal=*/false);
    ::_exit(2);
  }
  char text[2400];
  std::snprintf(text, sizeof text, "panic: %s\n\ngoroutine %llu [running]:\n\tcreated at %s:%u in %s\n",
                what, static_cast<unsigned long long>(g->id), g->created_at.file_name(),
                static_cast<unsigned>(g->created_at.line()), g->created_at.function_name());
  write_stderr(text);
  ::_exit(2);
}

}  // namespace

// run_goroutine_body runs the closure (which destroys itself) and reports
// an escaping exception as Go reports an unrecovered panic: message,
// goroutine, creation site, exit status 2.
void run_goroutine_body(goroutine* g) noexcept {
  try {
    g->run(g->closure);
  } catch (const std::exception& e) {
    report_panic(g, e.what());
  } catch (...) {
    report_panic(g, "exception of a type not derived from std::exception");
  }
}

}  // namespace csp::detail
