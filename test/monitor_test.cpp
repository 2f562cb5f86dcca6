// monitor_test.cpp — the monitor (lib/sched/monitor.cpp, Go's sysmon) moves a
// slot off a thread stuck in one goroutine, so that nothing else waits for
// it: not the goroutines queued behind it, not timers, not the main thread.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

#include <csp/chan.hpp>
#include <csp/goroutine.hpp>
#include <csp/runtime.hpp>
#include <csp/sync.hpp>
#include <csp/time.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using csp_test::must;
using csp_test::wait_for;

TEST_CASE("monitor: at gomaxprocs(1), a goroutine busy-waiting on an atomic that another goroutine sets finishes") {
  // Without the monitor the setter waits forever behind the spinner on the
  // only slot. The main thread waits by polling, so it never lends itself.
  csp_test::with_procs({1}, [](int) {
    const auto retakes_before = csp::runtime::stats().slot_retakes;
    // The spinner starts the setter itself, so the setter is queued behind
    // it on the same slot (run_next) whichever thread runs the spinner.
    // Several rounds: in the first, a worker of a higher gomaxprocs that
    // has not yet retired may still steal the setter.
    for (int round = 0; round < 5; ++round) {
      std::atomic<bool> flag{false}, done{false};
      csp::go([&] {
        csp::go([&] { flag = true; });
        while (!flag.load()) {
        }
        done = true;
      });
      must(wait_for([&] { return done.load(); }), "the spinner to see the setter's store");
    }
    CHECK(csp::runtime::stats().slot_retakes > retakes_before);
  });
}

TEST_CASE("monitor: the blocked main thread's slot is retaken from a spinner it runs") {
  // main blocks in csp, so it borrows the only slot (lend.cpp) and may run
  // the spinner itself: then the monitor takes that slot from main's thread,
  // and main gets its answer once the spinner finishes.
  csp_test::with_procs({1}, [](int) {
    for (int round = 0; round < 3; ++round) {
      std::atomic<bool> flag{false};
      auto done = csp::make_chan<int>();
      csp::go([&flag, done] {
        csp::go([&flag] { flag = true; });
        while (!flag.load()) {
        }
        done << 1;
      });
      CHECK(done.recv().value() == 1);
    }
  });
}

TEST_CASE("monitor: a goroutine blocked in read(2) does not stop a ticker goroutine") {
  csp_test::with_procs({1, 2}, [](int) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::atomic<bool> reader_in{false};
    csp::sync::wait_group wg;
    wg.add(2);
    csp::go([&] {
      reader_in = true;
      char c = 0;
      CHECK(::read(fds[0], &c, 1) == 1);  // a plain blocking system call
      CHECK(c == 'x');
      wg.done();
    });
    must(wait_for([&] { return reader_in.load(); }), "the reader to start");
    auto ticked = csp::make_chan<int>();
    csp::go([&, ticked] {
      csp::time::ticker ticker(1ms);
      int n = 0;
      while (n < 10) {
        ticker.c.recv();
        ++n;
      }
      ticker.stop();
      ticked << n;
      wg.done();
    });
    CHECK(ticked.recv().value() == 10);
    REQUIRE(::write(fds[1], "x", 1) == 1);
    wg.wait();
    ::close(fds[0]);
    ::close(fds[1]);
  });
}

TEST_CASE("monitor: the dump names a goroutine whose worker's slot was retaken") {
  csp_test::with_procs({1}, [](int) {
    // A worker of a higher gomaxprocs that has not retired yet may run the
    // first staller (beyond gomaxprocs, its slot is not the monitor's to
    // retake): a few rounds, until one is retaken.
    bool seen = false;
    std::string dump;
    for (int round = 0; round < 5 && !seen; ++round) {
      std::atomic<bool> release{false}, other_ran{false};
      csp::sync::wait_group wg;
      wg.add(1);
      csp::go([&] {
        csp::go([&] { other_ran = true; });  // queued behind the staller: the retake's reason
        while (!release.load()) std::this_thread::sleep_for(1ms);
        wg.done();
      });
      must(wait_for([&] { return other_ran.load(); }), "the queued goroutine to run");
      seen = wait_for(
          [&] {
            std::ostringstream os;
            csp::runtime::dump_goroutines(os);
            dump = os.str();
            return dump.find("'s slot was retaken]") != std::string::npos;
          },
          std::chrono::seconds(2));
      release = true;
      wg.wait();
    }
    CHECK_MESSAGE(seen, dump);
  });
}

TEST_CASE("monitor: a retaken thread becomes a spare and is reused, so threads stay few") {
  csp_test::with_procs({1}, [](int) {
    // Warm: the first stall may start the spare. The spinner starts the
    // setter itself, so each round stalls its slot (see the first test).
    auto stall_once = [] {
      std::atomic<bool> flag{false};
      csp::sync::wait_group wg;
      wg.add(2);
      csp::go([&] {
        csp::go([&] {
          flag = true;
          wg.done();
        });
        while (!flag.load()) {
        }
        wg.done();
      });
      wg.wait();
    };
    stall_once();
    const auto threads = csp::runtime::stats().worker_threads;
    const auto retakes = csp::runtime::stats().slot_retakes;
    for (int i = 0; i < 10; ++i) stall_once();
    CHECK(csp::runtime::stats().slot_retakes >= retakes + 10);
    // One stuck thread at a time: each retake finds the previous one spare
    // (a loaded machine may let two overlap).
    CHECK(csp::runtime::stats().worker_threads <= threads + 2);
  });
}

TEST_CASE("monitor: goroutines keep their results and order across retakes (a pipeline under stalls)") {
  // Stages that sometimes compute for a long stretch without yielding, at
  // gomaxprocs(1) and (2): every value arrives once and in order.
  csp_test::with_procs({1, 2}, [](int) {
    auto a = csp::make_chan<int>(4);
    auto b = csp::make_chan<int>(4);
    constexpr int n = 40;
    csp::go([a] {
      for (int i = 0; i < n; ++i) {
        if (i % 10 == 0) {
          const auto until = std::chrono::steady_clock::now() + 15ms;
          while (std::chrono::steady_clock::now() < until) {
          }
        }
        a << i;
      }
      a.close();
    });
    csp::go([a, b] {
      for (auto v : a) b << v * 2;
      b.close();
    });
    int expect = 0;
    for (auto v : b) {
      CHECK(v == expect * 2);
      ++expect;
    }
    CHECK(expect == n);
  });
}
