// context.cpp — the one file that includes Boost.Context.
#include "fiber/context.hpp"

#include <pthread.h>

#include <atomic>

#include <boost/context/detail/fcontext.hpp>

#include "debug/fatal.hpp"

#if defined(CSP_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(CSP_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace bctx = boost::context::detail;

namespace csp::detail::fiber {

namespace {
// The scheduler has one fiber entry function; make_fcontext wants a
// function of Boost's signature, so a trampoline forwards to it.
// Written by every init_fiber (always the same value) and read by new
// fibers on any worker: relaxed atomics, as the value never changes.
std::atomic<entry_fn> the_entry{nullptr};

void trampoline(bctx::transfer_t t) {
  the_entry.load(std::memory_order_relaxed)(transfer{t.fctx, t.data});
}
}  // namespace

void init_fiber(state& f, void* bottom, std::size_t size, entry_fn entry) noexcept {
  the_entry.store(entry, std::memory_order_relaxed);
  f.stack_bottom = bottom;
  f.stack_size = size;
  f.asan_fake_stack = nullptr;
  // make_fcontext takes the top of the stack: stacks grow down.
  f.ctx = bctx::make_fcontext(static_cast<char*>(bottom) + size, size, trampoline);
#if defined(CSP_TSAN)
  // Always a fresh TSan fiber: reusing one across goroutines crashed
  // gcc 12's TSan runtime (AcquireReleaseImpl) after ~50k goroutines.
  f.tsan_fiber = __tsan_create_fiber(0);
#else
  f.tsan_fiber = nullptr;
#endif
}

void init_thread(state& t) noexcept {
  pthread_attr_t attr;
  void* addr = nullptr;
  std::size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
  }
  t.stack_bottom = addr;
  t.stack_size = size;
#if defined(CSP_TSAN)
  t.tsan_fiber = __tsan_get_current_fiber();
#endif
}

void finish_fiber(state& f) noexcept {
#if defined(CSP_TSAN)
  if (f.tsan_fiber != nullptr) __tsan_destroy_fiber(f.tsan_fiber);
#endif
  f.tsan_fiber = nullptr;
  f.ctx = nullptr;
}

namespace {

// The ontop hook has Boost's signature; forward to ours.
std::atomic<transfer (*)(transfer)> the_ontop{nullptr};

bctx::transfer_t ontop_trampoline(bctx::transfer_t t) {
  transfer r = the_ontop.load(std::memory_order_relaxed)(transfer{t.fctx, t.data});
  return bctx::transfer_t{r.from, r.data};
}

// leaving tells the sanitizers that `target` is about to run in place of
// `self`; arrived, that `self` runs again. Every switch is bracketed by them.
inline void leaving(state& self, state& target, [[maybe_unused]] bool exiting) noexcept {
#if defined(CSP_ASAN)
  // A null fake-stack slot tells ASan that `self` is gone for good.
  __sanitizer_start_switch_fiber(exiting ? nullptr : &self.asan_fake_stack, target.stack_bottom,
                                 target.stack_size);
#else
  (void)self;
#endif
#if defined(CSP_TSAN)
  // flags 0: the switch synchronizes, as it does (one thread runs both).
  __tsan_switch_to_fiber(target.tsan_fiber, 0);
#else
  (void)target;
#endif
}

inline void arrived([[maybe_unused]] state& self) noexcept {
#if defined(CSP_ASAN)
  __sanitizer_finish_switch_fiber(self.asan_fake_stack, nullptr, nullptr);
#endif
}

}  // namespace

transfer switch_to(state& self, state& target, void* data, bool exiting) noexcept {
  leaving(self, target, exiting);
  bctx::transfer_t t = bctx::jump_fcontext(target.ctx, data);
  arrived(self);
  return transfer{t.fctx, t.data};
}

transfer switch_to_ontop(state& self, state& target, void* data, transfer (*fn)(transfer),
                         bool exiting) noexcept {
  // The scheduler has one hook; like the_entry it never changes.
  the_ontop.store(fn, std::memory_order_relaxed);
  leaving(self, target, exiting);
  bctx::transfer_t t = bctx::ontop_fcontext(target.ctx, data, ontop_trampoline);
  arrived(self);
  return transfer{t.fctx, t.data};
}

void started([[maybe_unused]] state& self) noexcept {
#if defined(CSP_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

}  // namespace csp::detail::fiber
