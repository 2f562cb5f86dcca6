// stack_pool.hpp — goroutine stacks: mmap'ed, lazily committed, reused.
//
// A stack is a fixed-size range of address space (CSP_STACK_SIZE, default
// 256 KiB) that the kernel commits page by page as the goroutine touches
// it, so a parked goroutine that used little stack costs one or two pages.
//
// Stacks are carved from slabs of many stacks per mmap. While the guard
// budget lasts, each stack gets a PROT_NONE guard page below it, and an
// overflow faults there (stack_guard.cpp turns the fault into "fatal error:
// goroutine N stack overflow"). Guard pages split VMAs, and a stock kernel
// allows only vm.max_map_count (65530) of them per process, so a million
// goroutines cannot all have one: past the budget (an eighth of the limit),
// slabs are unguarded, one VMA each, and the lowest word of each stack (a
// red zone that must stay zero) is checked whenever its goroutine switches
// out. That check catches most overflows after the fact; it cannot stop
// the write.
//
// Reuse: a finished goroutine's stack goes to its worker's cache, then to
// the global pool. The pool keeps up to `warm_limit` stacks as they are;
// beyond that it madvise(MADV_DONTNEED)s them so their memory goes back to
// the OS while the address range stays reserved for the next goroutine.
//
// Thread affinity: allocate/release are for any thread; callers batch
// through a per-worker stack_cache (sched/worker) to stay off the lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/spin_mutex.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

struct stack {
  void* bottom = nullptr;   // lowest usable byte (just above the guard page, if any)
  std::size_t size = 0;     // usable bytes
  bool guarded = false;

  explicit operator bool() const noexcept { return bottom != nullptr; }
  void* top() const noexcept { return static_cast<char*>(bottom) + size; }
};

// canary_intact checks an unguarded stack's red zone: its lowest word,
// which no goroutine may reach, is still zero. It is never written by csp:
// a fresh (or madvised) page reads as zero from the kernel's shared zero
// page, so the check costs no resident memory, where writing a canary
// would commit a second page per parked goroutine.
inline bool canary_intact(const stack& s) noexcept {
  return s.guarded || *static_cast<const volatile std::uint64_t*>(s.bottom) == 0;
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

  // release returns a stack to the pool. Its goroutine must be finished.
  void release(const stack& s) noexcept;

  // live_stacks counts stacks handed out and not released.
  std::size_t live_stacks() const noexcept;

 private:
  stack_pool();
  void grow_locked() CSP_REQUIRES(mu_);

  std::size_t stack_size_;     // usable size, page multiple
  std::size_t page_;
  std::size_t guard_budget_;   // guarded stacks still allowed

  // Lock order: a leaf; nothing is taken while mu_ is held.
  mutable spin_mutex mu_;
  std::vector<stack> warm_ CSP_GUARDED_BY(mu_);   // pages possibly resident
  std::vector<stack> cold_ CSP_GUARDED_BY(mu_);   // pages returned to the OS
  std::size_t live_ CSP_GUARDED_BY(mu_) = 0;
  std::size_t mapped_ CSP_GUARDED_BY(mu_) = 0;

  // 16384 stacks: a program that starts ten thousand goroutines a round
  // (wg_fanout) reuses warm stacks instead of faulting fresh pages (15 µs
  // each here) and paying a TLB shootdown per madvise. Shallow goroutines
  // leave one or two pages each (64–128 MiB kept at most); returning memory
  // off the exit path, by an idle worker, is the better fix (issue 5).
  static constexpr std::size_t warm_limit = 16384;
};

// parse_stack_size reads a size like "65536", "64k", "1M"; returns 0 when
// the text is not a size within [16 KiB, 1 GiB]. Exposed for tests.
std::size_t parse_stack_size(const char* text) noexcept;

}  // namespace csp::detail
