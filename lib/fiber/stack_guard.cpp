#include "fiber/stack_guard.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "base/fixed_text.hpp"
#include "debug/fatal.hpp"
#include "fiber/stack_pool.hpp"
#include "sched/dump.hpp"
#include "sched/goroutine.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

struct sigaction previous_segv;
struct sigaction previous_bus;

// How far below a stack's bottom a fault still counts as its overflow: the
// guard region (stack_pool.hpp). A frame larger than it can skip over it
// (-fstack-clash-protection makes such frames probe every page).
constexpr std::uintptr_t overflow_reach = stack_guard_bytes;

bool is_overflow(const goroutine* g, std::uintptr_t addr, std::uintptr_t sp) noexcept {
  if (g == nullptr || !g->stk) return false;
  auto bottom = reinterpret_cast<std::uintptr_t>(g->stk.bottom);
  bool fault_below = addr < bottom && addr + overflow_reach >= bottom;
  // Past the mprotect guard budget (kernels without guard markers) nothing
  // stops an overflow at its own stack's bottom: it runs down through the
  // unguarded stacks below, and whatever else is mapped there, until it
  // faults somewhere, its stack pointer far below its stack. So any stack pointer below the running goroutine's
  // stack is its overflow, except on the worker's own stack (g0), where
  // the scheduler runs for a moment with the goroutine still current.
  bool on_g0 = false;
  if (const worker* w = current_worker()) {
    auto lo = reinterpret_cast<std::uintptr_t>(w->g0->stack_bottom);
    on_g0 = sp >= lo && sp < lo + w->g0->stack_size;
  }
  bool sp_below = sp < bottom + 256 && !on_g0;
  return fault_below || sp_below;
}

void on_fault(int sig, siginfo_t* info, void* uctx) {
  // Direct TLS reads are fine here: the handler runs on the faulting thread.
  goroutine* g = current_goroutine();
  std::uintptr_t sp = 0;
#if defined(__x86_64__)
  sp = static_cast<std::uintptr_t>(static_cast<ucontext_t*>(uctx)->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  sp = static_cast<std::uintptr_t>(static_cast<ucontext_t*>(uctx)->uc_mcontext.sp);
#endif
  if (is_overflow(g, reinterpret_cast<std::uintptr_t>(info->si_addr), sp)) report_stack_overflow(g);
  // Not ours: put the previous handler back and return; the faulting
  // instruction runs again and faults into it.
  sigaction(sig, sig == SIGSEGV ? &previous_segv : &previous_bus, nullptr);
}

void on_quit(int) {
  write_stderr("SIGQUIT: quit\n\n");
  dump_goroutines_to_fd(2, /*from_signal=*/true);
  ::_exit(2);
}

}  // namespace

void report_stack_overflow(const goroutine* g) noexcept {
  // In a signal handler: async-signal-safe formatting only.
  fixed_text<200> msg;
  msg.add("goroutine ").add_uint(g->id).add(" stack overflow (stack size ").add_uint(g->stk.size / 1024);
  msg.add(" KiB; set CSP_STACK_SIZE to raise it)");
  fatal_user(msg.c_str());
}

void install_stack_guard() noexcept {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &previous_segv);
  sigaction(SIGBUS, &sa, &previous_bus);
}

void install_alt_signal_stack() noexcept {
  // 64 KiB: the overflow report and the SIGQUIT dump format on it;
  // SIGSTKSZ is too tight for their buffers.
  constexpr std::size_t size = 64 * 1024;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;  // overflows then crash plainly instead of being named
  stack_t ss;
  ss.ss_sp = mem;
  ss.ss_size = size;
  ss.ss_flags = 0;
  sigaltstack(&ss, nullptr);
}

void install_quit_handler() noexcept {
  struct sigaction old;
  if (sigaction(SIGQUIT, nullptr, &old) != 0) return;
  if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) return;  // the program handles it
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_quit;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGQUIT, &sa, nullptr);
}

}  // namespace csp::detail
