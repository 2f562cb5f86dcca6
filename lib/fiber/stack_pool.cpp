#include "fiber/stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/madvise_ranges.hpp"
#include "debug/fatal.hpp"


namespace csp::detail {

namespace {

// Stacks per mmap: enough to amortize the system calls, few enough that a
// program with a handful of goroutines commits little (each stack's top
// page is populated when its slab is mapped). Unguarded slabs are larger:
// past the guard budget there may be a million stacks, one VMA per slab.
constexpr std::size_t stacks_per_guarded_slab = 32;
constexpr std::size_t stacks_per_unguarded_slab = 128;

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13; older kernels answer EINVAL
#endif

#if defined(CSP_ASAN) || defined(CSP_TSAN)
// Sanitized frames are several times larger.
constexpr std::size_t default_stack_size = 1024 * 1024;
#else
constexpr std::size_t default_stack_size = 256 * 1024;
#endif

std::size_t read_max_map_count() {
  std::size_t value = 65530;
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    unsigned long v = 0;
    if (std::fscanf(f, "%lu", &v) == 1 && v > 0) value = v;
    std::fclose(f);
  }
  return value;
}

}  // namespace

std::size_t parse_stack_size(const char* text) noexcept {
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text) return 0;
  unsigned long long mult = 1;
  if (*end == 'k' || *end == 'K') mult = 1024, ++end;
  else if (*end == 'm' || *end == 'M') mult = 1024 * 1024, ++end;
  if (*end == 'i' || *end == 'b' || *end == 'B') ++end;  // "64KiB", "64KB"
  if (*end == 'B') ++end;
  if (*end != '\0') return 0;
  if (v > (1ULL << 40) / mult) return 0;
  v *= mult;
  if (v < 16 * 1024 || v > (1ULL << 30)) return 0;
  return static_cast<std::size_t>(v);
}

stack_pool& stack_pool::instance() {
  // Never destroyed: goroutines abandoned at exit keep their stacks.
  static stack_pool* pool = new stack_pool();
  return *pool;
}

stack_pool::stack_pool() {
  page_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::size_t size = default_stack_size;
  if (const char* env = std::getenv("CSP_STACK_SIZE")) {
    std::size_t parsed = parse_stack_size(env);
    if (parsed == 0) {
      char msg[256];
      std::snprintf(msg, sizeof msg,
                    "csp: ignoring CSP_STACK_SIZE=%.64s: want a size from 16k to 1G "
                    "(e.g. 65536, 64k, 1M); using %zu\n",
                    env, size);
      write_stderr(msg);
    } else {
      size = parsed;
    }
  }
  stack_size_ = (size + page_ - 1) / page_ * page_;
  // Two VMAs per mprotect-guarded stack: half the process's map count goes
  // to guards, the other half stays the program's (and the unguarded slabs').
  std::size_t budget = read_max_map_count() / 4;
  if (const char* env = std::getenv("CSP_STACK_GUARD_BUDGET")) {
    // The older kernels' path, with a budget a test can reach.
    char* end = nullptr;
    unsigned long long v = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0') {
      budget = static_cast<std::size_t>(v);
      markers_.store(false, std::memory_order_relaxed);
    }
  }
  guard_budget_.store(budget, std::memory_order_relaxed);
}

// install_markers puts a guard marker over each stack's guard region (one
// system call per slab where the kernel batches: base/madvise_ranges.hpp);
// false if the first one fails (a kernel without markers answers EINVAL;
// then nothing was installed).
static bool install_markers(char* base, std::size_t count, std::size_t stride) noexcept {
  const std::size_t done = madvise_ranges(base, stride, stack_guard_bytes, count, MADV_GUARD_INSTALL);
  if (done == count) return true;
  if (done == 0 && errno == EINVAL) return false;
  // Mid-slab (ENOMEM for page tables): the stacks above would go
  // unguarded, and there is no memory to run them anyway.
  char msg[160];
  std::snprintf(msg, sizeof msg, "out of memory: cannot install goroutine stack guards: %s",
                std::strerror(errno));
  fatal_user(msg);
}

// populate_tops commits the top page of each of n stacks `stride` apart,
// the lowest one's top at `lowest_top`, where their goroutines' first
// frames go: about half the cost of faulting each in at first touch, in one
// system call per slab where the kernel batches (base/madvise_ranges.hpp).
static void populate_tops(char* lowest_top, std::size_t stride, std::size_t n, std::size_t page,
                          std::atomic<bool>& enabled) noexcept {
  if (!enabled.load(std::memory_order_relaxed)) return;
  if (madvise_ranges(lowest_top - page, stride, page, n, MADV_POPULATE_WRITE) == 0 && errno == EINVAL)
    enabled.store(false, std::memory_order_relaxed);  // a kernel without it: pages fault in on touch
}

