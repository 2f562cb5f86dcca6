// lend_test.cpp — the main thread blocked in csp runs goroutines on a lent
// worker slot (lib/sched/lend.cpp), and a slot it keeps never strands work.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include <csp/chan.hpp>
#include <csp/goroutine.hpp>
#include <csp/runtime.hpp>
#include <csp/sync.hpp>
#include <csp/time.hpp>

#include "base/cpu_relax.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using csp_test::must;
using csp_test::wait_for;
using csp::detail::cpu_relax;

namespace {

// exchange_once hands a value to a goroutine and takes its answer: the
// thread blocks in csp, and keeps the slot it ran the goroutine on (if it
// borrowed one) when it returns.
std::thread::id exchange_once() {
  auto ch = csp::make_chan<std::thread::id>();
  csp::go([ch] { ch << std::this_thread::get_id(); });
  return ch.recv().value();
}

}  // namespace

TEST_CASE("lend: the blocked main thread runs the goroutines it waits for (Go's M0)") {
  csp_test::with_procs([](int) {
    // Whether a given exchange borrows a slot depends on timing (an idle
    // worker, or one that offers its slot at its next schedule); on a
    // loaded machine some do not, but a steady exchange soon does.
    const auto me = std::this_thread::get_id();
    bool ran_here = false;
    for (int i = 0; i < 200'000 && !ran_here; ++i) ran_here = exchange_once() == me;
    CHECK(ran_here);
  });
}

TEST_CASE("lend: goroutines readied onto a kept slot run while the thread is away from csp") {
  // The thread keeps the slot after its exchange; a goroutine it then
  // starts goes to that slot. If the thread never blocks in csp again
  // (a plain sleep here, a system call or a join in real programs), the
  // worker's own thread takes the slot back and runs it. At GOMAXPROCS=1
  // nothing else could.
  csp_test::with_procs([](int) {
    for (int round = 0; round < 50; ++round) {
      (void)exchange_once();
      std::atomic<bool> ran{false};
      csp::go([&ran] { ran = true; });
      must(wait_for([&] { return ran.load(); }), "the goroutine started after an exchange");
    }
  });
}

TEST_CASE("lend: only the main thread runs goroutines; another std::thread just waits") {
  // A std::thread is the program's own (its locks, thread-locals, priority):
  // it waits for its answer without running goroutines on its stack.
  csp_test::with_procs({1, 2}, [](int) {
    bool ran_there = false;
    std::thread([&ran_there] {
      const auto me = std::this_thread::get_id();
      for (int i = 0; i < 2000; ++i) ran_there = ran_there || exchange_once() == me;
    }).join();
    CHECK_FALSE(ran_there);
  });
}

TEST_CASE("lend: timers fire while a thread holds or has just given back a slot") {
  csp_test::with_procs([](int) {
    for (int round = 0; round < 20; ++round) {
      // The thread blocks while the only goroutine sleeps on a timer: it
      // borrows a slot, finds nothing to run and gives it back; someone
      // must still sleep until the timer.
      auto done = csp::make_chan<int>();
      csp::go([done] {
        csp::time::sleep(2ms);
        done << 1;
      });
      CHECK(done.recv().value() == 1);
      // Then, holding the slot, the thread leaves csp for a while; a
      // sleeping goroutine still wakes.
      std::atomic<bool> woke{false};
      csp::go([&woke] {
        csp::time::sleep(1ms);
        woke = true;
      });
      must(wait_for([&] { return woke.load(); }), "a timer while the thread is away");
    }
  });
}

TEST_CASE("lend: many threads and goroutines exchange at once; every value arrives") {
  csp_test::with_procs([](int) {
    constexpr int threads = 4, goroutines = 8;
#if defined(CSP_ASAN) || defined(CSP_TSAN)
    constexpr int items = 500;
#else
    constexpr int items = 5000;
#endif
    auto ch = csp::make_chan<int>();
    csp::sync::wait_group producers;
    for (int g = 0; g < goroutines; ++g)
      producers.go([ch] {
        for (int i = 0; i < items; ++i) ch << 1;
      });
    std::atomic<long> received{0};
    std::vector<std::thread> consumers;
    for (int t = 0; t < threads; ++t)
      consumers.emplace_back([ch, &received] {
        while (auto v = ch.recv()) received += *v;
      });
    producers.wait();
    ch.close();
    for (auto& t : consumers) t.join();
    CHECK(received.load() == long{goroutines} * items);
  });
}

TEST_CASE("lend: a slot given back while another thread queues a goroutine still runs it") {
  // At GOMAXPROCS=1 the blocked main thread borrows the one worker's slot
  // (offered at its next schedule), runs dry and gives it back while a
  // second thread starts the goroutine main waits for. The slot goes back
  // on the idle list; if the starter read "nobody idle" before that and the
  // giver read "nothing queued" before the start, nobody runs the
  // goroutine: its worker's thread sleeps, main sleeps, nothing else is
  // left (a slot lent afresh has no watch). give_back must look again once
  // the slot is idle, as go_idle does. The starter's delay sweeps the
  // window; a lost wake-up hangs, and the watchdog reports it.
  csp_test::with_procs({1}, [](int) {
#if defined(CSP_ASAN) || defined(CSP_TSAN)
    constexpr int rounds = 2'000;
#else
    constexpr int rounds = 20'000;
#endif
    std::atomic<int> round{-1};            // main: the round whose sender may start
    std::atomic<bool> main_blocking{false};
    std::atomic<int> done{0};              // rounds completed (the watchdog's progress)
    auto ch = csp::make_chan<int>();
    std::thread starter([&] {
      for (int r = 0; r < rounds; ++r) {
        while (round.load() != r) std::this_thread::yield();
        while (!main_blocking.load()) cpu_relax();
        // 0 to ~25 µs: across the borrow, the run-dry and the give-back.
        auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds((r * 7919) % 25'000);
        while (std::chrono::steady_clock::now() < until) cpu_relax();
        csp::go([ch, r] { ch << r; });
      }
    });
    std::atomic<bool> finished{false};
    std::thread watchdog([&] {
      int seen = -1;
      while (!finished.load()) {
        // A round takes microseconds; two minutes without one is a hang.
        if (!wait_for([&] { return finished.load() || done.load() != seen; }, std::chrono::seconds(120))) {
          std::cerr << "lend: round " << done.load() << " did not finish: lost wake-up\n";
          csp::runtime::dump_goroutines(std::cerr);
          std::abort();
        }
        seen = done.load();
      }
    });
    bool in_order = true;
    for (int r = 0; r < rounds; ++r) {
      main_blocking = false;
      // Keeps the worker busy until main blocks, so that it then offers
      // its slot (rather than sleeping as the timer sleeper, which is
      // never lent).
      csp::go([&main_blocking] {
        while (!main_blocking.load()) cpu_relax();
        auto until = std::chrono::steady_clock::now() + 5us;
        while (std::chrono::steady_clock::now() < until) cpu_relax();
      });
      round = r;
      main_blocking = true;
      in_order = in_order && ch.recv().value() == r;
      done = r + 1;
    }
    finished = true;
    starter.join();
    watchdog.join();
    CHECK(in_order);
  });
}
