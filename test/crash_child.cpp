// crash_child.cpp — programs that end the way Go programs end: by panic,
// deadlock, stack overflow, SIGQUIT, or main returning with goroutines still
// running. process_test.cpp runs each mode and checks status and output.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include <csp/go.hpp>

#include "park_event.hpp"

using namespace std::chrono_literals;

namespace {

// block_forever parks the caller with no way to be woken.
void block_forever(csp::detail::wait_reason why = csp::detail::wait_reason::chan_receive) {
  csp::detail::park(why, nullptr, nullptr);
}

int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  return recurse(depth + 1) + frame[0];
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "panic") {
    csp::go([] { throw std::runtime_error("something went wrong"); });
    std::this_thread::sleep_for(10s);
    return 0;
  }
  if (mode == "panic_unknown") {
    csp::go([] { throw 42; });
    std::this_thread::sleep_for(10s);
    return 0;
  }
  if (mode == "deadlock_main_only") {
    block_forever();  // main blocks, no goroutine exists
    return 0;
  }
  if (mode == "deadlock") {
    std::atomic<int> parked{0};
    for (int i = 0; i < 3; ++i)
      csp::go([&] {
        parked++;
        block_forever(csp::detail::wait_reason::chan_send);
      });
    while (parked.load() < 3) std::this_thread::yield();
    block_forever();
    return 0;
  }
  if (mode == "deadlock_chan") {
    // Go's classic: main receives from a channel nobody will ever send on,
    // while a goroutine waits to send on another one.
    auto never = csp::make_chan<int>();
    auto other = csp::make_chan<int>();
    csp::go([other] { other.send(1); });
    (void)never.recv();
    return 0;
  }
  if (mode == "deadlock_mutex") {
    csp::sync::mutex mu;
    mu.lock();
    csp::go([&mu] { mu.lock(); });
    mu.lock();  // main waits for itself
    return 0;
  }
  if (mode == "no_deadlock_timer") {
    // Everything is blocked, but a timer will fire: no report.
    auto done = csp::make_chan<>();
    csp::time::after_func(std::chrono::milliseconds(200), [done] { done.close(); });
    (void)done.recv();
    std::puts("timer fired");
    return 0;
  }
  if (mode == "no_deadlock_other_thread") {
    // main blocks, all goroutines block, but another thread will wake main:
    // no report may be made; the program exits 0.
    csp_test::park_event e;
    csp::go([] { block_forever(); });
    std::thread t([&] {
      std::this_thread::sleep_for(300ms);
      e.notify();
    });
    e.wait();
    t.join();
    std::puts("woken");
    return 0;
  }
  if (mode == "main_returns") {
    // Goroutines still running and blocked when main returns are abandoned.
    for (int i = 0; i < 4; ++i)
      csp::go([] {
        for (;;) csp::runtime::gosched();
      });
    for (int i = 0; i < 100; ++i) csp::go([] { block_forever(); });
    std::this_thread::sleep_for(50ms);
    std::puts("main done");
    return 0;
  }
  if (mode == "leakcheck") {
    // The common leak, with CSP_LEAKCHECK=1: a worker started to send its
    // result, and nobody will ever receive it; main returns.
    {
      auto result = csp::make_chan<int>();
      csp::go([result] { result << 42; });
      while (csp::runtime::stats().parks_by_reason["chan send"] == 0) std::this_thread::sleep_for(1ms);
    }
    std::puts("main done");
    return 0;
  }
  if (mode == "leakcheck_clean") {
    // A goroutine blocked on a channel that heap memory still holds when
    // main returns (a handle the detector cannot see into): it could still
    // be woken by whoever reaches that memory, so it is not reported.
    static auto* kept = new csp::chan<int>(csp::make_chan<int>());
    csp::go([c = *kept] { c << 1; });
    while (csp::runtime::stats().parks_by_reason["chan send"] == 0) std::this_thread::sleep_for(1ms);
    std::puts("main done");
    return 0;
  }
  if (mode == "stack_overflow") {
    csp::go([] { std::printf("%d\n", recurse(0)); });
    std::this_thread::sleep_for(10s);
    return 0;
  }
  if (mode == "sigquit") {
    for (int i = 0; i < 3; ++i) csp::go([] { block_forever(csp::detail::wait_reason::select); });
    std::this_thread::sleep_for(100ms);
    ::kill(::getpid(), SIGQUIT);
    std::this_thread::sleep_for(10s);
    return 0;
  }
  if (mode == "bad_env") {
    // GOMAXPROCS / CSP_STACK_SIZE set to nonsense by the parent: warned about, defaults used.
    std::atomic<bool> ran{false};
    csp::go([&] { ran = true; });
    while (!ran.load()) std::this_thread::yield();
    std::printf("procs=%d\n", csp::runtime::gomaxprocs());
    return 0;
  }
  std::fprintf(stderr, "crash_child: unknown mode '%s'\n", mode.c_str());
  return 100;
}