void stack_pool::grow() {
  const std::size_t stride = stack_size_ + stack_guard_bytes;  // guard region (or spacer) below each stack
  // mprotect guards while the budget lasts (gdb's gcore reads around them,
  // not across a marker: stack_pool.hpp), then guard markers, else none.
  std::size_t budget = guard_budget_.load(std::memory_order_relaxed);
  bool guarded = false;
  while (budget >= stacks_per_guarded_slab &&
         !(guarded = guard_budget_.compare_exchange_weak(budget, budget - stacks_per_guarded_slab,
                                                         std::memory_order_relaxed))) {
  }
  const bool markers = !guarded && markers_.load(std::memory_order_relaxed);
  // Marker-guarded slabs cost one VMA whatever their size: as large as the
  // unguarded ones.
  std::size_t count = guarded ? stacks_per_guarded_slab : stacks_per_unguarded_slab;
  void* base = ::mmap(nullptr, stride * count, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    char msg[320];
    std::snprintf(msg, sizeof msg,
                  "out of memory: cannot map goroutine stacks (%zu live stacks of %zu KiB; "
                  "lower CSP_STACK_SIZE or raise vm.max_map_count): %s",
                  live_stacks(), stack_size_ / 1024, std::strerror(errno));
    fatal_user(msg);
  }
  char* lo = static_cast<char*>(base);
  if (markers && !install_markers(lo, count, stride)) {
    // A kernel before 6.13: unguarded slabs from now on.
    markers_.store(false, std::memory_order_relaxed);
  } else if (markers) {
    guarded = true;
  }
  stack fresh[stacks_per_unguarded_slab];
  for (std::size_t i = 0; i < count; ++i) {
    char* guard = lo + i * stride;
    stack s{guard + stack_guard_bytes, stack_size_, guarded};
    if (guarded && !markers && ::mprotect(guard, stack_guard_bytes, PROT_NONE) != 0) s.guarded = false;
    fresh[count - 1 - i] = s;  // the lowest address is handed out first
  }
  populate_tops(static_cast<char*>(fresh[count - 1].top()), stride, count, page_, populate_);
  std::lock_guard<spin_mutex> lock(mu_);
  for (std::size_t i = 0; i < count; ++i) warm_.push_back(fresh[i]);
}

stack stack_pool::allocate() {
  for (;;) {
    stack s;
    {
      std::lock_guard<spin_mutex> lock(mu_);
      if (!warm_.empty()) {
        s = warm_.back();
        warm_.pop_back();
        if (warm_.size() < low_water_) low_water_ = warm_.size();
        ++live_;
        return s;
      }
      if (!cold_.empty()) {
        s = cold_.back();
        cold_.pop_back();
        ++live_;
      }
    }
    if (s) {
      populate_tops(static_cast<char*>(s.top()), 0, 1, page_, populate_);
      return s;
    }
    grow();
  }
}

void stack_pool::release(const stack* s, std::size_t n) noexcept {
  std::lock_guard<spin_mutex> lock(mu_);
  for (std::size_t i = 0; i < n; ++i) warm_.push_back(s[i]);
  live_ -= n;
  update_trim_due_locked();
}

void stack_pool::update_trim_due_locked() {
  if (warm_.size() > retain_min && trim_due_.load(std::memory_order_relaxed) == INT64_MAX)
    trim_due_.store(last_trim_ + trim_period_ns, std::memory_order_relaxed);
}

void stack_pool::trim(std::int64_t now) noexcept {
  if (now < trim_due_.load(std::memory_order_relaxed)) return;
  std::size_t excess;
  {
    std::lock_guard<spin_mutex> lock(mu_);
    if (now < trim_due_.load(std::memory_order_relaxed)) return;  // another worker trimmed
    excess = std::min(low_water_, warm_.size());
    excess = excess > retain_min ? excess - retain_min : 0;
    last_trim_ = now;
    // A stack taken from now on counts against the next trim's excess.
    low_water_ = warm_.size() - excess;
    trim_due_.store(low_water_ > retain_min ? now + trim_period_ns : INT64_MAX,
                    std::memory_order_relaxed);
  }
  take_back(excess);
}

// take_back moves up to n of the coldest free stacks to cold_, giving
// their pages back to the OS: sorted by address, so that each run of
// adjacent stacks (a slab's) costs one madvise and one TLB shootdown.
void stack_pool::take_back(std::size_t n) {
  if (n == 0) return;
  std::vector<stack> out;
  out.reserve(n);
  {
    std::lock_guard<spin_mutex> lock(mu_);
    n = std::min(n, warm_.size());
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(warm_.front());
      warm_.pop_front();
    }
    returning_ += n;
  }
  std::sort(out.begin(), out.end(), [](const stack& a, const stack& b) { return a.bottom < b.bottom; });
  for (std::size_t i = 0; i < out.size();) {
    char* lo = static_cast<char*>(out[i].bottom);
    char* hi = static_cast<char*>(out[i].top());
    std::size_t j = i + 1;
    // The next stack of the slab starts one guard region (or spacer) above.
    while (j < out.size() && static_cast<char*>(out[j].bottom) == hi + stack_guard_bytes)
      hi = static_cast<char*>(out[j++].top());
    // The pages read as zero again; the guard regions between keep
    // PROT_NONE or their markers (MADV_DONTNEED leaves both).
    ::madvise(lo, static_cast<std::size_t>(hi - lo), MADV_DONTNEED);
    i = j;
  }
  std::lock_guard<spin_mutex> lock(mu_);
  cold_.insert(cold_.end(), out.begin(), out.end());
  returning_ -= out.size();
}

std::size_t stack_pool::live_stacks() const noexcept {
  std::lock_guard<spin_mutex> lock(mu_);
  return live_;
}

std::size_t stack_pool::resident_free() const noexcept {
  std::lock_guard<spin_mutex> lock(mu_);
  return warm_.size() + returning_;
}

}  // namespace csp::detail
