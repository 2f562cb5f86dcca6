// goroutine_cache.cpp — see goroutine_cache.hpp.
#include "sched/goroutine_cache.hpp"

#include <mutex>
#include <new>

#include "base/spin_mutex.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

namespace {

constexpr int cache_size = 64;      // per thread
constexpr int batch = cache_size / 2;
constexpr long global_limit = 16384;  // blocks (~3.4 MB) kept for reuse process-wide

struct global_free_list {
  spin_mutex mu{lock_rank::goroutine_cache};
  goroutine* head CSP_GUARDED_BY(mu) = nullptr;  // linked through sched_next
  long size CSP_GUARDED_BY(mu) = 0;
};

global_free_list& global() {
  static global_free_list* l = new global_free_list;  // never destroyed: threads may exit late
  return *l;
}

// thread_cache is trivially constructible and destructible, so that the
// fast paths reach it with one %fs-relative access (a thread_local with a
// destructor is reached through a guard and __tls_get_addr). Returning the
// blocks of an exiting thread is exit_hook's job, armed on the slow path.
struct thread_cache {
  goroutine* items[cache_size];
  int len;

  // spill moves the last n blocks to the global list (or frees them when
  // it is full).
  void spill(int n) noexcept {
    global_free_list& gl = global();
    goroutine* to_free = nullptr;
    {
      std::lock_guard<spin_mutex> lock(gl.mu);
      for (int i = 0; i < n; ++i) {
        goroutine* g = items[--len];
        if (gl.size < global_limit) {
          g->sched_next = gl.head;
          gl.head = g;
          ++gl.size;
        } else {
          g->sched_next = to_free;
          to_free = g;
        }
      }
    }
    while (goroutine* g = to_free) {
      to_free = g->sched_next;
      delete g;
    }
  }

  // refill takes up to a batch from the global list.
  void refill() noexcept {
    global_free_list& gl = global();
    std::lock_guard<spin_mutex> lock(gl.mu);
    while (len < batch && gl.head != nullptr) {
      goroutine* g = gl.head;
      gl.head = g->sched_next;
      --gl.size;
      items[len++] = g;
    }
  }
};

// initial-exec: see park.cpp. Used only in the functions below, which
// never switch goroutines, so the thread cannot change under them.
__attribute__((tls_model("initial-exec"))) thread_local thread_cache tls_cache;

// exit_hook gives an exiting thread's cached blocks back. Touched (armed)
// only when a thread's cache is empty: before its first refill, and before
// its first give-back, since a plain thread that runs goroutines on a lent
// slot (sched/lend.cpp) may give blocks back without ever taking one.
struct exit_hook {
  ~exit_hook() {
    if (tls_cache.len > 0) tls_cache.spill(tls_cache.len);
  }
};
thread_local exit_hook tls_exit_hook;

void arm_exit_hook() noexcept {
  [[maybe_unused]] static thread_local bool armed = (static_cast<void>(&tls_exit_hook), true);
}

}  // namespace

__attribute__((noinline)) goroutine* take_goroutine() {
  thread_cache& c = tls_cache;
  if (c.len == 0) {
    arm_exit_hook();
    c.refill();
  }
  if (c.len == 0) return new goroutine();
  goroutine* g = c.items[--c.len];
  g->~goroutine();
  return ::new (static_cast<void*>(g)) goroutine();
}

__attribute__((noinline)) void give_back_goroutine(goroutine* g) noexcept {
  thread_cache& c = tls_cache;
  if (c.len == 0) arm_exit_hook();
  if (c.len == cache_size) c.spill(batch);
  c.items[c.len++] = g;
}

}  // namespace csp::detail
