// stack_pool.hpp — goroutine stacks: mmap'ed, committed a page at a time,
// reused without system calls, and given back to the OS in batches.
//
// A stack is a fixed-size range of address space (CSP_STACK_SIZE, default
// 256 KiB) that the kernel commits page by page as the goroutine touches
// it. A goroutine parked from an ordinary lambda uses one page: the one at
// the top, which the pool commits in bulk when it maps the stack
// (MADV_POPULATE_WRITE: about half the cost of faulting it in on first
// touch). Nothing else of a stack is ever touched by csp itself.
//
// Guards. Stacks are carved from slabs, each stack with a guard region of
// stack_guard_bytes (64 KiB) below it, and an overflow faults there
// (stack_guard.cpp reports "fatal error: goroutine N stack overflow"). The
// first stacks get a PROT_NONE guard (mprotect), which splits the slab's
// VMA: two VMAs per stack against vm.max_map_count (65530 on a stock
// kernel), so only a budget of a quarter of that in stacks is guarded this
// way (half the map count), leaving the rest to the program. Past the
// budget, where the kernel has guard markers (MADV_GUARD_INSTALL, Linux
// 6.13), every stack still gets a guard: a marker is a page-table entry,
// not a VMA, so it costs no map count, and it survives MADV_DONTNEED. (They
// are not used from the start because gdb's gcore, reading /proc/PID/mem,
// stops at a marker and drops the rest of the slab from the core file.)
// Without markers, slabs past the budget are unguarded (one VMA each) and
// the only check is the stack pointer's at every switch
// (stack_pointer_ok): it catches a goroutine that parks or yields deep in
// its red zone, not one that ran past its bottom and came back.
// CSP_STACK_GUARD_BUDGET=N sets the budget to N stacks and turns markers
// off (the older kernels' path; a test hook). docs/runtime.md, "Stacks",
// gives what each choice here measured.
//
// Reuse. A finished goroutine's stack goes to its worker's cache, then in
// batches to the pool's free list (LIFO: the warmest first). Releasing
// never makes a system call. The free list remembers its low-water mark:
// the fewest free stacks it held since the last trim. Stacks below that
// mark were not needed during the whole period, so trim() gives their
// pages back (MADV_DONTNEED, coalesced across adjacent stacks: one call and
// one TLB shootdown per run of stacks, not one per stack), keeping
// `retain_min` warm. An idle worker calls trim() when it is due (at most
// every trim_period_ns), so the memory of a burst of goroutines goes back
// once the burst is over and stays while it recurs.
//
// Thread safety: every member function is for any thread. Lock: mu_ is a
// leaf (no other lock is taken while it is held); system calls (mmap,
// mprotect, madvise) run outside it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "base/spin_mutex.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

struct stack {
  void* bottom = nullptr;   // lowest usable byte (just above the guard region, if any)
  std::size_t size = 0;     // usable bytes
  bool guarded = false;

  explicit operator bool() const noexcept { return bottom != nullptr; }
  void* top() const noexcept { return static_cast<char*>(bottom) + size; }
};

// stack_guard_bytes: the guard region below each stack (and the spacer
// below each unguarded one). A frame that skips it (one larger than this,
// written from its low end, in code built without -fstack-clash-protection)
// can land below it; docs/runtime.md says when.
inline constexpr std::size_t stack_guard_bytes = 64 * 1024;

// stack_red_zone: bytes at the bottom of an unguarded stack that a stack
// pointer seen at a switch must stay above.
inline constexpr std::size_t stack_red_zone = 1024;

// stack_pointer_ok is the switch-time overflow check: sp (the switching
// goroutine's stack pointer) is above its stack's red zone. It reads no
// stack memory, so it commits no page.
inline bool stack_pointer_ok(const stack& s, const void* sp) noexcept {
  return static_cast<const char*>(sp) >= static_cast<const char*>(s.bottom) + stack_red_zone;
}

class stack_pool {
 public:
  // instance returns the process's pool, configured from CSP_STACK_SIZE on
  // first use.
  static stack_pool& instance();

  std::size_t stack_size() const noexcept { return stack_size_; }

  // allocate returns a stack: a pooled one if any, else a fresh one. On
  // failure (address space, map count) it ends the process with a message
  // naming the limit: there is no way to run a goroutine without a stack.
  stack allocate();

  // release returns n stacks to the pool; their goroutines must be finished.
  void release(const stack* s, std::size_t n) noexcept;

  // trim gives back to the OS the free stacks that stayed unused since the
  // last trim, beyond retain_min, if a trim is due at `now` (CLOCK_MONOTONIC
  // ns). Makes system calls: idle workers only.
  void trim(std::int64_t now) noexcept;

  // trim_deadline: when a trim would have work to do, or INT64_MAX. One
  // relaxed load; an idle worker's sleep ends by then.
  std::int64_t trim_deadline() const noexcept { return trim_due_.load(std::memory_order_relaxed); }

  // live_stacks counts stacks handed out and not released.
  std::size_t live_stacks() const noexcept;
  // resident_free counts free stacks whose pages may be resident.
  std::size_t resident_free() const noexcept;

  static constexpr std::size_t retain_min = 256;            // stacks kept warm by trim
  static constexpr std::int64_t trim_period_ns = 200'000'000;  // 200 ms

 private:
  stack_pool();
  void grow();  // maps a slab; takes mu_ only to publish it
  void take_back(std::size_t n);
  void update_trim_due_locked() CSP_REQUIRES(mu_);

  std::size_t stack_size_;     // usable size, page multiple
  std::size_t page_;
  std::atomic<std::size_t> guard_budget_;  // mprotect-guarded stacks still allowed
  std::atomic<bool> markers_{true};   // past the budget: MADV_GUARD_INSTALL works here (and is not turned off)
  std::atomic<bool> populate_{true};  // MADV_POPULATE_WRITE works here

  mutable spin_mutex mu_{lock_rank::stack_pool};
  std::deque<stack> warm_ CSP_GUARDED_BY(mu_);    // free, pages possibly resident; back = warmest
  std::vector<stack> cold_ CSP_GUARDED_BY(mu_);   // free, pages given back
  std::size_t low_water_ CSP_GUARDED_BY(mu_) = 0;  // min warm_.size() since the last trim
  std::int64_t last_trim_ CSP_GUARDED_BY(mu_) = 0;
  std::size_t live_ CSP_GUARDED_BY(mu_) = 0;
  std::size_t returning_ CSP_GUARDED_BY(mu_) = 0;  // taken from warm_, madvise in progress
  std::atomic<std::int64_t> trim_due_{INT64_MAX};
};

// parse_stack_size reads a size like "65536", "64k", "1M"; returns 0 when
// the text is not a size within [16 KiB, 1 GiB]. Exposed for tests.
std::size_t parse_stack_size(const char* text) noexcept;

}  // namespace csp::detail
