#include "fiber/stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "debug/fatal.hpp"


namespace csp::detail {

namespace {

// Stacks per mmap: enough to amortize the system call and the VMA, few
// enough that a program with a handful of goroutines reserves little.
constexpr std::size_t stacks_per_slab = 32;

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
  // Each guarded stack costs about two VMAs; leave three quarters of the
  // process's map count to the program and to unguarded slabs.
  guard_budget_ = read_max_map_count() / 8;
}

void stack_pool::grow_locked() {
  const bool guarded = guard_budget_ >= stacks_per_slab;
  const std::size_t stride = stack_size_ + page_;  // guard page (or spacer) below each stack
  const std::size_t bytes = stride * stacks_per_slab;
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    char msg[320];
    std::snprintf(msg, sizeof msg,
                  "out of memory: cannot map goroutine stacks (%zu live stacks of %zu KiB; "
                  "lower CSP_STACK_SIZE or raise vm.max_map_count): %s",
                  live_, stack_size_ / 1024, std::strerror(errno));
    fatal_user(msg);
  }
  mapped_ += stacks_per_slab;
  for (std::size_t i = 0; i < stacks_per_slab; ++i) {
    char* lo = static_cast<char*>(base) + i * stride;
    stack s{lo + page_, stack_size_, guarded};
    if (guarded) {
      if (::mprotect(lo, page_, PROT_NONE) != 0) s.guarded = false;
    }
    cold_.push_back(s);
  }
  if (guarded) guard_budget_ -= stacks_per_slab;
}

stack stack_pool::allocate() {
  std::lock_guard<spin_mutex> lock(mu_);
  stack s;
  if (!warm_.empty()) {
    s = warm_.back();
    warm_.pop_back();
  } else {
    if (cold_.empty()) grow_locked();
    s = cold_.back();
    cold_.pop_back();
  }
  ++live_;
  return s;
}

void stack_pool::release(const stack& s) noexcept {
  std::unique_lock<spin_mutex> lock(mu_);
  --live_;
  if (warm_.size() < warm_limit) {
    warm_.push_back(s);
    return;
  }
  lock.unlock();
  // Give the pages back but keep the range; they read as zero again.
  ::madvise(s.bottom, s.size, MADV_DONTNEED);
  lock.lock();
  cold_.push_back(s);
}

std::size_t stack_pool::live_stacks() const noexcept {
  std::lock_guard<spin_mutex> lock(mu_);
  return live_;
}

}  // namespace csp::detail
