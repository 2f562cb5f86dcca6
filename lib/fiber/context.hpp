// context.hpp — switching between fibers: the only door to Boost.Context.
//
// We use Boost.Context's fcontext layer (make_fcontext/jump_fcontext), not
// boost::context::fiber: the fiber class adds a heap record and an ontop
// call per switch that the scheduler does not need. Measured on the 2-core
// reference VM with bench/ (BM_context_switch): see docs/runtime.md.
//
// What a switch preserves: callee-saved registers, the stack pointer, the
// x87/SSE control words (fcontext saves MXCSR and the x87 CW). What it does
// NOT preserve: the signal mask, errno, and thread-local storage. A fiber
// can resume on another worker thread, so a thread_local read before a
// switch may name the wrong thread's variable after it. Runtime code reads
// its thread-locals only through the noinline accessors in
// sched/scheduler.hpp, never caching their addresses across a switch; user
// code in goroutines must not keep references to thread_local objects
// across a blocking csp call.
//
// Sanitizers: every switch tells AddressSanitizer which stack is about to
// run (__sanitizer_start/finish_switch_fiber) and ThreadSanitizer which
// fiber (__tsan_switch_to_fiber), so neither reports false positives.
#pragma once

#include <cstddef>

namespace csp::detail::fiber {

using context = void*;  // a suspended fiber's saved registers, on its own stack

// transfer: what a resumed fiber learns: the context of the fiber that
// switched to it (to resume that one later) and a word it passed along.
struct transfer {
  context from;
  void* data;
};

using entry_fn = void (*)(transfer);

// state: one fiber as the switch code sees it. For a worker's scheduler
// context (g0) the stack fields describe the thread's own stack.
struct state {
  context ctx = nullptr;           // valid only while suspended
  void* stack_bottom = nullptr;    // lowest usable address
  std::size_t stack_size = 0;
  void* asan_fake_stack = nullptr; // ASan's fake-stack handle while suspended
  void* tsan_fiber = nullptr;      // TSan's fiber; for g0 the thread's own
};

// init_fiber prepares `f` to start at `entry` on the stack [bottom,
// bottom+size) the first time it is switched to. Under TSan each fiber
// gets a fresh TSan fiber (about 0.4 ms each: sanitized tests keep their
// goroutine counts small).
void init_fiber(state& f, void* bottom, std::size_t size, entry_fn entry) noexcept;

// init_thread describes the calling thread's own context (a worker's g0).
void init_thread(state& t) noexcept;

// finish_fiber releases a finished fiber's sanitizer state. Call it from
// another fiber.
void finish_fiber(state& f) noexcept;

// switch_to suspends the caller (`self`) and resumes `target`, passing
// `data`. It returns when someone switches back to `self`; the caller must
// then store the returned `from` in that party's state. `exiting` says that
// `self` will never be resumed (its stack is about to be freed).
transfer switch_to(state& self, state& target, void* data, bool exiting = false) noexcept;

// switch_to_ontop is switch_to, but `fn` runs first on the target's stack
// (it receives {self's saved context, data} and its result is what the
// target's own switch call returns). This lets a goroutine hand its worker
// straight to the next one while the code that must run after the switch
// (release a lock, free a stack) runs on the next one's stack, without a
// round trip through the scheduler's context.
transfer switch_to_ontop(state& self, state& target, void* data, transfer (*fn)(transfer),
                         bool exiting = false) noexcept;

// started must be the first call of a fiber's entry function: it completes
// the sanitizer side of the switch that started it.
void started(state& self) noexcept;

}  // namespace csp::detail::fiber
