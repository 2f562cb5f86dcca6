// lock_rank.cpp — the lock order's table and, in checked builds, the
// per-thread stack of held locks that enforces it (lock_rank.hpp).
#include "debug/lock_rank.hpp"

#include <unistd.h>

#include <cstdlib>

#include "debug/fatal.hpp"

namespace csp::detail {

namespace {

struct rank_info {
  int rank;
  const char* name;
};

// Indexed by lock_rank; the table at the top of lock_rank.hpp.
constexpr rank_info infos[] = {
    {0, "unranked lock"},
    {1, "netpoll set-up"},
    {2, "blocking pool"},
    {3, "poll descriptor"},
    {5, "timer heap"},
    {7, "errgroup"},
    {8, "context"},
    {10, "channel"},
    {10, "semaphore table slot"},
    {12, "csp::run hand-off"},
    {28, "gomaxprocs"},
    {30, "scheduler"},
    {45, "channel registry shard"},
    {50, "goroutine registry shard"},
    {52, "poll descriptor pool"},
    {55, "goroutine cache"},
    {60, "stack pool"},
    {70, "trace buffer list"},
    {71, "trace buffer flush"},
    {72, "trace file"},
};
static_assert(sizeof infos / sizeof infos[0] == static_cast<int>(lock_rank::count_));

}  // namespace

int lock_rank_of(lock_rank k) noexcept { return infos[static_cast<int>(k)].rank; }

const char* lock_rank_name(lock_rank k) noexcept { return infos[static_cast<int>(k)].name; }

#if CSP_LOCK_RANK_CHECK

namespace {

// A held lock. Locks of a multi kind taken in a row (address order:
// select's channels, a registry's shards) share one entry: `addr` is the highest address taken, `count` how many
// are held, so a select over thousands of channels needs one slot. A
// release only counts down (which channel of the run it was is not
// recorded), so `addr` stays at the old highest: stricter than needed,
// never looser.
struct held_lock {
  lock_rank kind;
  const void* addr;
  unsigned count;
};

// The kinds that may be held several at a time, in address order
// (lock_rank.hpp).
bool multi(lock_rank k) noexcept {
  return k == lock_rank::channel || k == lock_rank::chan_registry || k == lock_rank::registry;
}

constexpr int max_held = 32;

struct held_stack {
  int n = 0;
  held_lock e[max_held];
};

// Touched only inside the never-inlined functions below, so a goroutine
// that moves to another thread between two lock operations never uses the
// previous thread's stack (see CSP_TLS_ACCESSOR in sched/scheduler.hpp).
thread_local held_stack tls_held;

// append_* build the message in a fixed buffer: no allocation, no stdio.
struct text {
  char buf[2048];
  int len = 0;
  void add(const char* s) noexcept {
    while (*s != '\0' && len < static_cast<int>(sizeof buf) - 1) buf[len++] = *s++;
  }
  void add_int(long v) noexcept {
    char d[24];
    int i = 0;
    bool neg = v < 0;
    unsigned long u = neg ? 0UL - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
    do {
      d[i++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (neg) add("-");
    char one[2] = {0, 0};
    while (i > 0) {
      one[0] = d[--i];
      add(one);
    }
  }
  void add_ptr(const void* p) noexcept {
    static constexpr char hex[] = "0123456789abcdef";
    auto u = reinterpret_cast<std::uintptr_t>(p);
    char d[2 + 2 * sizeof u + 1];
    int i = 0;
    d[i++] = '0';
    d[i++] = 'x';
    bool started = false;
    for (int shift = static_cast<int>(8 * sizeof u) - 4; shift >= 0; shift -= 4) {
      unsigned nib = static_cast<unsigned>((u >> shift) & 0xf);
      if (nib != 0 || started || shift == 0) {
        d[i++] = hex[nib];
        started = true;
      }
    }
    d[i] = '\0';
    add(d);
  }
  void add_kind(lock_rank k) noexcept {
    add(lock_rank_name(k));
    add(" (rank ");
    add_int(lock_rank_of(k));
    add(")");
  }
};

[[noreturn]] void report(const char* what, lock_rank k, const void* addr, const held_lock* bad) noexcept {
  text t;
  t.add("fatal error: lock ordering problem: ");
  t.add(what);
  t.add(" ");
  t.add_kind(k);
  if (bad != nullptr) {
    t.add(" while holding ");
    t.add_kind(bad->kind);
  }
  t.add("\n\nthis thread holds (oldest first):\n");
  const held_stack& h = tls_held;
  for (int i = 0; i < h.n; ++i) {
    t.add("\t");
    t.add_kind(h.e[i].kind);
    t.add(h.e[i].count > 1 ? ", highest at " : " at ");
    t.add_ptr(h.e[i].addr);
    if (h.e[i].count > 1) {
      t.add(", ");
      t.add_int(h.e[i].count);
      t.add(" held");
    }
    t.add("\n");
  }
  if (h.n == 0) t.add("\tnothing\n");
  t.add("the lock: ");
  t.add_ptr(addr);
  t.add("; the order is in lib/debug/lock_rank.hpp\n");
  t.buf[t.len] = '\0';
  write_stderr(t.buf);
  std::abort();
}

void push(held_stack& h, lock_rank k, const void* lock) noexcept {
  if (h.n > 0 && multi(k) && h.e[h.n - 1].kind == k) {
    held_lock& top = h.e[h.n - 1];
    if (lock > top.addr) top.addr = lock;
    ++top.count;
    return;
  }
  if (h.n == max_held) CSP_FATAL("lock rank check: more than 32 locks held by one thread");
  h.e[h.n++] = held_lock{k, lock, 1};
}

void erase(held_stack& h, int i) noexcept {
  for (int j = i; j + 1 < h.n; ++j) h.e[j] = h.e[j + 1];
  --h.n;
}

}  // namespace

__attribute__((noinline)) void lock_rank_acquire(lock_rank k, const void* lock) noexcept {
  if (k == lock_rank::unranked) return;
  held_stack& h = tls_held;
  const int r = lock_rank_of(k);
  for (int i = 0; i < h.n; ++i) {
    const held_lock& e = h.e[i];
    const int held = lock_rank_of(e.kind);
    if (held < r) continue;
    if (e.kind == k && multi(k) && e.addr < lock) continue;  // address order
    report("acquiring", k, lock, &e);
  }
  push(h, k, lock);
}

__attribute__((noinline)) void lock_rank_acquired(lock_rank k, const void* lock) noexcept {
  if (k == lock_rank::unranked) return;
  push(tls_held, k, lock);
}

__attribute__((noinline)) void lock_rank_release(lock_rank k, const void* lock) noexcept {
  if (k == lock_rank::unranked) return;
  held_stack& h = tls_held;
  int found = -1;
  for (int i = h.n - 1; i >= 0 && found < 0; --i)
    if (h.e[i].kind == k && (h.e[i].addr == lock || multi(k))) found = i;
  if (found < 0) report("releasing a lock this thread does not hold:", k, lock, nullptr);
  if (--h.e[found].count == 0) erase(h, found);
}

#endif  // CSP_LOCK_RANK_CHECK

}  // namespace csp::detail
