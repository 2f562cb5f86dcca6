// main_goroutine.cpp — Go's main goroutine: csp::run, and a panic in main.
//
// csp::run(f) runs f as goroutine 1 (ids of go()'s goroutines start at 2)
// and parks the calling thread until f returns. While it runs, dumps show
// the goroutine as goroutine 1, not the main thread waiting for it.
//
// An exception that escapes main, or any plain thread, reaches
// std::terminate without unwinding. The handler installed here (chained to
// the previous one, which still handles a terminate without an exception)
// reports it as Go reports a panic in main: flush what the program wrote to
// stdout (otherwise lost when stdout is a file or a pipe), print the panic
// and the goroutines, exit 2. An exception escaping goroutine 1's function
// under run is reported by run_goroutine_body, as any goroutine's panic.
//
// Hand-off between goroutine 1 and the waiting thread: both take `mu`;
// the goroutine sets `done` and reads `waiter` under it, and readies the
// waiter only after unlocking, so the waiter's frame (which holds mu) may
// be gone the moment ready() returns; ready() itself only touches the
// waiter's thread_task, which outlives the frame.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>

#include "base/spin_mutex.hpp"
#include "csp/detail/spawn.hpp"
#include "csp/runtime.hpp"
#include "debug/fatal.hpp"
#include "sched/dump.hpp"
#include "sched/goroutine.hpp"
#include "sched/park.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

struct main_wait {
  spin_mutex mu{lock_rank::main_wait};
  bool done = false;     // guarded by mu
  task* waiter = nullptr;  // guarded by mu
};

struct main_closure {
  void (*body)(void*);
  void* arg;
  main_wait* wait;
};

std::terminate_handler previous_terminate = nullptr;

void flush_stdio() noexcept {
  try {
    std::cout.flush();
    std::cerr.flush();
  } catch (...) {
  }
  std::fflush(nullptr);
}

[[noreturn]] void on_terminate() noexcept {
  std::exception_ptr e = std::current_exception();
  if (!e) {
    if (previous_terminate != nullptr) previous_terminate();
    std::abort();
  }
  const char* what = "exception of a type not derived from std::exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  flush_stdio();
  write_stderr("panic: ");
  write_stderr(what);
  if (::getpid() == static_cast<pid_t>(::syscall(SYS_gettid))) {
    write_stderr("\n\ngoroutine 1 [running]:\n\tmain thread\n\n");
    show_main_thread.store(false, std::memory_order_relaxed);  // just printed
  } else {
    write_stderr("\n\n(in a thread that is not a goroutine) [running]\n\n");
  }
  if (scheduler::started()) dump_goroutines_to_fd(2, /*from_signal=*/false);
  ::_exit(2);
}

// Installed when libcsp is loaded, so that a program that throws out of
// main before its first csp call is reported too.
const bool terminate_handler_installed = [] {
  previous_terminate = std::set_terminate(on_terminate);
  return true;
}();

}  // namespace

void run_main(void (*body)(void*), void* arg, const source_location& created_at) {
  main_wait wait;
  void* storage = nullptr;
  goroutine* g = new_goroutine(sizeof(main_closure), alignof(main_closure), &storage, created_at);
  ::new (storage) main_closure{body, arg, &wait};
  show_main_thread.store(false, std::memory_order_relaxed);
  start_goroutine_with_id(g, main_goroutine_id, [](void* p) {
    main_closure c = *static_cast<main_closure*>(p);
    c.body(c.arg);
    task* waiter;
    {
      std::lock_guard<spin_mutex> lock(c.wait->mu);
      c.wait->done = true;
      waiter = c.wait->waiter;
    }
    if (waiter != nullptr) ready(waiter);
  });
  wait.mu.lock();
  if (!wait.done) {
    wait.waiter = current_task();
    park_unlock(wait_reason::semacquire, wait.mu);
  } else {
    wait.mu.unlock();
  }
  show_main_thread.store(true, std::memory_order_relaxed);
}

}  // namespace csp::detail
